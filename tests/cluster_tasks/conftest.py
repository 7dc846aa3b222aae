"""Fixtures for the kubectl task handler: its asset folder loaded as the Lambda runtime loads
it, EKS as a moto server on 127.0.0.1, and a fake kubectl that records what it was asked to
do and the kubeconfig it was given."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from types import ModuleType

import boto3
import pytest

from constructs.cluster_tasks import HANDLER_DIR, task_scope
from tests.cluster_tasks.task_events import CLUSTER
from tests.handler_modules import lambda_asset


@pytest.fixture(scope="module")
def asset() -> Iterator[dict[str, ModuleType]]:
    """The handler's modules by name, for as long as the test module runs."""
    with lambda_asset(HANDLER_DIR) as modules:
        yield modules


@pytest.fixture
def index(asset) -> ModuleType:
    """The entry module, whose on_event the Lambda runs."""
    return asset["index"]


@pytest.fixture
def task_error(asset) -> type[Exception]:
    return asset["cluster_kubectl"].TaskError


@pytest.fixture(autouse=True)
def function_scope(monkeypatch) -> dict[str, str]:
    """The environment the construct gives the function, for the tests' cluster."""
    scope = task_scope(CLUSTER)
    for name, value in scope.items():
        monkeypatch.setenv(name, value)
    return scope


@pytest.fixture(autouse=True)
def one_boto3_session(moto_environment, monkeypatch) -> None:
    """The handlers make a boto3 session per request; here they share one (with its loaded
    service models), which saves a tenth of a second per request and changes nothing else:
    its credentials and endpoint come from the same environment."""
    shared = boto3.session.Session()
    monkeypatch.setattr(boto3.session, "Session", lambda *args, **kwargs: shared)


@pytest.fixture
def eks(moto_environment) -> dict:
    """The cluster CLUSTER in the session's moto server (created unless an earlier test left
    it), and boto3 pointed at it; its description. No reset: it costs half a second."""
    client = moto_environment.client("eks")
    if CLUSTER not in client.list_clusters()["clusters"]:
        client.create_cluster(
            name=CLUSTER,
            roleArn="arn:aws:iam::123456789012:role/eks",
            resourcesVpcConfig={"subnetIds": ["subnet-1"]},
        )
    return client.describe_cluster(name=CLUSTER)["cluster"]


@pytest.fixture
def kubectl(tmp_path, asset, monkeypatch) -> Callable[[], list[dict]]:
    """A fake kubectl; `calls()` returns (arguments, kubeconfig, applied file contents).
    FAKE_KUBECTL_STDOUT and FAKE_KUBECTL_EXIT set what it answers; the first
    FAKE_KUBECTL_REFUSED_APPLIES applies fail with FAKE_KUBECTL_STDERR."""
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
def verb(arguments):
    return [a for a in arguments if not a.startswith("--")][0]
if verb(args) == "apply":
    applies = sum(1 for line in open({str(log)!r}) if verb(json.loads(line)["args"]) == "apply")
    if applies <= int(os.environ.get("FAKE_KUBECTL_REFUSED_APPLIES", "0")):
        print(os.environ.get("FAKE_KUBECTL_STDERR", "refused"), file=sys.stderr)
        sys.exit(1)
sys.exit(int(os.environ.get("FAKE_KUBECTL_EXIT", "0")))
""",
        encoding="utf-8",
    )
    script.chmod(0o755)
    monkeypatch.setattr(asset["cluster_kubectl"], "KUBECTL", str(script))

    def calls():
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]

    return calls
