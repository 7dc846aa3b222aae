"""The load balancer controller's Service webhook fails closed: nothing that may create a
Service may start before the controller's chart (which waits for its pods) is ready."""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_eks_v2 as eks

from bench.critical_path import dependencies
from constructs import Construct, IConstruct
from constructs.service_webhook import (
    WaitForServiceWebhook,
    creates_no_services,
    no_services_evidence,
)
from tests.template_queries import (
    HELM_CHART,
    MANIFEST,
    ancestors,
    helm_chart,
    manifest_objects,
    stack_with_imported_cluster,
)

CONTROLLER_RELEASE = "aws-load-balancer-controller"


def kubectl_constructs(stack: cdk.Stack) -> dict[str, IConstruct]:
    """Logical id -> the HelmChart or KubernetesManifest construct that renders it (its
    CfnResource is <construct>/Resource/Default)."""
    found = {}
    for construct in stack.node.find_all():
        if isinstance(construct, (eks.HelmChart, eks.KubernetesManifest)):
            resource = construct.node.find_child("Resource").node.default_child
            found[cdk.Stack.of(resource).get_logical_id(resource)] = construct
    return found


def creates_a_service(obj: dict[str, Any]) -> bool:
    """A Service, or a Gateway API Gateway (istiod creates its Service)."""
    return obj["kind"] == "Service" or (
        obj["kind"] == "Gateway" and obj["apiVersion"].startswith("gateway.networking.k8s.io/")
    )


def applies_a_service(resource: dict[str, Any]) -> bool:
    manifest = resource["Properties"]["Manifest"]
    if isinstance(manifest, str):
        return any(creates_a_service(obj) for obj in manifest_objects(resource))
    # With tokens inside (aws-cdk-lib's own manifests: ARNs), the manifest is an Fn::Join
    # whose literal parts still carry every kind.
    literal = "".join(p for p in manifest["Fn::Join"][1] if isinstance(p, str))
    return re.search(r'"kind":\s*"Service"', literal) is not None


@pytest.mark.parametrize(
    "variant",
    [
        "synthesized",
        "synthesized_gateway_api",
        "synthesized_ambient",
    ],
)
def test_everything_that_may_create_a_service_waits_for_the_controller(request, variant):
    # GIVEN every chart and manifest of the cluster stack, and what each waits for
    synthesized = request.getfixturevalue(variant)
    cluster_template = synthesized.cluster
    template = cluster_template.to_json()
    graph = dependencies(template)
    controller_id, _ = helm_chart(cluster_template, CONTROLLER_RELEASE)
    constructs = kubectl_constructs(synthesized.lab.cluster)

    # WHEN one may create a Service: a manifest whose objects include one, or any chart that
    # does not declare (with its evidence) that it never creates one
    may_create = []
    for logical_id, resource in template["Resources"].items():
        if (
            resource["Type"] == MANIFEST
            and applies_a_service(resource)
            or (
                resource["Type"] == HELM_CHART
                and logical_id != controller_id
                and no_services_evidence(constructs[logical_id]) is None
            )
        ):
            may_create.append(logical_id)

    # THEN it is created after the controller's chart
    assert len(may_create) >= 5  # istiod, the gateway, Prometheus, Kiali, Bookinfo at least
    early = [i for i in may_create if controller_id not in ancestors(graph, i)]
    assert not early, f"may create a Service before the controller is ready: {early}"


def test_only_what_never_creates_a_service_skips_the_wait(cluster_template, synthesized):
    # Every declaration is checked against what can be known here (a manifest's objects);
    # a chart's is checked by hand with `helm template` and says so.
    resources = cluster_template.to_json()["Resources"]
    declared = {}
    for logical_id, construct in kubectl_constructs(synthesized.lab.cluster).items():
        evidence = no_services_evidence(construct)
        if evidence is not None:
            declared[logical_id] = (resources[logical_id], evidence)
    for logical_id, (resource, evidence) in declared.items():
        # A manifest's objects are known: a declaration cannot contradict them.
        if resource["Type"] == MANIFEST:
            assert not applies_a_service(resource), logical_id
        assert len(evidence) > 40, f"{logical_id}: say how it was established"
    # istio/base (CRDs and webhooks) installs while the nodes and the controller come up.
    base_id, _ = helm_chart(cluster_template, "istio-base")
    controller_id, _ = helm_chart(cluster_template, CONTROLLER_RELEASE)
    assert base_id in declared
    assert controller_id not in ancestors(dependencies(cluster_template.to_json()), base_id)


def chart(scope: Construct, construct_id: str, cluster: eks.ICluster) -> eks.HelmChart:
    return eks.HelmChart(scope, construct_id, cluster=cluster, chart=construct_id.lower())


def test_a_chart_added_later_waits_without_being_told():
    # GIVEN a stack with a controller chart, the aspect, and three charts added afterwards:
    # one plain, one declaring it creates no Service, one inside a subtree CDK manages
    stack, cluster = stack_with_imported_cluster("WebhookProbe")
    controller = chart(stack, "Controller", cluster)
    managed = Construct(stack, "Managed")
    cdk.Aspects.of(stack).add(WaitForServiceWebhook(controller, cdk_managed=(managed,)))
    plain = chart(stack, "Plain", cluster)
    crds_only = chart(stack, "CrdsOnly", cluster)
    creates_no_services(crds_only, "a probe chart that renders CustomResourceDefinitions only")
    inside = chart(managed, "Inside", cluster)
    manifest = eks.KubernetesManifest(stack, "Manifest", cluster=cluster, manifest=[{}])

    # WHEN the stack is synthesized
    template = cdk.assertions.Template.from_stack(stack).to_json()["Resources"]

    def waits(construct: IConstruct) -> bool:
        logical_id = stack.get_logical_id(construct.node.find_child("Resource").node.default_child)
        return stack.get_logical_id(controller.node.default_child.node.default_child) in set(
            template[logical_id].get("DependsOn", [])
        )

    # THEN the plain chart and the manifest wait for the controller; the others do not
    assert waits(plain) and waits(manifest)
    assert not waits(crds_only) and not waits(inside) and not waits(controller)
