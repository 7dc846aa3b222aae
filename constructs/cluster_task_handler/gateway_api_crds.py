"""`Custom::GatewayApiCrds`: the Gateway API's CRDs, from the release's pinned files.

On Create and Update, downloads every file of ResourceProperties.Files (a URL and the sha256
its content must have), refuses to go on if any content differs from its pin, deletes the
objects of ResourceProperties.Replaces (the admission policy that refuses one channel's CRDs
over the other's), applies the files server-side (the CRDs are too large for a client-side
apply's annotation) and waits until every CustomResourceDefinition is Established. An Update
then deletes what OldResourceProperties.Objects named and Objects no longer does (the CRDs
only the previous channel had). On Delete, deletes the objects of
ResourceProperties.Objects by kind and name, best effort: the cluster goes with the stack
anyway, and a stuck CRD must not keep the lab from being destroyed.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
import urllib.request
from pathlib import Path

import tasks_contract
from botocore.exceptions import ClientError
from cluster_kubectl import MAX_MESSAGE_CHARS, TaskError, cluster_kubeconfig, kubectl

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

RESOURCE_TYPE = tasks_contract.CRDS_RESOURCE_TYPE
DOWNLOAD_TIMEOUT_S = 60
ESTABLISHED_TIMEOUT = "120s"
# The API server's admission sees a deleted policy go within seconds; an apply refused by it
# meanwhile is tried again.
APPLY_ATTEMPTS = 5
APPLY_RETRY_PAUSE_S = 6
SLEEP = time.sleep


def on_event(event: dict) -> dict:
    request_type = event["RequestType"]
    properties = event["ResourceProperties"]
    cluster = properties[tasks_contract.CLUSTER_NAME]
    physical_id = f"gateway-api-crds/{cluster}"
    try:
        if request_type in ("Create", "Update"):
            with cluster_kubeconfig(cluster) as kubeconfig:
                apply_pinned_files(
                    kubeconfig,
                    properties[tasks_contract.FILES],
                    replaces=properties.get(tasks_contract.REPLACES, []),
                )
            if request_type == "Update":
                old = event.get("OldResourceProperties", {}).get(tasks_contract.OBJECTS, [])
                new = set(properties.get(tasks_contract.OBJECTS, []))
                delete_objects(cluster, [o for o in old if o not in new])
            return {"PhysicalResourceId": physical_id}
        if request_type == "Delete":
            delete_objects(cluster, properties.get(tasks_contract.OBJECTS, []))
            return {"PhysicalResourceId": event["PhysicalResourceId"]}
    except TaskError as error:
        raise TaskError(str(error)[:MAX_MESSAGE_CHARS]) from None
    raise TaskError(f"unknown RequestType {request_type!r}")


def apply_pinned_files(kubeconfig: Path, files: list[dict], *, replaces: list[str] = ()) -> None:
    with tempfile.TemporaryDirectory() as directory:
        paths = []
        for index, pinned in enumerate(files):
            url, sha256 = pinned[tasks_contract.FILE_URL], pinned[tasks_contract.FILE_SHA256]
            content = download(url)
            digest = hashlib.sha256(content).hexdigest()
            if digest != sha256:
                raise TaskError(
                    f"{url} has sha256 {digest}, not the pinned {sha256}: nothing applied"
                )
            path = Path(directory) / f"{index:02d}-{url.rsplit('/', 1)[1]}"
            path.write_bytes(content)
            paths.append(path)
            LOG.info("downloaded %s (sha256 %s)", url, digest)
        # Everything is verified before anything is deleted or applied.
        if replaces:
            kubectl(kubeconfig, ["delete", "--ignore-not-found", "--wait=true", *replaces])
        arguments = ["apply", "--server-side", "--force-conflicts"]
        arguments += [f"--field-manager={tasks_contract.FIELD_MANAGER}"]
        for path in paths:
            arguments += ["-f", str(path)]
        for attempt in range(1, APPLY_ATTEMPTS + 1):
            try:
                kubectl(kubeconfig, arguments)
                break
            except TaskError as error:
                if not replaces or "safe-upgrades" not in str(error) or attempt == APPLY_ATTEMPTS:
                    raise
                LOG.info(
                    "apply refused by a policy just deleted; again in %ss", APPLY_RETRY_PAUSE_S
                )
                SLEEP(APPLY_RETRY_PAUSE_S)
    crds = [f"crd/{name}" for name in crd_names(files)]
    if crds:
        kubectl(
            kubeconfig,
            ["wait", "--for=condition=Established", f"--timeout={ESTABLISHED_TIMEOUT}", *crds],
        )


def crd_names(files: list[dict]) -> list[str]:
    return [name for pinned in files for name in pinned.get(tasks_contract.FILE_CRDS, [])]


def delete_objects(cluster: str, objects: list[str]) -> None:
    """Delete `kind/name` objects; log and succeed when that cannot be done."""
    if not objects:
        return
    try:
        with cluster_kubeconfig(cluster) as kubeconfig:
            kubectl(kubeconfig, ["delete", "--ignore-not-found", "--wait=true", *objects])
    except (TaskError, ClientError) as error:
        LOG.warning("left %s in place: %s", ", ".join(objects), error)


def download(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            return response.read()
    except OSError as error:
        raise TaskError(f"could not download {url}: {error}") from None
