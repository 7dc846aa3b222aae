"""`make repair`: a new `repair` value updates every Kubernetes custom resource of the cluster
stack in place (one property changes) and nothing else."""

from __future__ import annotations

import datetime
import json

import pytest

from constructs.kubernetes_resources import KUBERNETES_RESOURCE_TYPES
from constructs.repair import REPAIR_PROPERTY
from plan.config import ConfigError, LabConfig
from scripts import cdk_json
from tests.conftest import cdk_json_context, synthesize

FIRST, SECOND = "2026-12-01T10-00-00Z", "2026-12-02T10-00-00Z"


@pytest.fixture(scope="module")
def repaired(tmp_path_factory):
    """The templates of two repairs, as JSON."""
    out = {}
    for value in (FIRST, SECOND):
        lab = synthesize({**cdk_json_context(), "repair": value}, tmp_path_factory.mktemp(value))
        out[value] = {"network": lab.network.to_json(), "cluster": lab.cluster.to_json()}
    return out


def test_two_repairs_differ_in_every_kubernetes_resource_and_nowhere_else(repaired):
    first, second = repaired[FIRST], repaired[SECOND]
    assert first["network"] == second["network"]
    before, after = first["cluster"], second["cluster"]
    assert set(before) == set(after)
    assert {k: v for k, v in before.items() if k != "Resources"} == {
        k: v for k, v in after.items() if k != "Resources"
    }
    resources, changed = before["Resources"], after["Resources"]
    assert set(resources) == set(changed)
    differing = {i for i in resources if resources[i] != changed[i]}
    kubernetes = {i for i, r in resources.items() if r["Type"] in KUBERNETES_RESOURCE_TYPES}
    assert differing == kubernetes
    # Charts, manifests, patches and the lab's own tasks are all among them.
    types = {resources[i]["Type"] for i in differing}
    assert {"Custom::AWSCDK-EKS-HelmChart", "Custom::AWSCDK-EKS-KubernetesResource",
            "Custom::GatewayApiCrds", "Custom::StaleRoutes"} <= types  # fmt: skip
    for logical_id in differing:
        old, new = resources[logical_id], changed[logical_id]
        assert old["Properties"].pop(REPAIR_PROPERTY) == FIRST
        assert new["Properties"].pop(REPAIR_PROPERTY) == SECOND
        assert old == new, logical_id


def test_the_cluster_nodes_iam_and_vpc_are_never_among_them(repaired):
    resources = repaired[FIRST]["cluster"]["Resources"]
    for resource in resources.values():
        if resource["Type"].startswith("AWS::"):
            assert REPAIR_PROPERTY not in resource.get("Properties", {}), resource["Type"]


def test_a_lab_never_repaired_has_no_repair_property(cluster_template):
    assert REPAIR_PROPERTY not in json.dumps(cluster_template.to_json())


def test_a_bad_repair_value_is_one_line():
    with pytest.raises(ConfigError) as caught:
        LabConfig.from_context({"repair": "now please"})
    assert caught.value.problems == [
        "context repair='now please': expected up to 64 letters, digits, '.', ':', '_' or '-' "
        "(make repair sets it)"
    ]


def test_make_repair_writes_a_new_value_a_synth_accepts(tmp_path, monkeypatch, capsys):
    (tmp_path / "cdk.json").write_text(json.dumps({"app": "x", "context": {"repair": ""}}))
    monkeypatch.chdir(tmp_path)
    assert cdk_json.main(["repair"]) == 0
    value = json.loads((tmp_path / "cdk.json").read_text())["context"]["repair"]
    assert LabConfig.from_context({"repair": value}).repair == value
    assert capsys.readouterr().out == f"cdk.json: repair={value}\n"
    moment = datetime.datetime(2026, 12, 2, 4, 5, 6, tzinfo=datetime.UTC)
    assert cdk_json.new_repair_value(moment) == "2026-12-02T04-05-06Z"
