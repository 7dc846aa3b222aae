"""`make doctor` against cluster states: a healthy lab in each mode, and what each damaging
cleanup step of the Task catalog leaves (tests/doctor/lab_state.py); kubectl's answers when
no cluster can be reached; the command end to end through a fake kubectl."""

from __future__ import annotations

import copy
import io
import json

import pytest

from doctor import cli
from doctor.checks import State
from doctor.cluster import KubectlCluster, Unreachable
from plan.task_catalog import load, short_name
from smoke.deployed import DeployedLab, SetupError
from tests.doctor import lab_state
from tests.istio_objects import lab_plan

HTTP_ROUTE_API = "gateway.networking.k8s.io/v1"
MODES = [
    {},
    {"ingressApi": "gateway-api"},
    {"dataplane": "ambient"},
    {"dataplane": "ambient", "ingressApi": "gateway-api", "bookinfoNamespace": "bookinfo"},
    {"gatewayApiChannel": "experimental", "tracing": "zipkin",
     "istio": {"meshConfig": {"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}}}},
]  # fmt: skip


def lines(plan, state) -> list[str]:
    return [f.line() for f in cli.examine(plan, State(state))]


@pytest.mark.parametrize("context", MODES, ids=lambda c: json.dumps(c)[:60])
def test_a_healthy_lab_has_no_findings(context):
    plan = lab_plan(**context)
    assert lines(plan, lab_state.healthy(plan)) == []


# The catalog's damaging cleanup steps, each on the lab of its page's settings, and a line
# the doctor must print for it.
EXPECTED = {
    "uninstall-purge": "CRD virtualservices.networking.istio.io is missing; fix: make repair",
    "reinstall-default": "istiod's mesh config differs from the lab's in accessLogFile",
    "delete-gateway-api-crds": "CRD httproutes.gateway.networking.k8s.io is missing",
    "delete-istio-system": "Helm release istiod in istio-system is missing; fix: make repair",
    "delete-lab-route": "the lab's VirtualService bookinfo in default is missing",
}
DAMAGES = [(task, effect) for task in load() if task.cleanup for effect in task.cleanup.effects]


@pytest.mark.parametrize(
    ("task", "effect"), DAMAGES, ids=[f"{short_name(t)}-{e}" for t, e in DAMAGES]
)
def test_every_damaging_cleanup_of_the_catalog_is_found(task, effect):
    plan = lab_plan(**task.context())
    damaged = lab_state.EFFECTS[effect](lab_state.healthy(plan))
    found = lines(plan, damaged)
    assert any(EXPECTED[effect] in line for line in found), found
    # Each of them is the lab's to put back.
    assert all(line.endswith("make repair") or "kubectl" in line for line in found)


def test_uninstalling_istio_names_what_repair_brings_back():
    plan = lab_plan()
    found = lines(plan, lab_state.uninstall_purge(lab_state.healthy(plan)))
    for expected in (
        "Deployment istiod in istio-system is missing; fix: make repair",
        "Deployment istio-ingressgateway in istio-system is missing; fix: make repair",
        "the ingress Service istio-ingressgateway in istio-system is missing; fix: make repair",
        "istiod's ConfigMap istio is missing; fix: make repair",
    ):
        assert expected in found


def test_a_tasks_route_with_the_labs_name_is_found():
    plan = lab_plan()
    state = lab_state.healthy(plan)
    (reviews,) = [
        vs
        for vs in state["virtualservices.networking.istio.io"]
        if vs["metadata"]["name"] == "reviews"
    ]
    # `kubectl apply` of the request-routing Task's virtual-service-all-v1.yaml: the label goes.
    reviews["metadata"]["labels"] = {}
    reviews["spec"]["http"] = [{"route": [{"destination": {"host": "reviews", "subset": "v1"}}]}]
    assert lines(plan, state) == [
        "VirtualService reviews in default differs from the lab's (replaced by a Task's of the "
        "same name?); fix: make repair"
    ]


def test_a_second_route_for_a_host_the_lab_routes_is_found():
    plan = lab_plan()
    state = lab_state.healthy(plan)
    state["httproutes.gateway.networking.k8s.io"] = [
        lab_state.obj("HTTPRoute", "reviews", "default", apiVersion=HTTP_ROUTE_API,
                      spec={"parentRefs": [{"kind": "Service", "name": "reviews"}]}),
        # A route of a Service the lab does not route is none of its business.
        lab_state.obj("HTTPRoute", "httpbin", "default", apiVersion=HTTP_ROUTE_API,
                      spec={"parentRefs": [{"kind": "Service", "name": "httpbin"}]}),
    ]  # fmt: skip
    state["virtualservices.networking.istio.io"].append(
        lab_state.obj(
            "VirtualService",
            "ratings-test",
            "foo",
            apiVersion="networking.istio.io/v1",
            spec={"hosts": ["ratings.default.svc.cluster.local"]},
        )
    )
    assert lines(plan, state) == [
        "VirtualService ratings-test in foo also routes ratings.default.svc.cluster.local, which "
        "the lab routes; fix: kubectl delete virtualservices.networking.istio.io ratings-test "
        "-n foo when its Task is done",
        "HTTPRoute reviews in default also routes reviews.default.svc.cluster.local, which the "
        "lab routes; fix: kubectl delete httproutes.gateway.networking.k8s.io reviews -n "
        "default when its Task is done",
    ]


def test_a_root_telemetry_is_found_and_a_selected_one_is_not():
    plan = lab_plan()
    state = lab_state.healthy(plan)
    state["telemetries.telemetry.istio.io"] = [
        lab_state.obj("Telemetry", "mesh-default", "istio-system",
                      spec={"accessLogging": [{"providers": [{"name": "envoy"}]}]}),
        lab_state.obj("Telemetry", "gateway-only", "istio-system",
                      spec={"selector": {"matchLabels": {"app": "istio-ingressgateway"}}}),
    ]  # fmt: skip
    (line,) = lines(plan, state)
    assert line.startswith("Telemetry mesh-default in istio-system applies to the whole mesh")


def test_a_workload_that_is_not_ready_says_how_to_look():
    plan = lab_plan(dataplane="ambient")
    state = lab_state.healthy(plan)
    for daemonset in state["daemonsets.apps"]:
        if daemonset["metadata"]["name"] == "ztunnel":
            daemonset["status"]["numberReady"] = 1
    assert lines(plan, state) == [
        "DaemonSet ztunnel in istio-system is not ready (1 of 2 ready); fix: kubectl describe "
        "daemonset ztunnel -n istio-system; if its pods cannot start, make repair"
    ]


def test_a_bookinfo_deployment_of_another_version_is_found():
    plan = lab_plan()
    state = lab_state.healthy(plan)
    for item in state["deployments.apps"]:
        if item["metadata"]["name"] == "reviews-v3":
            item["spec"]["template"]["metadata"]["labels"]["version"] = "v4"
    assert lines(plan, state) == [
        "Deployment reviews-v3 in default runs version v4, not v3; fix: make repair"
    ]


def test_a_namespace_that_lost_its_data_plane_label_is_found():
    plan = lab_plan(dataplane="ambient")
    state = lab_state.healthy(plan)
    for item in state["namespaces"]:
        if item["metadata"]["name"] == "default":
            item["metadata"]["labels"].pop("istio.io/dataplane-mode")
    assert lines(plan, state) == [
        "namespace default lacks the label istio.io/dataplane-mode=ambient; fix: make repair"
    ]


# --- kubectl and the command ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("stderr", "reason"),
    [
        ('error: context "arn:aws:eks:us-east-1:1:cluster/lab" was not found',
         "your kubeconfig has no entry for the cluster arn:aws:eks:us-east-1:1:cluster/lab"),
        ("error: You must be logged in to the server (Unauthorized)",
         "the cluster refused your credentials"),
        ("An error occurred (ExpiredToken) when calling the AssumeRole operation",
         "the cluster refused your credentials"),
        ('Unable to connect to the server: dial tcp: lookup ABC.gr7.us-east-1.eks.amazonaws.com: '
         "no such host", "the cluster's endpoint does not answer"),
        ("error: something else entirely", "kubectl failed: error: something else entirely"),
    ],
)  # fmt: skip
def test_why_no_cluster_can_be_reached_is_one_line(fake_kubectl, monkeypatch, stderr, reason):
    kubectl = fake_kubectl({})
    monkeypatch.setenv("FAKE_STDERR", stderr)
    cluster = KubectlCluster("arn:aws:eks:us-east-1:1:cluster/lab", kubectl=kubectl)
    with pytest.raises(Unreachable, match="^" + reason.replace("(", r"\(").replace(")", r"\)")):
        cluster.get("namespaces")


def test_a_kind_whose_crd_is_gone_lists_as_empty(fake_kubectl):
    cluster = KubectlCluster("lab", kubectl=fake_kubectl({}))
    assert cluster.get("virtualservices.networking.istio.io") == []


def deployed(plan) -> DeployedLab:
    return DeployedLab(
        "BookinfoLab-Cluster",
        {
            "LabSettings": plan.settings_json,
            "ClusterArn": "arn:aws:eks:us-east-1:123456789012:cluster/bookinfo-lab",
        },
    )


def test_make_doctor_end_to_end(fake_kubectl, monkeypatch, tmp_path):
    plan = lab_plan(dataplane="ambient")
    monkeypatch.setattr(cli, "read_stack", lambda stack, instead: deployed(plan))
    state = lab_state.healthy(plan)
    out = io.StringIO()
    kubectl = fake_kubectl(state)
    code, findings = cli.run("BookinfoLab-Cluster", out=out, kubectl=kubectl, cdk_json=tmp_path)
    assert (code, findings, out.getvalue()) == (0, [], "doctor: the lab is as deployed\n")

    fake_kubectl(lab_state.delete_gateway_api_crds(copy.deepcopy(state)))
    out = io.StringIO()
    code, findings = cli.run("BookinfoLab-Cluster", out=out, kubectl=kubectl, cdk_json=tmp_path)
    assert code == 1
    text = out.getvalue().splitlines()
    assert "✗ CRD gateways.gateway.networking.k8s.io is missing; fix: make repair" in text
    assert "✗ Deployment waypoint in default is missing; fix: make repair" in text
    assert (
        text[-1]
        == f"doctor: {len(findings)} differences from the deployed lab; then run make repair"
    )


def test_make_doctor_without_a_deployed_lab_exits_2(monkeypatch):
    def no_stack(stack, instead):
        raise SetupError("reading the outputs of stack BookinfoLab-Cluster failed: does not exist")

    monkeypatch.setattr(cli, "read_stack", no_stack)
    out = io.StringIO()
    assert cli.run("BookinfoLab-Cluster", out=out) == (2, [])
    assert out.getvalue() == (
        "doctor: cannot look at the lab: reading the outputs of stack BookinfoLab-Cluster "
        "failed: does not exist\n"
    )


def test_make_doctor_with_expired_credentials_exits_2(fake_kubectl, monkeypatch, tmp_path):
    plan = lab_plan()
    monkeypatch.setattr(cli, "read_stack", lambda stack, instead: deployed(plan))
    monkeypatch.setenv("FAKE_STDERR", "error: You must be logged in to the server (Unauthorized)")
    out = io.StringIO()
    code, _ = cli.run("s", out=out, kubectl=fake_kubectl({}), cdk_json=tmp_path)
    assert code == 2
    assert out.getvalue().startswith("doctor: cannot look at the lab: the cluster refused")


def test_a_cdk_json_that_is_not_json_is_one_line(monkeypatch, tmp_path):
    plan = lab_plan()
    monkeypatch.setattr(cli, "read_stack", lambda stack, instead: deployed(plan))
    (tmp_path / "cdk.json").write_text("{")
    out = io.StringIO()
    assert cli.run("s", out=out, cdk_json=tmp_path / "cdk.json") == (2, [])
    assert out.getvalue() == (
        f"doctor: cannot look at the lab: {tmp_path / 'cdk.json'} is not a JSON object with a "
        "context\n"
    )
