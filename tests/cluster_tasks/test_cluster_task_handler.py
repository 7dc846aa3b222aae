"""The kubectl task handler: the Gateway API CRDs are applied only from files whose sha256
matches its pin, with a token of the function's own role, and removed on delete (best effort).

EKS is a moto server on 127.0.0.1; the files come from a local HTTP server; kubectl is a
fake that records what it was asked to do and the kubeconfig it was given.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import threading
import urllib.parse
import urllib.request
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from constructs.cluster_tasks import HANDLER_DIR
from tests.handler_modules import handler_module

CLUSTER = "blue"
CRDS = "Custom::GatewayApiCrds"


@pytest.fixture(scope="module")
def handler():
    with handler_module("cluster_task_handler", HANDLER_DIR / "handler.py") as module:
        yield module


@pytest.fixture
def eks(moto_endpoint, monkeypatch):
    reset = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset, timeout=10).close()
    for name, value in {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    client = boto3.session.Session().client("eks")
    client.create_cluster(
        name=CLUSTER,
        roleArn="arn:aws:iam::123456789012:role/eks",
        resourcesVpcConfig={"subnetIds": ["subnet-1"]},
    )
    return client.describe_cluster(name=CLUSTER)["cluster"]


@pytest.fixture
def files(tmp_path):
    """A local HTTP server with two CRD files and an admission policy file."""
    root = tmp_path / "release"
    root.mkdir()
    contents = {
        "a_gateways.yaml": b"kind: CustomResourceDefinition\nmetadata: {name: gateways.x}\n",
        "b_httproutes.yaml": b"kind: CustomResourceDefinition\nmetadata: {name: httproutes.x}\n",
        "c_vap.yaml": b"kind: ValidatingAdmissionPolicy\nmetadata: {name: safe.x}\n",
    }
    for name, content in contents.items():
        (root / name).write_bytes(content)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(root)))
    # A short poll keeps shutdown() from waiting half a second per test.
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    pinned = [
        {
            "Url": f"{base}/{name}",
            "Sha256": hashlib.sha256(content).hexdigest(),
            "Crds": [content.split(b"name: ")[1].split(b"}")[0].decode()]
            if b"CustomResourceDefinition" in content
            else [],
        }
        for name, content in contents.items()
    ]
    yield pinned
    server.shutdown()
    server.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture
def kubectl(tmp_path, handler, monkeypatch):
    """A fake kubectl; `calls()` returns (arguments, kubeconfig, applied file contents)."""
    log = tmp_path / "kubectl.jsonl"
    script = tmp_path / "kubectl"
    script.write_text(
        f"""#!{sys.executable}
import json, os, sys
args = sys.argv[1:]
config = [a for a in args if a.startswith("--kubeconfig=")][0].split("=", 1)[1]
files = [open(args[i + 1]).read() for i, a in enumerate(args) if a == "-f"]
with open({str(log)!r}, "a") as out:
    out.write(json.dumps({{"args": args, "kubeconfig": json.load(open(config)),
                           "files": files}}) + "\\n")
print(os.environ.get("FAKE_KUBECTL_STDOUT", ""))
sys.exit(int(os.environ.get("FAKE_KUBECTL_EXIT", "0")))
""",
        encoding="utf-8",
    )
    script.chmod(0o755)
    monkeypatch.setattr(handler, "KUBECTL", str(script))

    def calls():
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]

    return calls


def event(request_type: str, files: list[dict], objects=()) -> dict:
    result = {
        "RequestType": request_type,
        "ResourceType": CRDS,
        "ResourceProperties": {"ClusterName": CLUSTER, "Files": files, "Objects": list(objects)},
    }
    if request_type != "Create":
        result["PhysicalResourceId"] = f"gateway-api-crds/{CLUSTER}"
    return result


def without_kubectl_options(args: list[str]) -> list[str]:
    return [a for a in args if not a.startswith("--kubeconfig=")]


def test_create_applies_every_verified_file_server_side_then_waits(handler, eks, files, kubectl):
    result = handler.on_event(event("Create", files))
    assert result == {"PhysicalResourceId": f"gateway-api-crds/{CLUSTER}"}
    apply, wait = kubectl()
    args = without_kubectl_options(apply["args"])
    assert args[:4] == [
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=bookinfo-lab",
    ]
    assert [f.split("name: ")[1].split("}")[0] for f in apply["files"]] == [
        "gateways.x",
        "httproutes.x",
        "safe.x",
    ]
    assert without_kubectl_options(wait["args"]) == [
        "wait",
        "--for=condition=Established",
        "--timeout=120s",
        "crd/gateways.x",
        "crd/httproutes.x",
    ]


def test_kubectl_talks_to_the_clusters_endpoint_with_an_eks_token(handler, eks, files, kubectl):
    handler.on_event(event("Create", files))
    config = kubectl()[0]["kubeconfig"]
    (cluster,) = config["clusters"]
    assert cluster["cluster"]["server"] == eks["endpoint"]
    assert cluster["cluster"]["certificate-authority-data"] == eks["certificateAuthority"]["data"]
    (user,) = config["users"]
    token = user["user"]["token"]
    assert token.startswith("k8s-aws-v1.")
    encoded = token.removeprefix("k8s-aws-v1.")
    url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["Action"] == ["GetCallerIdentity"]
    assert "x-k8s-aws-id" in query["X-Amz-SignedHeaders"][0]
    assert query["X-Amz-Expires"] == ["60"]


def test_a_file_that_differs_from_its_pin_stops_everything(handler, eks, files, kubectl):
    files[1]["Sha256"] = "0" * 64
    with pytest.raises(handler.TaskError, match="not the pinned 0000"):
        handler.on_event(event("Create", files))
    assert kubectl() == []


def test_a_failed_apply_fails_the_resource(handler, eks, files, kubectl, monkeypatch):
    monkeypatch.setenv("FAKE_KUBECTL_EXIT", "1")
    with pytest.raises(handler.TaskError, match="kubectl apply failed"):
        handler.on_event(event("Update", files))


def test_delete_removes_the_objects_by_name(handler, eks, files, kubectl):
    objects = ["validatingadmissionpolicy/safe.x", "crd/gateways.x"]
    result = handler.on_event(event("Delete", files, objects))
    assert result == {"PhysicalResourceId": f"gateway-api-crds/{CLUSTER}"}
    (call,) = kubectl()
    assert without_kubectl_options(call["args"]) == [
        "delete",
        "--ignore-not-found",
        "--wait=true",
        *objects,
    ]


def test_a_delete_that_cannot_be_done_does_not_block_the_destroy(
    handler, eks, files, kubectl, monkeypatch, caplog
):
    monkeypatch.setenv("FAKE_KUBECTL_EXIT", "1")
    handler.on_event(event("Delete", files, ["crd/gateways.x"]))
    assert "left crd/gateways.x in place" in caplog.text


def test_without_the_cluster_delete_has_nothing_to_do(handler, eks, files, kubectl, caplog):
    boto3.session.Session().client("eks").delete_cluster(name=CLUSTER)
    handler.on_event(event("Delete", files, ["crd/gateways.x"]))
    assert kubectl() == []


def removal_event(request_type: str) -> dict:
    result = {
        "RequestType": request_type,
        "ResourceType": "Custom::ServiceRemoval",
        "ResourceProperties": {
            "ClusterName": CLUSTER,
            "Namespace": "default",
            "Service": "bookinfo-gateway-istio",
            "TimeoutSeconds": "480",
        },
    }
    if request_type != "Create":
        result["PhysicalResourceId"] = f"service-removal/{CLUSTER}/default/bookinfo-gateway-istio"
    return result


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_service_removal_does_nothing_until_delete(handler, eks, kubectl, request_type):
    result = handler.on_event(removal_event(request_type))
    assert result == {
        "PhysicalResourceId": f"service-removal/{CLUSTER}/default/bookinfo-gateway-istio"
    }
    assert kubectl() == []


def test_on_delete_it_waits_until_the_service_is_gone(handler, eks, kubectl, monkeypatch):
    monkeypatch.setenv("FAKE_KUBECTL_STDOUT", "service/bookinfo-gateway-istio")
    handler.on_event(removal_event("Delete"))
    get, wait = (without_kubectl_options(c["args"]) for c in kubectl())
    assert get[:2] == ["get", "service/bookinfo-gateway-istio"]
    assert wait == [
        "wait",
        "--for=delete",
        "service/bookinfo-gateway-istio",
        "-n",
        "default",
        "--timeout=480s",
    ]


def test_a_service_already_gone_needs_no_wait(handler, eks, kubectl):
    handler.on_event(removal_event("Delete"))
    (get,) = kubectl()
    assert without_kubectl_options(get["args"])[0] == "get"


def test_a_wait_that_times_out_logs_and_succeeds(handler, eks, kubectl, monkeypatch, caplog):
    monkeypatch.setenv("FAKE_KUBECTL_STDOUT", "service/bookinfo-gateway-istio")
    monkeypatch.setenv("FAKE_KUBECTL_EXIT", "1")
    handler.on_event(removal_event("Delete"))
    assert "may still be there" in caplog.text


# --- Custom::StaleRoutes ----------------------------------------------------------------------

KINDS = ["virtualservices.networking.istio.io", "httproutes.gateway.networking.k8s.io"]
SELECTORS = ["aws.cdk.eks/prune-c8aa", "aws.cdk.eks/prune-c8bb"]


def stale_event(request_type: str, keep: list[str]) -> dict:
    result = {
        "RequestType": request_type,
        "ResourceType": "Custom::StaleRoutes",
        "ResourceProperties": {
            "ClusterName": CLUSTER,
            "Namespace": "default",
            "Kinds": KINDS,
            "Selectors": SELECTORS,
            "Keep": keep,
        },
    }
    if request_type != "Create":
        result["PhysicalResourceId"] = f"stale-routes/{CLUSTER}/default"
    return result


def listing(*objects: tuple[str, str, str]) -> str:
    return json.dumps(
        {
            "items": [
                {"apiVersion": api, "kind": kind, "metadata": {"name": name}}
                for api, kind, name in objects
            ]
        }
    )


IN_CLUSTER = listing(
    ("networking.istio.io/v1", "VirtualService", "bookinfo"),
    ("networking.istio.io/v1", "VirtualService", "reviews"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute", "reviews"),
)


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_routes_no_manifest_lists_any_more_are_deleted(
    handler, eks, kubectl, monkeypatch, request_type
):
    # GIVEN the cluster holds two VirtualServices and an HTTPRoute with the manifests' labels
    monkeypatch.setenv("FAKE_KUBECTL_STDOUT", IN_CLUSTER)
    keep = [
        "VirtualService.networking.istio.io/bookinfo",
        "HTTPRoute.gateway.networking.k8s.io/reviews",
    ]
    # WHEN the manifests now list only two of them
    result = handler.on_event(stale_event(request_type, keep))
    # THEN each label is listed in the namespace, and only the third object is deleted
    assert result == {"PhysicalResourceId": f"stale-routes/{CLUSTER}/default"}
    calls = [without_kubectl_options(c["args"]) for c in kubectl()]
    assert calls == [
        ["get", ",".join(KINDS), "-n", "default", "-l", SELECTORS[0], "-o", "json"],
        ["get", ",".join(KINDS), "-n", "default", "-l", SELECTORS[1], "-o", "json"],
        [
            "delete",
            "-n",
            "default",
            "--ignore-not-found",
            "virtualservice.networking.istio.io/reviews",
        ],
    ]


def test_nothing_stale_deletes_nothing(handler, eks, kubectl, monkeypatch):
    monkeypatch.setenv("FAKE_KUBECTL_STDOUT", listing())
    handler.on_event(stale_event("Update", ["VirtualService.networking.istio.io/bookinfo"]))
    assert [without_kubectl_options(c["args"])[0] for c in kubectl()] == ["get", "get"]


def test_stale_routes_do_nothing_on_delete(handler, eks, kubectl):
    assert handler.on_event(stale_event("Delete", [])) == {
        "PhysicalResourceId": f"stale-routes/{CLUSTER}/default"
    }
    assert kubectl() == []


def test_a_listing_that_fails_fails_the_deployment(handler, eks, kubectl, monkeypatch):
    # Stale routes would keep routing: the update must not pass silently.
    monkeypatch.setenv("FAKE_KUBECTL_EXIT", "1")
    with pytest.raises(handler.TaskError, match="kubectl get failed"):
        handler.on_event(stale_event("Update", []))
