"""kubectl tasks that aws-cdk-lib's constructs cannot express, run against the lab's cluster.

`Custom::GatewayApiCrds`: on Create and Update, downloads every file of ResourceProperties.Files
(a URL and the sha256 its content must have), refuses to go on if any content differs from
its pin, applies them server-side (the CRDs are too large for a client-side apply's
annotation) and waits until every CustomResourceDefinition is Established. On Delete, deletes
the objects of ResourceProperties.Objects by kind and name, best effort: the cluster goes with
the stack anyway, and a stuck CRD must not keep the lab from being destroyed.

`Custom::ServiceRemoval`: does nothing on Create and Update. On Delete, waits (up to
ResourceProperties.TimeoutSeconds) until the Service ResourceProperties.Service is gone from
ResourceProperties.Namespace: a Service that istiod generated for a Gateway API Gateway is
deleted by the garbage collector after the Gateway, and only once the load balancer
controller has removed its NLB; whatever depends on this resource is deleted before it and
the controller after it. Best effort as well: past the timeout it logs and succeeds, and the
destroy-time cleanup removes what the controller left.

`Custom::StaleRoutes`: on Create and Update, deletes the routing objects that the lab's
manifests applied earlier and no longer list. aws-cdk-lib updates a manifest with `kubectl
apply --prune`, whose default allowlist holds only built-in kinds, so a VirtualService,
DestinationRule or Gateway API route that a new form of the routing (another ingress API or
data plane) drops would otherwise stay and keep routing. Only objects of
ResourceProperties.Kinds in ResourceProperties.Namespace that carry one of the manifests'
prune labels (ResourceProperties.Selectors) and are not in ResourceProperties.Keep are
deleted. Nothing on Delete: each manifest deletes its own objects.

The function reaches the cluster through its public endpoint, with a token of its own role
(which has an EKS access entry): the same token `aws eks get-token` makes, a presigned STS
GetCallerIdentity URL naming the cluster.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import subprocess
import tempfile
import urllib.request
from pathlib import Path

import boto3
from botocore.exceptions import ClientError
from botocore.signers import RequestSigner

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

KUBECTL = os.environ.get("KUBECTL", "/opt/kubectl/kubectl")
FIELD_MANAGER = "bookinfo-lab"
DOWNLOAD_TIMEOUT_S = 60
KUBECTL_TIMEOUT_S = 300
ESTABLISHED_TIMEOUT = "120s"
TOKEN_EXPIRES_S = 60
CRDS_TYPE = "Custom::GatewayApiCrds"
SERVICE_REMOVAL_TYPE = "Custom::ServiceRemoval"
STALE_ROUTES_TYPE = "Custom::StaleRoutes"
MAX_MESSAGE_CHARS = 1000


class TaskError(RuntimeError):
    """The task failed; the message says what and is short enough for CloudFormation."""


def on_event(event: dict, context: object = None) -> dict:
    request_type = event["RequestType"]
    properties = event["ResourceProperties"]
    resource_type = event.get("ResourceType")
    if resource_type == SERVICE_REMOVAL_TYPE:
        return _service_removal(request_type, event, properties)
    if resource_type == STALE_ROUTES_TYPE:
        return _stale_routes(request_type, event, properties)
    if resource_type != CRDS_TYPE:
        raise TaskError(f"unknown resource type {resource_type!r}")
    cluster = properties["ClusterName"]
    physical_id = f"gateway-api-crds/{cluster}"
    try:
        if request_type in ("Create", "Update"):
            with _kubeconfig(cluster) as kubeconfig:
                apply_pinned_files(kubeconfig, properties["Files"])
            return {"PhysicalResourceId": physical_id}
        if request_type == "Delete":
            delete_objects(cluster, properties.get("Objects", []))
            return {"PhysicalResourceId": event["PhysicalResourceId"]}
    except TaskError as error:
        raise TaskError(str(error)[:MAX_MESSAGE_CHARS]) from None
    raise TaskError(f"unknown RequestType {request_type!r}")


def _service_removal(request_type: str, event: dict, properties: dict) -> dict:
    cluster, namespace, service = (
        properties["ClusterName"],
        properties["Namespace"],
        properties["Service"],
    )
    physical_id = f"service-removal/{cluster}/{namespace}/{service}"
    if request_type in ("Create", "Update"):
        return {"PhysicalResourceId": physical_id}
    if request_type != "Delete":
        raise TaskError(f"unknown RequestType {request_type!r}")
    wait_until_gone(cluster, namespace, service, int(properties.get("TimeoutSeconds", 600)))
    return {"PhysicalResourceId": event["PhysicalResourceId"]}


def _stale_routes(request_type: str, event: dict, properties: dict) -> dict:
    cluster, namespace = properties["ClusterName"], properties["Namespace"]
    physical_id = f"stale-routes/{cluster}/{namespace}"
    if request_type == "Delete":
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    if request_type not in ("Create", "Update"):
        raise TaskError(f"unknown RequestType {request_type!r}")
    try:
        with _kubeconfig(cluster) as kubeconfig:
            delete_stale(
                kubeconfig,
                namespace,
                properties["Kinds"],
                properties["Selectors"],
                set(properties["Keep"]),
            )
    except TaskError as error:
        raise TaskError(str(error)[:MAX_MESSAGE_CHARS]) from None
    return {"PhysicalResourceId": physical_id}


def delete_stale(
    kubeconfig: Path, namespace: str, kinds: list[str], selectors: list[str], keep: set[str]
) -> list[str]:
    """Delete every object of `kinds` in `namespace` carrying one of the `selectors` labels
    whose `Kind.group/name` is not in `keep`; returns what was deleted."""
    stale: dict[str, str] = {}  # key -> how kubectl names it (the type in lower case)
    for selector in selectors:
        listed = kubectl(
            kubeconfig, ["get", ",".join(kinds), "-n", namespace, "-l", selector, "-o", "json"]
        )
        for item in json.loads(listed).get("items", []):
            group = item["apiVersion"].rpartition("/")[0]
            name = f"{group}/{item['metadata']['name']}"
            key = f"{item['kind']}.{name}"
            if key not in keep:
                stale[key] = f"{item['kind'].lower()}.{name}"
    if stale:
        kubectl(kubeconfig, ["delete", "-n", namespace, "--ignore-not-found", *stale.values()])
        LOG.info("deleted the stale routing objects %s", ", ".join(stale))
    return list(stale)


def wait_until_gone(cluster: str, namespace: str, service: str, timeout_s: int) -> None:
    target = f"service/{service}"
    try:
        with _kubeconfig(cluster) as kubeconfig:
            present = kubectl(
                kubeconfig, ["get", target, "-n", namespace, "--ignore-not-found", "-o", "name"]
            ).strip()
            if not present:
                LOG.info("%s/%s is gone", namespace, service)
                return
            kubectl(
                kubeconfig,
                ["wait", "--for=delete", target, "-n", namespace, f"--timeout={timeout_s}s"],
                timeout_s=timeout_s + 30,
            )
            LOG.info("%s/%s is gone", namespace, service)
    except (TaskError, ClientError) as error:
        LOG.warning(
            "%s/%s may still be there (%s); the destroy-time cleanup removes its load "
            "balancer if the controller did not",
            namespace,
            service,
            error,
        )


def apply_pinned_files(kubeconfig: Path, files: list[dict]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        paths = []
        for index, pinned in enumerate(files):
            content = download(pinned["Url"])
            digest = hashlib.sha256(content).hexdigest()
            if digest != pinned["Sha256"]:
                raise TaskError(
                    f"{pinned['Url']} has sha256 {digest}, not the pinned {pinned['Sha256']}: "
                    "nothing applied"
                )
            path = Path(directory) / f"{index:02d}-{pinned['Url'].rsplit('/', 1)[1]}"
            path.write_bytes(content)
            paths.append(path)
            LOG.info("downloaded %s (sha256 %s)", pinned["Url"], digest)
        # Everything is verified before anything is applied.
        arguments = ["apply", "--server-side", "--force-conflicts"]
        arguments += [f"--field-manager={FIELD_MANAGER}"]
        for path in paths:
            arguments += ["-f", str(path)]
        kubectl(kubeconfig, arguments)
    crds = [f"crd/{name}" for name in crd_names(files)]
    if crds:
        kubectl(
            kubeconfig,
            ["wait", "--for=condition=Established", f"--timeout={ESTABLISHED_TIMEOUT}", *crds],
        )


def crd_names(files: list[dict]) -> list[str]:
    return [name for pinned in files for name in pinned.get("Crds", [])]


def delete_objects(cluster: str, objects: list[str]) -> None:
    """Delete `kind/name` objects; log and succeed when that cannot be done."""
    if not objects:
        return
    try:
        with _kubeconfig(cluster) as kubeconfig:
            kubectl(kubeconfig, ["delete", "--ignore-not-found", "--wait=true", *objects])
    except (TaskError, ClientError) as error:
        LOG.warning("left %s in place: %s", ", ".join(objects), error)


def download(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            return response.read()
    except OSError as error:
        raise TaskError(f"could not download {url}: {error}") from None


def kubectl(kubeconfig: Path, arguments: list[str], timeout_s: int = KUBECTL_TIMEOUT_S) -> str:
    command = [KUBECTL, f"--kubeconfig={kubeconfig}", *arguments]
    LOG.info("running kubectl %s", " ".join(arguments[:4]))
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise TaskError(f"kubectl {arguments[0]} did not run: {error}") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise TaskError(f"kubectl {arguments[0]} failed: {last}")
    LOG.info("%s", done.stdout.strip())
    return done.stdout


class _kubeconfig:
    """A kubeconfig file for the cluster, with a fresh token, for one with-block."""

    def __init__(self, cluster: str):
        self.cluster = cluster
        self._directory = None

    def __enter__(self) -> Path:
        session = boto3.session.Session()
        description = session.client("eks").describe_cluster(name=self.cluster)["cluster"]
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": self.cluster,
                    "cluster": {
                        "server": description["endpoint"],
                        "certificate-authority-data": description["certificateAuthority"]["data"],
                    },
                }
            ],
            "users": [{"name": "task", "user": {"token": token(session, self.cluster)}}],
            "contexts": [{"name": "task", "context": {"cluster": self.cluster, "user": "task"}}],
            "current-context": "task",
        }
        self._directory = tempfile.TemporaryDirectory()
        path = Path(self._directory.name) / "kubeconfig"
        path.write_text(json.dumps(config), encoding="utf-8")
        path.chmod(0o600)
        return path

    def __exit__(self, *exc_info) -> None:
        self._directory.cleanup()


def token(session: boto3.session.Session, cluster: str) -> str:
    """An EKS bearer token: a presigned STS GetCallerIdentity URL naming the cluster."""
    region = session.region_name
    sts = session.client("sts", region_name=region)
    signer = RequestSigner(
        sts.meta.service_model.service_id,
        region,
        "sts",
        "v4",
        session.get_credentials(),
        session.events,
    )
    url = signer.generate_presigned_url(
        {
            "method": "GET",
            "url": f"https://sts.{region}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
            "body": {},
            "headers": {"x-k8s-aws-id": cluster},
            "context": {},
        },
        region_name=region,
        expires_in=TOKEN_EXPIRES_S,
        operation_name="",
    )
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
