"""Custom::GatewayApiCrds: the Gateway API CRDs are applied only from files whose sha256
matches its pin, with a token of the function's own role, and removed on delete (best
effort). The files come from a local HTTP server."""

from __future__ import annotations

import base64
import hashlib
import threading
import urllib.parse
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from constructs.cluster_task_handler import tasks_contract
from tests.cluster_tasks.task_events import (
    CLUSTER,
    crd_removal_event,
    crds_event,
    without_kubectl_options,
)


@pytest.fixture
def files(tmp_path, monkeypatch):
    """A local HTTP server with two CRD files and an admission policy file, pinned in the
    function's environment as the construct pins the release's files."""
    root = tmp_path / "release"
    root.mkdir()
    group = "gateway.networking.k8s.io"
    crd, vap = b"kind: CustomResourceDefinition\n", b"kind: ValidatingAdmissionPolicy\n"
    contents = {
        "a_gateways.yaml": crd + f"metadata: {{name: gateways.{group}}}\n".encode(),
        "b_httproutes.yaml": crd + f"metadata: {{name: httproutes.{group}}}\n".encode(),
        "c_vap.yaml": vap + f"metadata: {{name: safe-upgrades.{group}}}\n".encode(),
    }
    for name, content in contents.items():
        (root / name).write_bytes(content)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(root)))
    # A short poll keeps shutdown() from waiting half a second per test.
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    pinned = [
        {
            tasks_contract.FILE_URL: f"{base}/{name}",
            tasks_contract.FILE_SHA256: hashlib.sha256(content).hexdigest(),
            tasks_contract.FILE_CRDS: [content.split(b"name: ")[1].split(b"}")[0].decode()]
            if b"CustomResourceDefinition" in content
            else [],
        }
        for name, content in contents.items()
    ]
    monkeypatch.setenv(
        tasks_contract.ENV_FILE_SHA256, " ".join(f[tasks_contract.FILE_SHA256] for f in pinned)
    )
    monkeypatch.setenv(tasks_contract.ENV_FILE_SOURCE, f"{base}/")
    yield pinned
    server.shutdown()
    server.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def test_create_applies_every_verified_file_server_side_then_waits(index, eks, files, kubectl):
    result = index.on_event(crds_event("Create", files))
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
        "gateways.gateway.networking.k8s.io",
        "httproutes.gateway.networking.k8s.io",
        "safe-upgrades.gateway.networking.k8s.io",
    ]
    assert without_kubectl_options(wait["args"]) == [
        "wait",
        "--for=condition=Established",
        "--timeout=120s",
        "crd/gateways.gateway.networking.k8s.io",
        "crd/httproutes.gateway.networking.k8s.io",
    ]


def test_kubectl_talks_to_the_clusters_endpoint_with_an_eks_token(index, eks, files, kubectl):
    index.on_event(crds_event("Create", files))
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


def test_a_file_that_differs_from_its_pin_stops_everything(
    index, task_error, eks, files, kubectl, monkeypatch
):
    # The pin (as the function's environment holds it) is not what the server sends.
    files[1][tasks_contract.FILE_SHA256] = "0" * 64
    pins = " ".join(f[tasks_contract.FILE_SHA256] for f in files)
    monkeypatch.setenv(tasks_contract.ENV_FILE_SHA256, pins)
    with pytest.raises(task_error, match="not the pinned 0000"):
        index.on_event(crds_event("Create", files))
    assert kubectl() == []


def test_a_failed_apply_fails_the_resource(index, task_error, eks, files, kubectl, monkeypatch):
    monkeypatch.setenv("FAKE_KUBECTL_EXIT", "1")
    with pytest.raises(task_error, match="kubectl apply failed"):
        index.on_event(crds_event("Update", files))


def test_delete_removes_the_objects_by_name(index, eks, files, kubectl):
    objects = [
        "validatingadmissionpolicy/safe-upgrades.gateway.networking.k8s.io",
        "crd/gateways.gateway.networking.k8s.io",
    ]
    result = index.on_event(crd_removal_event("Delete", objects))
    assert result == {"PhysicalResourceId": f"gateway-api-crd-removal/{CLUSTER}"}
    (call,) = kubectl()
    assert without_kubectl_options(call["args"]) == [
        "delete",
        "--ignore-not-found",
        "--wait=true",
        *objects,
    ]


def test_a_delete_that_cannot_be_done_does_not_block_the_destroy(
    index, eks, files, kubectl, monkeypatch, caplog
):
    monkeypatch.setenv("FAKE_KUBECTL_EXIT", "1")
    index.on_event(crd_removal_event("Delete", ["crd/gateways.gateway.networking.k8s.io"]))
    assert "left crd/gateways.gateway.networking.k8s.io in place" in caplog.text


def test_without_the_cluster_delete_has_nothing_to_do(index, eks, files, kubectl, caplog):
    boto3.session.Session().client("eks").delete_cluster(name=CLUSTER)
    index.on_event(crd_removal_event("Delete", ["crd/gateways.gateway.networking.k8s.io"]))
    assert kubectl() == []


SAFE_UPGRADES = [
    "validatingadmissionpolicybinding/safe-upgrades.gateway.networking.k8s.io",
    "validatingadmissionpolicy/safe-upgrades.gateway.networking.k8s.io",
]


def test_a_channel_switch_deletes_the_policy_before_applying(index, eks, files, kubectl):
    index.on_event(crds_event("Update", files, replaces=SAFE_UPGRADES))
    delete, apply, wait = kubectl()
    assert without_kubectl_options(delete["args"]) == [
        "delete",
        "--ignore-not-found",
        "--wait=true",
        *SAFE_UPGRADES,
    ]
    assert without_kubectl_options(apply["args"])[0] == "apply"
    assert without_kubectl_options(wait["args"])[0] == "wait"


def test_without_replaces_nothing_is_deleted_before_the_apply(index, eks, files, kubectl):
    index.on_event(crds_event("Create", files))
    assert [without_kubectl_options(c["args"])[0] for c in kubectl()] == ["apply", "wait"]


def test_an_apply_the_deleted_policy_still_refuses_is_tried_again(
    index, asset, eks, files, kubectl, monkeypatch
):
    monkeypatch.setattr(asset["gateway_api_crds"], "SLEEP", lambda seconds: None)
    monkeypatch.setenv("FAKE_KUBECTL_REFUSED_APPLIES", "2")
    monkeypatch.setenv(
        "FAKE_KUBECTL_STDERR",
        'customresourcedefinitions "tcproutes.x" is forbidden: ValidatingAdmissionPolicy '
        "'safe-upgrades.gateway.networking.k8s.io' denied request",
    )
    index.on_event(crds_event("Update", files, replaces=SAFE_UPGRADES))
    verbs = [without_kubectl_options(c["args"])[0] for c in kubectl()]
    assert verbs == ["delete", "apply", "apply", "apply", "wait"]


def test_other_refusals_are_not_retried(index, asset, task_error, eks, files, kubectl, monkeypatch):
    monkeypatch.setattr(asset["gateway_api_crds"], "SLEEP", lambda seconds: None)
    monkeypatch.setenv("FAKE_KUBECTL_REFUSED_APPLIES", "1")
    monkeypatch.setenv("FAKE_KUBECTL_STDERR", "the server could not find the requested resource")
    with pytest.raises(task_error, match="could not find"):
        index.on_event(crds_event("Update", files, replaces=SAFE_UPGRADES))
    assert [without_kubectl_options(c["args"])[0] for c in kubectl()] == ["delete", "apply"]


def test_an_update_deletes_what_only_the_old_channel_had(index, eks, files, kubectl):
    new = ["crd/gateways.gateway.networking.k8s.io", "crd/httproutes.gateway.networking.k8s.io"]
    old = [*new, "crd/xmeshes.gateway.networking.x-k8s.io"]
    index.on_event(crds_event("Update", files, new, old_objects=old))
    apply, wait, delete = kubectl()
    assert without_kubectl_options(delete["args"]) == [
        "delete",
        "--ignore-not-found",
        "--wait=true",
        "crd/xmeshes.gateway.networking.x-k8s.io",
    ]


def test_an_update_with_the_same_objects_deletes_nothing(index, eks, files, kubectl):
    objects = ["crd/gateways.gateway.networking.k8s.io", "crd/httproutes.gateway.networking.k8s.io"]
    index.on_event(crds_event("Update", files, objects, old_objects=objects))
    assert [without_kubectl_options(c["args"])[0] for c in kubectl()] == ["apply", "wait"]


# --- errors of the moment, and the function's own time ---------------------------------------


class FlakyServer:
    """Serves `content`, after `failures` answers of `status` (with Retry-After), or with a
    body cut short when `status` is None."""

    def __init__(self, content: bytes, failures: int, status: int | None):
        self.content, self.failures, self.status, self.requests = content, failures, status, 0
        server = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self):
                server.requests += 1
                if server.requests <= server.failures:
                    if server.status is None:  # promises more than it sends
                        self.send_response(200)
                        self.send_header("Content-Length", str(len(server.content) + 100))
                        self.end_headers()
                        self.wfile.write(server.content[:5])
                        return
                    self.send_response(server.status)
                    self.send_header("Retry-After", "7")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(server.content)))
                self.end_headers()
                self.wfile.write(server.content)

            def log_message(self, format, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/file.yaml"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def crds(asset, monkeypatch):
    module = asset["gateway_api_crds"]
    pauses: list[float] = []
    monkeypatch.setattr(module, "SLEEP", pauses.append)
    module.pauses = pauses
    return module


@pytest.mark.parametrize(
    ("status", "pauses"), [(503, [7.0, 7.0]), (429, [7.0, 7.0]), (None, [2, 4])]
)
def test_a_download_is_tried_three_times_on_an_error_of_the_moment(crds, status, pauses):
    server = FlakyServer(b"kind: CustomResourceDefinition\n", failures=2, status=status)
    try:
        assert crds.download(server.url) == b"kind: CustomResourceDefinition\n"
    finally:
        server.close()
    assert (server.requests, crds.pauses) == (3, pauses)


def test_a_download_that_keeps_failing_names_the_url(crds, task_error):
    server = FlakyServer(b"x", failures=5, status=502)
    try:
        with pytest.raises(task_error, match=f"could not download {server.url}: HTTP Error 502"):
            crds.download(server.url)
    finally:
        server.close()
    assert server.requests == 3


def test_a_missing_file_is_not_asked_for_again(crds, task_error):
    server = FlakyServer(b"x", failures=5, status=404)
    try:
        with pytest.raises(task_error, match="HTTP Error 404"):
            crds.download(server.url)
    finally:
        server.close()
    assert (server.requests, crds.pauses) == (1, [])


def test_an_access_entry_seconds_old_is_waited_for(index, crds, eks, files, kubectl, monkeypatch):
    monkeypatch.setenv("FAKE_KUBECTL_REFUSED_APPLIES", "2")
    monkeypatch.setenv(
        "FAKE_KUBECTL_STDERR", "error: You must be logged in to the server (Unauthorized)"
    )
    index.on_event(crds_event("Create", files))
    assert [without_kubectl_options(c["args"])[0] for c in kubectl()] == [
        "apply", "apply", "apply", "wait"
    ]  # fmt: skip
    assert crds.pauses == [crds.TRANSIENT_PAUSE_S] * 2


def test_errors_of_the_moment_are_waited_for_two_minutes_only(
    index, crds, task_error, eks, files, kubectl, monkeypatch
):
    # Time passes only while the task pauses.
    now = [0.0]
    monkeypatch.setattr(crds, "CLOCK", lambda: now[0])
    monkeypatch.setattr(
        crds, "SLEEP", lambda s: (crds.pauses.append(s), now.__setitem__(0, now[0] + s))
    )
    monkeypatch.setenv("FAKE_KUBECTL_REFUSED_APPLIES", "100")
    monkeypatch.setenv(
        "FAKE_KUBECTL_STDERR", "Unable to connect to the server: dial tcp: i/o timeout"
    )
    with pytest.raises(task_error, match="kubectl apply failed: Unable to connect"):
        index.on_event(crds_event("Create", files))
    assert sum(crds.pauses) == crds.TRANSIENT_RETRY_S


class Remaining:
    def __init__(self, seconds: float):
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


def test_no_kubectl_call_outlives_the_functions_time(index, crds, eks, files, kubectl, monkeypatch):
    timeouts = []
    original = crds.kubectl

    def recording(kubeconfig, arguments, timeout_s=300):
        timeouts.append(timeout_s)
        return original(kubeconfig, arguments, timeout_s=timeout_s)

    monkeypatch.setattr(crds, "kubectl", recording)
    index.on_event(crds_event("Create", files), Remaining(90))
    assert timeouts and all(t <= 60 for t in timeouts)


def test_an_unexpected_error_fails_the_create_in_one_line(
    index, crds, task_error, eks, monkeypatch
):
    def broken(url, deadline=None):
        raise ValueError("something odd")

    monkeypatch.setattr(crds, "download", broken)
    files = [{"Url": "http://127.0.0.1:1/x", "Sha256": "0" * 64, "Crds": []}]
    monkeypatch.setenv(tasks_contract.ENV_FILE_SHA256, "0" * 64)
    monkeypatch.setenv(tasks_contract.ENV_FILE_SOURCE, "http://127.0.0.1:1/")
    with pytest.raises(task_error, match=r"^ValueError: something odd$"):
        index.on_event(crds_event("Create", files))


def test_a_delete_survives_any_error(index, crds, eks, monkeypatch, caplog):
    class NoEndpoint:
        def __init__(self, cluster):
            pass

        def __enter__(self):
            raise ConnectionError("Could not connect to the endpoint URL")

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(crds, "cluster_kubeconfig", NoEndpoint)
    result = index.on_event(crd_removal_event("Delete", ["crd/gateways.gateway.networking.k8s.io"]))
    assert result == {"PhysicalResourceId": f"gateway-api-crd-removal/{CLUSTER}"}
    assert "left crd/gateways.gateway.networking.k8s.io in place: Could not connect" in caplog.text


def test_an_update_to_a_newer_pin_and_its_rollback_both_go_through(index, eks, files, kubectl):
    # The newer pin's policy would refuse the older CRDs of the rollback; each apply deletes
    # the policy first and its files create it again.
    newer = [dict(f, Url=f["Url"]) for f in files]
    index.on_event(crds_event("Update", newer, replaces=SAFE_UPGRADES))
    index.on_event(crds_event("Update", files, replaces=SAFE_UPGRADES))
    verbs = [without_kubectl_options(c["args"])[0] for c in kubectl()]
    assert verbs == ["delete", "apply", "wait", "delete", "apply", "wait"]


def test_deleting_the_crds_resource_leaves_them_to_the_removal(index, eks, files, kubectl):
    result = index.on_event(crds_event("Delete", files, ["crd/gateways.gateway.networking.k8s.io"]))
    assert result == {"PhysicalResourceId": f"gateway-api-crds/{CLUSTER}"}
    assert kubectl() == []


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_the_removal_does_nothing_until_the_stack_goes(index, eks, kubectl, request_type):
    result = index.on_event(
        crd_removal_event(request_type, ["crd/gateways.gateway.networking.k8s.io"])
    )
    assert result == {"PhysicalResourceId": f"gateway-api-crd-removal/{CLUSTER}"}
    assert kubectl() == []
