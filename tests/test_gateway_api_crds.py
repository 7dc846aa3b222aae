"""The Gateway API's CRDs: pinned files of the release Istio 1.31 builds against, applied
before istiod in either ingress mode, by a function in the private subnets with its own access."""

from __future__ import annotations

import json
import re

import pytest

from bench.critical_path import dependencies
from constructs.cluster_tasks import CRD_REMOVAL_RESOURCE_TYPE, CRDS_RESOURCE_TYPE
from plan import facts
from plan.config import ConfigError, LabConfig
from plan.facts import GATEWAY_API_SOURCE, GATEWAY_API_VERSION
from plan.gateway_api import EXPERIMENTAL_CHANNEL, SAFE_UPGRADES, STANDARD_CHANNEL
from tests.template_queries import ancestors, chart_values, helm_chart, only


def crds_resource(template):
    return only(template.find_resources(CRDS_RESOURCE_TYPE), "Gateway API CRDs")


def test_every_file_of_the_standard_channel_is_pinned_by_its_sha256(cluster_template):
    _, resource = crds_resource(cluster_template)
    files = resource["Properties"]["Files"]
    assert GATEWAY_API_VERSION.startswith("v1.6.")
    assert [f["Url"] for f in files] == [
        GATEWAY_API_SOURCE.format(version=GATEWAY_API_VERSION, channel="standard", file=p.file)
        for p in STANDARD_CHANNEL
    ]
    for pinned in files:
        assert pinned["Url"].startswith(
            f"https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/{GATEWAY_API_VERSION}/"
            "config/crd/standard/"
        )
        assert re.fullmatch(r"[0-9a-f]{64}", pinned["Sha256"])
    crds = {c for f in files for c in f["Crds"]}
    # The kinds Istio's Gateway API support and the Tasks' tabs use.
    for kind in ("gatewayclasses", "gateways", "httproutes", "grpcroutes", "referencegrants",
                 "tcproutes", "tlsroutes", "backendtlspolicies"):  # fmt: skip
        assert f"{kind}.gateway.networking.k8s.io" in crds
    # Every object applied is one that delete removes.
    assert {f"crd/{c}" for c in crds} <= set(resource["Properties"]["Objects"])


def test_the_crds_come_before_istiod_and_go_after_it(cluster_template):
    crds_id, _ = crds_resource(cluster_template)
    istiod_id, _ = helm_chart(cluster_template, "istiod")
    assert crds_id in ancestors(dependencies(cluster_template.to_json()), istiod_id)


def test_the_function_runs_in_the_vpc_with_the_clusters_kubectl_layer(
    cluster_template, synthesized
):
    _, resource = crds_resource(cluster_template)
    token = json.dumps(resource["Properties"]["ServiceToken"])
    functions = cluster_template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "index.on_event"}}
    )
    tasks = {logical_id: f for logical_id, f in functions.items() if "ClusterTasks" in logical_id}
    ((handler_id, handler),) = tasks.items()
    # in the VPC (tests/test_cluster_stack.py checks its subnets and security group)
    assert "VpcConfig" in handler["Properties"]
    layers = cluster_template.find_resources("AWS::Lambda::LayerVersion")
    (layer_id,) = [
        i
        for i, layer in layers.items()
        if f"/opt/kubectl/kubectl {synthesized.config.kubernetes_version}."
        in layer["Properties"]["Description"]
    ]
    assert handler["Properties"]["Layers"] == [{"Ref": layer_id}]
    assert "ClusterTasksProvider" in token


def test_the_function_acts_through_an_access_entry_created_first(cluster_template):
    crds_id, _ = crds_resource(cluster_template)
    entries = {
        i: e
        for i, e in cluster_template.find_resources("AWS::EKS::AccessEntry").items()
        if "ClusterTasks" in json.dumps(e["Properties"]["PrincipalArn"])
    }
    ((entry_id, entry),) = entries.items()
    assert "AmazonEKSClusterAdminPolicy" in json.dumps(entry["Properties"]["AccessPolicies"])
    assert entry_id in ancestors(dependencies(cluster_template.to_json()), crds_id)


def test_the_experimental_channel_pins_the_same_crds_with_its_own_files():
    standard = {c for f in STANDARD_CHANNEL for c in f.crds}
    experimental = {c for f in EXPERIMENTAL_CHANNEL for c in f.crds}
    assert standard < experimental
    assert {c.split(".", 1)[1] for c in experimental - standard} == {
        facts.GATEWAY_API_EXPERIMENTAL_GROUP
    }
    assert not {f.sha256 for f in STANDARD_CHANNEL} & {f.sha256 for f in EXPERIMENTAL_CHANNEL}
    assert {f.channel for f in EXPERIMENTAL_CHANNEL} == {"experimental"}
    # Both ship the safe-upgrades policy under the same names.
    assert [f.objects for f in STANDARD_CHANNEL if "vap" in f.file] == [
        f.objects for f in EXPERIMENTAL_CHANNEL if "vap" in f.file
    ]


def test_every_apply_replaces_the_policy_which_the_files_create_last(cluster_template):
    # A rollback to an earlier pin (CloudFormation's, after a later failure) applies older
    # CRDs, which a newer policy refuses: the policy goes first and comes back last.
    _, resource = crds_resource(cluster_template)
    properties = resource["Properties"]
    assert properties["Replaces"] == list(SAFE_UPGRADES)
    for channel in (STANDARD_CHANNEL, EXPERIMENTAL_CHANNEL):
        (policy,) = [i for i, f in enumerate(channel) if set(f.objects) == set(SAFE_UPGRADES)]
        # Every CRD the policy judges (its group's) is applied before it.
        judged = [
            i
            for i, f in enumerate(channel)
            for crd in f.crds
            if crd.endswith(f".{facts.GATEWAY_API_GROUP}")
        ]
        assert judged and max(judged) < policy
    env = chart_values(helm_chart(cluster_template, "istiod")[1]).get("env", {})
    assert "PILOT_ENABLE_ALPHA_GATEWAY_API" not in env


def test_the_experimental_channel_replaces_the_policy_and_turns_on_istiods_alpha_kinds(
    synthesized_gateway_api,
):
    template = synthesized_gateway_api.cluster
    _, resource = crds_resource(template)
    properties = resource["Properties"]
    assert [f["Url"] for f in properties["Files"]] == [
        GATEWAY_API_SOURCE.format(version=GATEWAY_API_VERSION, channel="experimental", file=p.file)
        for p in EXPERIMENTAL_CHANNEL
    ]
    assert "crd/tcproutes.gateway.networking.k8s.io" in properties["Objects"]
    assert properties["Replaces"] == list(SAFE_UPGRADES)
    assert set(SAFE_UPGRADES) <= set(properties["Objects"])
    env = chart_values(helm_chart(template, "istiod")[1])["env"]
    assert env["PILOT_ENABLE_ALPHA_GATEWAY_API"] == "true"


def test_a_bad_channel_is_one_line():
    with pytest.raises(ConfigError) as caught:
        LabConfig.from_context({"gatewayApiChannel": "alpha"})
    assert caught.value.problems == [
        "context gatewayApiChannel='alpha': valid channels are standard, experimental"
    ]


def test_the_crds_are_deleted_before_the_controller_and_after_the_routing(
    cluster_template, synthesized
):
    # Deleting the CRDs deletes every Gateway (a Task's too): their Services' NLBs go only
    # while the load balancer controller runs.
    graph = dependencies(cluster_template.to_json())
    (removal_id,) = cluster_template.find_resources(CRD_REMOVAL_RESOURCE_TYPE)
    crds_id, _ = crds_resource(cluster_template)
    controller_id, _ = helm_chart(cluster_template, "aws-load-balancer-controller")
    before_removal = ancestors(graph, removal_id)
    assert {crds_id, controller_id} <= before_removal
    # On create the CRDs still wait for nothing of the controller's: istiod starts early.
    assert controller_id not in ancestors(graph, crds_id)
    # Every routing manifest is created after the removal, so it is deleted before it.
    routing = [
        i
        for i in cluster_template.find_resources("Custom::AWSCDK-EKS-KubernetesResource")
        if i.startswith("Routing")
    ]
    assert routing
    for logical_id in routing:
        assert removal_id in ancestors(graph, logical_id), logical_id
    ((_, removal),) = cluster_template.find_resources(CRD_REMOVAL_RESOURCE_TYPE).items()
    _, crds = crds_resource(cluster_template)
    assert removal["Properties"]["Objects"] == crds["Properties"]["Objects"]
