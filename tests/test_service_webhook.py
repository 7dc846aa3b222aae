"""The load balancer controller's Service webhook fails closed: nothing that may create a
Service may start before the controller's chart (which waits for its pods) is ready."""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_eks_v2 as eks

from bench.critical_path import dependencies
from constructs import IConstruct
from constructs.barriers import Barrier
from constructs.kubernetes import helm_chart as install
from constructs.service_webhook import (
    controller_chart,
    no_services_evidence,
)
from plan import facts
from plan.charts import HelmRelease
from tests.template_queries import (
    HELM_CHART,
    MANIFEST,
    ancestors,
    helm_chart,
    manifest_objects,
    stack_with_imported_cluster,
)

CONTROLLER_RELEASE = facts.LOAD_BALANCER_CONTROLLER_RELEASE


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


def test_everything_that_may_create_a_service_waits_for_the_controller(any_synthesized):
    # GIVEN every chart and manifest of the cluster stack, and what each waits for
    synthesized = any_synthesized
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


def not_held(
    scope: IConstruct, controller: IConstruct, managed: tuple[IConstruct, ...]
) -> list[str]:
    """The charts and manifests below `scope` that neither wait for `controller` nor declare
    that they create no Service; `managed` are subtrees aws-cdk-lib builds and orders itself."""
    skipped = [c.node.path for c in (controller, *managed)]
    found = []
    for node in scope.node.find_all():
        if not isinstance(node, (eks.HelmChart, eks.KubernetesManifest)):
            continue
        path = node.node.path
        if any(path == p or path.startswith(f"{p}/") for p in skipped):
            continue
        waits_for = {d.node.path for d in node.node.dependencies}
        if controller.node.path not in waits_for and no_services_evidence(node) is None:
            found.append(path)
    return found


def test_every_chart_and_manifest_is_held_by_the_barrier_or_says_why_not(any_synthesized):
    cluster = any_synthesized.lab.cluster
    controller = cluster.cluster.alb_controller
    assert not_held(cluster, controller_chart(controller), (cluster.cluster, controller)) == []


def release(name: str, no_services: str | None = None) -> HelmRelease:
    return HelmRelease(
        "https://charts.example", name, "1.0.0", name, "default", {}, False, no_services
    )


def test_a_chart_made_without_the_barrier_is_found():
    # GIVEN a controller chart, a chart made through the barrier, one that declares it makes
    # no Service, and one made directly without either
    stack, cluster = stack_with_imported_cluster("WebhookProbe")
    controller = eks.HelmChart(stack, "Controller", cluster=cluster, chart="controller")
    webhook = Barrier((controller,))
    held = install(stack, "Held", cluster=cluster, release=release("held"), service_webhook=webhook)
    declared = install(
        stack,
        "Declared",
        cluster=cluster,
        release=release("crds", "a probe chart that renders CustomResourceDefinitions only"),
        service_webhook=webhook,
    )
    eks.HelmChart(stack, "Forgotten", cluster=cluster, chart="forgotten")

    # THEN only the one made directly is reported, and the held one waits in the template
    assert not_held(stack, controller, ()) == ["WebhookProbe/Forgotten"]
    template = cdk.assertions.Template.from_stack(stack).to_json()["Resources"]

    def waits(construct: IConstruct) -> bool:
        logical_id = stack.get_logical_id(construct.node.find_child("Resource").node.default_child)
        return stack.get_logical_id(controller.node.default_child.node.default_child) in set(
            template[logical_id].get("DependsOn", [])
        )

    assert waits(held) and not waits(declared)
