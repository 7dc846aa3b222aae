"""`Custom::GatewayApiCrds`: the Gateway API's CRDs, from the release's pinned files.

On Create and Update, downloads every file of ResourceProperties.Files (a URL and the sha256
its content must have), refuses to go on if any content differs from its pin, deletes the
objects of ResourceProperties.Replaces (the admission policy that refuses one channel's CRDs
over the other's), applies the files server-side (the CRDs are too large for a client-side
apply's annotation) and waits until every CustomResourceDefinition is Established. An Update
then deletes what OldResourceProperties.Objects named and Objects no longer does (the CRDs
only the previous channel had). On Delete nothing: Custom::GatewayApiCrdRemoval deletes them
(gateway_api_crd_removal.py), best effort, with delete_objects below.

A fresh control plane and a file server have bad moments: a download is tried three times,
after a pause that grows (or the server's Retry-After), when the answer is 429 or 5xx, the
connection fails or the body arrives cut short; the apply and the wait are tried again for
about two minutes when the API server refuses the function's new access entry
(Unauthorized) or cannot be reached. Nothing waits past the Lambda function's own time,
less a margin. Any other error fails the resource with one capped line.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import re
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import tasks_contract
from cluster_kubectl import (
    MAX_MESSAGE_CHARS,
    Deadline,
    TaskError,
    cluster_kubeconfig,
    kubectl,
    time_left_s,
)

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

RESOURCE_TYPE = tasks_contract.CRDS_RESOURCE_TYPE
DOWNLOAD_TIMEOUT_S = 60
ESTABLISHED_TIMEOUT = "120s"
# The API server's admission sees a deleted policy go within seconds; an apply refused by it
# meanwhile is tried again.
APPLY_ATTEMPTS = 5
APPLY_RETRY_PAUSE_S = 6
DOWNLOAD_ATTEMPTS = 3
DOWNLOAD_PAUSE_S = 2  # then 4
MAX_RETRY_AFTER_S = 30
# How long the apply and the wait are tried again on an error of the moment.
TRANSIENT_RETRY_S = 120
TRANSIENT_PAUSE_S = 10
TRANSIENT = re.compile(
    r"Unauthorized|must be logged in|connection refused|connection reset|i/o timeout|"
    r"TLS handshake timeout|dial tcp|EOF|server is currently unable|Internal error|"
    r"InternalError|ServiceUnavailable|Too Many Requests|did not run",
    re.IGNORECASE,
)
SLEEP: Callable[[float], None] = time.sleep
CLOCK: Callable[[], float] = time.monotonic


def deadline_for(context: object = None) -> Deadline:
    """The function's remaining time, less the margin to answer; a call gets at least 1 s."""
    return Deadline(time_left_s(context), CLOCK, min_call_s=1)


def on_event(event: dict, context: object = None) -> dict:
    request_type = event["RequestType"]
    properties = event["ResourceProperties"]
    cluster = properties[tasks_contract.CLUSTER_NAME]
    physical_id = f"gateway-api-crds/{cluster}"
    deadline = deadline_for(context)
    try:
        if request_type in ("Create", "Update"):
            with cluster_kubeconfig(cluster) as kubeconfig:
                apply_pinned_files(
                    kubeconfig,
                    properties[tasks_contract.FILES],
                    replaces=properties.get(tasks_contract.REPLACES, []),
                    deadline=deadline,
                )
            if request_type == "Update":
                old = event.get("OldResourceProperties", {}).get(tasks_contract.OBJECTS, [])
                new = set(properties.get(tasks_contract.OBJECTS, []))
                delete_objects(cluster, [o for o in old if o not in new])
            return {"PhysicalResourceId": physical_id}
        if request_type == "Delete":
            # Custom::GatewayApiCrdRemoval deletes them, while the load balancer controller
            # still runs (gateway_api_crd_removal.py).
            return {"PhysicalResourceId": event["PhysicalResourceId"]}
    except TaskError as error:
        raise TaskError(str(error)[:MAX_MESSAGE_CHARS]) from None
    except Exception as error:  # one clear line for CloudFormation, not a traceback
        raise TaskError(f"{type(error).__name__}: {error}"[:MAX_MESSAGE_CHARS]) from None
    raise TaskError(f"unknown RequestType {request_type!r}")


def apply_pinned_files(
    kubeconfig: Path,
    files: list[dict],
    *,
    replaces: list[str] = (),
    deadline: Deadline | None = None,
) -> None:
    deadline = deadline or deadline_for()
    with tempfile.TemporaryDirectory() as directory:
        paths = []
        for index, pinned in enumerate(files):
            url, sha256 = pinned[tasks_contract.FILE_URL], pinned[tasks_contract.FILE_SHA256]
            content = download(url, deadline)
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
            steady(kubeconfig, ["delete", "--ignore-not-found", "--wait=true", *replaces], deadline)
        arguments = ["apply", "--server-side", "--force-conflicts"]
        arguments += [f"--field-manager={tasks_contract.FIELD_MANAGER}"]
        for path in paths:
            arguments += ["-f", str(path)]
        for attempt in range(1, APPLY_ATTEMPTS + 1):
            try:
                steady(kubeconfig, arguments, deadline)
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
        steady(
            kubeconfig,
            ["wait", "--for=condition=Established", f"--timeout={ESTABLISHED_TIMEOUT}", *crds],
            deadline,
        )


def steady(kubeconfig: Path, arguments: list[str], deadline: Deadline) -> str:
    """kubectl, tried again for TRANSIENT_RETRY_S on an error of the moment (an access entry
    seconds old, a control plane not yet answering); each call bounded by the deadline."""
    until = CLOCK() + TRANSIENT_RETRY_S
    while True:
        try:
            return kubectl(kubeconfig, arguments, timeout_s=deadline.call_timeout())
        except TaskError as error:
            transient = TRANSIENT.search(str(error)) is not None
            if not transient or CLOCK() >= until or not deadline.allows(TRANSIENT_PAUSE_S):
                raise
            LOG.info("kubectl %s: %s; again in %ss", arguments[0], error, TRANSIENT_PAUSE_S)
            SLEEP(TRANSIENT_PAUSE_S)


def crd_names(files: list[dict]) -> list[str]:
    return [name for pinned in files for name in pinned.get(tasks_contract.FILE_CRDS, [])]


def delete_objects(cluster: str, objects: list[str]) -> None:
    """Delete `kind/name` objects; log and succeed when that cannot be done, whatever the
    reason (a cluster already gone, no endpoint, a network error)."""
    if not objects:
        return
    try:
        with cluster_kubeconfig(cluster) as kubeconfig:
            kubectl(kubeconfig, ["delete", "--ignore-not-found", "--wait=true", *objects])
    except Exception as error:  # best effort: the destroy must go on
        LOG.warning("left %s in place: %s", ", ".join(objects), error)


def download(url: str, deadline: Deadline | None = None) -> bytes:
    """The file at `url`, tried DOWNLOAD_ATTEMPTS times on 429, 5xx, a failed connection or a
    body cut short; at once a TaskError on anything else (404: a wrong pin)."""
    deadline = deadline or deadline_for()
    for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
        pause = DOWNLOAD_PAUSE_S * 2 ** (attempt - 1)
        try:
            timeout_s = max(1.0, min(DOWNLOAD_TIMEOUT_S, deadline.left()))
            with urllib.request.urlopen(url, timeout=timeout_s) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            if error.code != 429 and error.code < 500:
                raise TaskError(f"could not download {url}: {error}") from None
            pause = _retry_after(error, pause)
            problem: Exception = error
        except (OSError, http.client.HTTPException) as error:
            problem = error
        if attempt == DOWNLOAD_ATTEMPTS or not deadline.allows(pause):
            raise TaskError(f"could not download {url}: {problem}") from None
        LOG.info("download of %s: %s; again in %ss", url, problem, pause)
        SLEEP(pause)
    raise AssertionError("unreachable")


def _retry_after(error: urllib.error.HTTPError, default: float) -> float:
    value = (error.headers or {}).get("Retry-After", "")
    return min(float(value), MAX_RETRY_AFTER_S) if value.strip().isdigit() else default
