"""Custom::ServiceRemoval: nothing until the stack goes; then every LoadBalancer Service of the
cluster is deleted and waited for, and a destroy is never failed by it.

The kubectl here is a small cluster of its own: Services and Gateways in a JSON file, a load
balancer controller that lets a deleted Service go after a few listings (its finalizer), and
an istiod that makes a Gateway's Service again while the Gateway exists.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

import boto3
import pytest

from tests.cluster_tasks.task_events import CLUSTER, removal_event

GATEWAY_API = "gateway.networking.k8s.io"

FAKE_CLUSTER = r"""
import json, sys
state_file, args = STATE, [a for a in sys.argv[1:] if not a.startswith("--kubeconfig=")]
state = json.load(open(state_file))
state["calls"].append(args)

def service(namespace, name):
    return next((s for s in state["services"]
                 if (s["namespace"], s["name"]) == (namespace, name)), None)

if args[:2] == ["get", "services"] and state.get("fail_listings", 0) > 0:
    state["fail_listings"] -= 1
    json.dump(state, open(state_file, "w"))
    sys.exit("Unable to connect to the server: dial tcp: i/o timeout")
if args[:2] == ["get", "services"]:
    for s in list(state["services"]):  # the controller: the NLB goes, then the Service
        if s.get("deleting"):
            s["polls_left"] -= 1
            if s["polls_left"] <= 0:
                state["services"].remove(s)
    for g in state["gateways"]:  # istiod: a Gateway's Service, while the Gateway exists
        if service(g["namespace"], g["name"] + "-istio") is None:
            state["services"].append({"namespace": g["namespace"], "name": g["name"] + "-istio",
                                      "type": "LoadBalancer", "gateway": g["name"],
                                      "polls_left": 2})
    items = []
    for s in state["services"]:
        metadata = {"namespace": s["namespace"], "name": s["name"]}
        if s.get("gateway"):
            metadata["ownerReferences"] = [{"apiVersion": GATEWAY_API + "/v1", "kind": "Gateway",
                                            "name": s["gateway"]}]
        if s.get("deleting"):
            metadata["deletionTimestamp"] = "2026-12-02T00:00:00Z"
        items.append({"metadata": metadata, "spec": {"type": s["type"]}})
    print(json.dumps({"items": items}))
elif args[:2] == ["delete", "service"]:
    found = service(args[args.index("-n") + 1], args[2])
    if found is not None and found.get("fail_deletes", 0) > 0:
        found["fail_deletes"] -= 1
        json.dump(state, open(state_file, "w"))
        sys.exit("Error from server (InternalError): etcdserver: request timed out")
    if found is not None:
        found["deleting"] = True
elif args[:2] == ["delete", "gateways." + GATEWAY_API] and state.get("no_gateway_api"):
    json.dump(state, open(state_file, "w"))
    sys.exit("error: the server doesn't have a resource type gateways")
elif args[:2] == ["delete", "gateways." + GATEWAY_API]:
    namespace = args[args.index("-n") + 1]
    state["gateways"] = [g for g in state["gateways"]
                         if (g["namespace"], g["name"]) != (namespace, args[2])]
    for s in state["services"]:  # garbage collection of what the Gateway owned
        if s.get("gateway") == args[2] and s["namespace"] == namespace:
            s["deleting"] = True
else:
    sys.exit("unexpected: " + " ".join(args))
json.dump(state, open(state_file, "w"))
"""


@pytest.fixture
def cluster(tmp_path, asset, monkeypatch) -> Callable[..., dict]:
    """`cluster(services=..., gateways=...)` sets up the fake cluster and returns its state
    file reader; kubectl calls are in state["calls"]."""
    state_file = tmp_path / "cluster.json"
    script = tmp_path / "kubectl"
    script.write_text(
        # -S: no site-packages to import, so every call starts faster.
        f"#!{sys.executable} -S\n"
        + FAKE_CLUSTER.replace("STATE", repr(str(state_file))).replace(
            "GATEWAY_API", repr(GATEWAY_API)
        ),
        encoding="utf-8",
    )
    script.chmod(0o755)
    monkeypatch.setattr(asset["cluster_kubectl"], "KUBECTL", str(script))
    removal = asset["service_removal"]
    # A clock that moves ten seconds per reading, and no real pause between rounds: a
    # removal that never ends runs into its deadline instead of hanging the test.
    readings = iter(range(0, 1_000_000, 10))
    monkeypatch.setattr(removal, "CLOCK", lambda: float(next(readings)))
    monkeypatch.setattr(removal, "SLEEP", lambda _: None)

    def setup(services=(), gateways=(), **faults) -> Callable[[], dict]:
        state_file.write_text(
            json.dumps(
                {"services": list(services), "gateways": list(gateways), "calls": [], **faults}
            ),
            encoding="utf-8",
        )
        return lambda: json.loads(state_file.read_text(encoding="utf-8"))

    return setup


def lb(namespace: str, name: str, polls_left: int = 2) -> dict:
    return {"namespace": namespace, "name": name, "type": "LoadBalancer", "polls_left": polls_left}


@pytest.fixture
def stack_going(asset, monkeypatch) -> None:
    monkeypatch.setattr(asset["service_removal"], "stack_status", lambda _: "DELETE_IN_PROGRESS")


def test_it_does_nothing_on_create(index, eks, cluster):
    state = cluster(services=[lb("istio-system", "istio-ingressgateway")])
    result = index.on_event(removal_event("Create"))
    assert result == {"PhysicalResourceId": f"load-balancer-services/{CLUSTER}"}
    assert state()["calls"] == []


def test_an_update_keeps_the_physical_id_of_the_earlier_wait(index, eks, cluster):
    # The ID the previous version's wait for one Gateway's Service was created with: kept,
    # so CloudFormation never sends a Delete for a replaced resource during an upgrade.
    state = cluster(services=[lb("istio-system", "istio-ingressgateway")])
    event = removal_event("Update")
    event["PhysicalResourceId"] = f"service-removal/{CLUSTER}/default/bookinfo-gateway-istio"
    result = index.on_event(event)
    assert result == {"PhysicalResourceId": event["PhysicalResourceId"]}
    assert state()["calls"] == []


def test_a_delete_while_the_stack_lives_on_touches_nothing(index, eks, cluster):
    # A real stack, as moto's CloudFormation reports it: CREATE_COMPLETE, not going away.
    stack_id = boto3.client("cloudformation").create_stack(
        StackName="lab", TemplateBody='{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}'
    )["StackId"]
    state = cluster(services=[lb("istio-system", "istio-ingressgateway")])
    index.on_event(removal_event("Delete", stack_id=stack_id))
    assert state()["calls"] == []


def test_an_unknown_stack_status_touches_nothing(index, eks, cluster):
    state = cluster(services=[lb("istio-system", "istio-ingressgateway")])
    index.on_event(removal_event("Delete"))  # no such stack in moto
    assert state()["calls"] == []


@pytest.mark.parametrize(
    ("status", "acts"),
    [
        ("DELETE_IN_PROGRESS", True),
        ("ROLLBACK_IN_PROGRESS", True),
        ("UPDATE_ROLLBACK_IN_PROGRESS", False),
        ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", False),
    ],
)
def test_only_a_stack_going_away_loses_its_services(
    index, asset, eks, cluster, monkeypatch, status, acts
):
    monkeypatch.setattr(asset["service_removal"], "stack_status", lambda _: status)
    state = cluster(services=[lb("istio-system", "istio-ingressgateway")])
    index.on_event(removal_event("Delete"))
    assert (state()["services"] == []) is acts


def test_every_load_balancer_service_is_deleted_and_waited_for(index, eks, cluster, stack_going):
    cluster_ip = {"namespace": "bookinfo", "name": "productpage", "type": "ClusterIP"}
    state = cluster(
        services=[
            lb("istio-system", "istio-ingressgateway"),
            lb("default", "learners-own", polls_left=4),
            cluster_ip,
        ],
        gateways=[{"namespace": "default", "name": "httpbin-gateway"}],
    )
    result = index.on_event(removal_event("Delete", timeout_s=1200))
    assert result == {"PhysicalResourceId": f"load-balancer-services/{CLUSTER}"}
    after = state()
    assert after["services"] == [cluster_ip]
    assert after["gateways"] == []
    deletes = [call[:3] for call in after["calls"] if call[0] == "delete"]
    # A Gateway's Service goes with its Gateway, which goes first (or istiod makes it again).
    assert deletes == [
        ["delete", "service", "istio-ingressgateway"],
        ["delete", "service", "learners-own"],
        ["delete", f"gateways.{GATEWAY_API}", "httpbin-gateway"],
        ["delete", "service", "httpbin-gateway-istio"],
    ]
    assert all("--wait=false" in call for call in after["calls"] if call[0] == "delete")
    # Listed until the slowest (four listings behind its finalizer) is gone; never deleted twice.
    assert sum(call[0] == "get" for call in after["calls"]) == 5


def test_without_its_gateway_a_gateways_service_comes_back(asset, eks, cluster, monkeypatch):
    # What deleting the Gateway is for: were only its Service deleted, istiod would make it
    # again for as long as the Gateway exists, and the wait would run into its timeout.
    removal = asset["service_removal"]
    monkeypatch.setattr(removal, "owning_gateway", lambda _: None)
    cluster(gateways=[{"namespace": "default", "name": "httpbin-gateway"}])
    left = removal.remove_load_balancer_services(CLUSTER, 480)
    assert left == [("default", "httpbin-gateway-istio")]


def test_past_the_timeout_it_logs_what_is_left_and_succeeds(asset, eks, cluster, caplog):
    state = cluster(services=[lb("istio-system", "istio-ingressgateway", polls_left=10_000)])
    left = asset["service_removal"].remove_load_balancer_services(CLUSTER, 480)
    assert left == [("istio-system", "istio-ingressgateway")]
    assert "still there: istio-system/istio-ingressgateway" in caplog.text
    # Deleted once, then only listed until the time was up.
    assert [c[:2] for c in state()["calls"] if c[0] == "delete"] == [["delete", "service"]]


def test_a_delete_that_fails_is_tried_again_and_the_others_go_on(asset, eks, cluster, caplog):
    state = cluster(
        services=[
            {**lb("default", "first"), "fail_deletes": 2},
            lb("default", "second"),
        ]
    )
    left = asset["service_removal"].remove_load_balancer_services(CLUSTER, 480)
    assert left == [] and state()["services"] == []
    assert caplog.text.count("will try again") == 2


def test_a_listing_that_fails_is_tried_again(asset, eks, cluster):
    state = cluster(services=[lb("default", "learners-own")], fail_listings=2)
    assert asset["service_removal"].remove_load_balancer_services(CLUSTER, 480) == []
    assert state()["services"] == []


def test_when_nothing_could_be_listed_it_says_it_does_not_know(asset, eks, cluster, caplog):
    cluster(services=[lb("default", "learners-own")], fail_listings=10_000)
    assert asset["service_removal"].remove_load_balancer_services(CLUSTER, 60) is None
    assert "could not tell which LoadBalancer Services are left" in caplog.text
    assert "no LoadBalancer Service is left" not in caplog.text


def test_without_the_gateway_api_a_gateways_service_is_deleted_itself(asset, eks, cluster):
    # The CRDs (and every Gateway with them) already gone: the Gateway's delete fails, the
    # Service's goes on.
    orphan = {**lb("default", "httpbin-gateway-istio"), "gateway": "httpbin-gateway"}
    state = cluster(services=[orphan], no_gateway_api=True)
    assert asset["service_removal"].remove_load_balancer_services(CLUSTER, 480) == []
    assert state()["services"] == []


def test_no_kubectl_call_outlives_the_deadline(asset):
    removal = asset["service_removal"]
    now = [0.0]
    deadline = removal.Deadline(480, lambda: now[0])
    assert deadline.call_timeout() == asset["cluster_kubectl"].KUBECTL_TIMEOUT_S == 300
    now[0] = 400.0
    assert deadline.call_timeout() == 80
    now[0] = 479.5
    assert deadline.call_timeout() == removal.MIN_CALL_S and not deadline.passed()


def test_a_cluster_it_cannot_reach_does_not_fail_the_destroy(
    index, eks, cluster, stack_going, caplog, monkeypatch
):
    # No such cluster in EKS: no kubeconfig, nothing listed, and still a success.
    state = cluster(services=[lb("default", "learners-own")])
    event = removal_event("Delete")
    event["ResourceProperties"]["ClusterName"] = "gone"
    monkeypatch.setenv("LAB_CLUSTER_NAME", "gone")
    result = index.on_event(event)
    assert result == {"PhysicalResourceId": f"load-balancer-services/{CLUSTER}"}
    assert "stopped removing the LoadBalancer Services" in caplog.text
    assert "could not tell which LoadBalancer Services are left" in caplog.text
    assert state()["calls"] == []


class Remaining:
    """A Lambda context with `seconds` left."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


@pytest.mark.parametrize(("left_s", "timeout_s"), [(900, 480), (300, 270), (20, 5)])
def test_the_removal_never_runs_past_the_functions_own_time(
    index, asset, eks, cluster, stack_going, monkeypatch, left_s, timeout_s
):
    seen = []
    monkeypatch.setattr(
        asset["service_removal"], "remove_load_balancer_services", lambda c, t: seen.append(t)
    )
    index.on_event(removal_event("Delete", timeout_s=480), Remaining(left_s))
    assert seen == [timeout_s]
