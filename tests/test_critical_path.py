"""The critical-path calculator of `make bench`, on small hand-made templates."""

from __future__ import annotations

import json

import pytest

from bench.critical_path import critical_path, dependencies, longest_path, references
from bench.durations import HELM_WAIT_MINUTES, weigher
from tests.template_queries import HELM_CHART, MANIFEST, ancestors, helm_chart, resources_of_type


def template(**resources):
    """Resources given as name=(type, depends_on, properties)."""
    return {
        "Resources": {
            name: {"Type": kind, "DependsOn": list(depends), "Properties": props}
            for name, (kind, depends, props) in resources.items()
        }
    }


MINUTES = {"Slow": 10.0, "Medium": 3.0, "Fast": 1.0}


def by_type(_logical_id, resource):
    return MINUTES[resource["Type"]]


def chain_of(path):
    return [logical_id for logical_id, _ in path.chain]


def test_a_chain_adds_up():
    t = template(A=("Fast", [], {}), B=("Medium", ["A"], {}), C=("Slow", ["B"], {}))
    path = critical_path(t, by_type)
    assert path.minutes == 14.0
    assert chain_of(path) == ["A", "B", "C"]


def test_a_diamond_takes_the_heavier_side():
    #   A -> B(slow) -> D
    #    \-> C(fast) -/
    t = template(
        A=("Fast", [], {}),
        B=("Slow", ["A"], {}),
        C=("Fast", ["A"], {}),
        D=("Medium", ["B", "C"], {}),
    )
    path = critical_path(t, by_type)
    assert path.minutes == 1 + 10 + 3
    assert chain_of(path) == ["A", "B", "D"]


def test_parallel_branches_cost_only_the_longest():
    t = template(
        Root=("Fast", [], {}),
        Left1=("Medium", ["Root"], {}),
        Left2=("Medium", ["Left1"], {}),
        Right=("Slow", ["Root"], {}),
        Lone=("Medium", [], {}),
    )
    path = critical_path(t, by_type)
    assert path.minutes == 11.0
    assert chain_of(path) == ["Root", "Right"]


def test_deletion_runs_the_graph_backwards():
    t = template(A=("Slow", [], {}), B=("Fast", ["A"], {}), C=("Medium", ["B"], {}))
    path = critical_path(t, by_type, deleting=True)
    assert chain_of(path) == ["C", "B", "A"]
    assert path.minutes == 14.0


def test_references_are_dependencies_too():
    t = template(
        Role=("Fast", [], {}),
        Bucket=("Fast", [], {}),
        Queue=("Fast", [], {}),
        Function=(
            "Slow",
            [],
            {
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Env": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}"},
                "Dlq": {"Fn::Join": ["", [{"Ref": "Queue"}, {"Ref": "AWS::Region"}]]},
            },
        ),
    )
    assert dependencies(t)["Function"] == {"Role", "Bucket", "Queue"}


def test_reference_reader_handles_every_form():
    assert references({"Fn::GetAtt": "Role.Arn"}) == {"Role"}
    assert references({"Fn::Sub": ["${Thing.Attr}-${Var}", {"Var": {"Ref": "Other"}}]}) == {
        "Thing",
        "Var",
        "Other",
    }


def test_a_cycle_is_reported():
    with pytest.raises(ValueError, match="cycle"):
        longest_path({"A": {"B"}, "B": {"A"}}, {"A": 1.0, "B": 1.0})


def test_helm_charts_that_wait_weigh_more_on_create_only():
    waiting = {"Type": "Custom::AWSCDK-EKS-HelmChart", "Properties": {"Wait": True}}
    plain = {"Type": "Custom::AWSCDK-EKS-HelmChart", "Properties": {}}
    create, delete = weigher(None, deleting=False), weigher(None, deleting=True)
    assert create("Istiod", waiting) == HELM_WAIT_MINUTES
    assert create("Base", plain) < HELM_WAIT_MINUTES
    assert delete("Istiod", waiting) == delete("Base", plain)


def test_nested_stacks_weigh_their_own_critical_path(tmp_path):
    nested = template(A=("AWS::EKS::Nodegroup", [], {}), B=("AWS::EKS::Nodegroup", ["A"], {}))
    (tmp_path / "inner.nested.template.json").write_text(json.dumps(nested))
    stack = {
        "Type": "AWS::CloudFormation::Stack",
        "Metadata": {"aws:asset:path": "inner.nested.template.json"},
        "Properties": {},
    }
    minutes = weigher(tmp_path, deleting=False)("Nested", stack)
    assert minutes == pytest.approx(3.5 * 2 + 0.3)


def test_the_lab_keeps_observability_and_bookinfo_off_the_gateway(cluster_template):
    """Kiali, Prometheus and Bookinfo must not wait on the gateway; of the charts, the gateway
    waits only on istiod (and on the removal of the LoadBalancer Services, which waits for
    the controller)."""
    graph = dependencies(cluster_template.to_json())
    resources = cluster_template.to_json()["Resources"]

    def release(name):
        return helm_chart(cluster_template, name)[0]

    gateway = release("istio-ingressgateway")
    for name in ("prometheus", "kiali"):
        assert gateway not in ancestors(graph, release(name))
    for lid, r in resources.items():
        if r["Type"] == MANIFEST and "bookinfo" in lid.lower():
            assert gateway not in ancestors(graph, lid)
    istiod, controller = release("istiod"), release("aws-load-balancer-controller")
    charts = set(resources_of_type(cluster_template, HELM_CHART))
    assert graph[gateway] & charts == {istiod}
    assert controller in ancestors(graph, gateway)
