"""The UIs are the learner's only: NetworkPolicies let in only what needs each of them, and
Kiali is view-only unless kialiWizards turns its wizards on."""

from __future__ import annotations

import pytest

from tests.istio_objects import lab_plan
from tests.template_queries import chart_values, helm_chart, manifest_objects, manifest_with

SYSTEM = {"kubernetes.io/metadata.name": "istio-system"}
PROMETHEUS = {"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/component": "server"}
KIALI = {"app.kubernetes.io/name": "kiali"}
GRAFANA = {"app.kubernetes.io/name": "grafana"}
GATEWAY = {"app": "istio-ingressgateway", "istio": "ingressgateway"}


def peer(pods):
    return {"podSelector": {"matchLabels": pods}, "namespaceSelector": {"matchLabels": SYSTEM}}


def tcp(*ports):
    return [{"protocol": "TCP", "port": p} for p in ports]


def policies(**context) -> dict[str, dict]:
    plan = lab_plan(**context)
    found = {}
    for policy in plan.observability.access_objects:
        assert policy["kind"] == "NetworkPolicy"
        assert policy["metadata"]["namespace"] == "istio-system"
        assert policy["spec"]["policyTypes"] == ["Ingress"]
        found[policy["metadata"]["name"]] = policy["spec"]
    return found


def test_each_ui_admits_only_what_needs_it():
    found = policies()
    assert found["lab-kiali-ingress"] == {
        "podSelector": {"matchLabels": KIALI},
        "policyTypes": ["Ingress"],
        "ingress": [
            {"from": [peer(PROMETHEUS)]},  # its metrics
            {"from": [peer(GATEWAY)], "ports": tcp(20001)},  # the addons Task's route
        ],
    }
    assert found["lab-grafana-ingress"]["ingress"] == [
        {"from": [peer(PROMETHEUS)]},
        {"from": [peer(KIALI), peer(GATEWAY)], "ports": tcp(3000)},
    ]
    assert found["lab-prometheus-ingress"]["podSelector"] == {"matchLabels": PROMETHEUS}
    assert found["lab-prometheus-ingress"]["ingress"] == [
        {"from": [peer(KIALI), peer(GRAFANA), peer(GATEWAY)], "ports": tcp(9090)}
    ]
    # Jaeger: spans from any pod of any namespace; its UI from the gateway, its gRPC query
    # API from Kiali.
    assert found["lab-jaeger-ingress"] == {
        "podSelector": {"matchLabels": {"app": "jaeger"}},
        "policyTypes": ["Ingress"],
        "ingress": [
            {"from": [peer(PROMETHEUS)]},
            {"from": [{"namespaceSelector": {}}], "ports": tcp(4317, 4318)},
            {"from": [peer(GATEWAY)], "ports": tcp(16686)},
            {"from": [peer(KIALI)], "ports": tcp(16685)},
        ],
    }


def test_without_the_chart_gateway_nothing_is_let_in_for_it():
    found = policies(ingressApi="gateway-api", tracing="zipkin")
    assert found["lab-kiali-ingress"]["ingress"] == [{"from": [peer(PROMETHEUS)]}]
    # Zipkin takes spans and serves its UI on one port: open to the mesh.
    assert found["lab-zipkin-ingress"]["ingress"] == [
        {"from": [peer(PROMETHEUS)]},
        {"from": [{"namespaceSelector": {}}], "ports": tcp(9411)},
    ]
    assert "lab-jaeger-ingress" not in found
    assert "lab-zipkin-ingress" not in policies(tracing="none")


@pytest.mark.parametrize("context", [{}, {"ingressApi": "gateway-api", "tracing": "zipkin"}])
def test_no_rule_admits_everyone(context):
    # An empty `from` (or no `from`) would let every pod in.
    for name, spec in policies(**context).items():
        for rule in spec["ingress"]:
            assert rule["from"], name


def test_the_tracing_policy_selects_the_backends_pods(synthesized):
    (tracing,) = [
        o for o in synthesized.plan.observability.tracing_objects if o["kind"] == "Deployment"
    ]
    labels = tracing["spec"]["template"]["metadata"]["labels"]
    selector = policies()["lab-jaeger-ingress"]["podSelector"]["matchLabels"]
    assert selector.items() <= labels.items()


def test_the_policies_are_applied_in_the_cluster(cluster_template, synthesized):
    _, resource = manifest_with(cluster_template, "NetworkPolicy", "lab-kiali-ingress")
    applied = [
        (o["metadata"]["name"], o["spec"]) for o in manifest_objects(resource)
    ]  # (aws-cdk-lib adds its prune label to each object's metadata)
    planned = synthesized.plan.observability.access_objects
    assert applied == [(o["metadata"]["name"], o["spec"]) for o in planned]
    assert len(applied) == 4  # kiali, grafana, prometheus, jaeger


def test_kiali_is_view_only_unless_its_wizards_are_asked_for(cluster_template):
    values = chart_values(helm_chart(cluster_template, "kiali")[1])
    assert values["deployment"]["view_only_mode"] is True
    plan = lab_plan(kialiWizards=True)
    assert plan.observability.kiali.values["deployment"]["view_only_mode"] is False
