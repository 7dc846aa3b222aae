"""LoadBalancer Services: the load balancer controller claims each by its class or its
annotations, without its Service webhook (so nothing waits for the controller to create a
Service), and on destroy they all go while the controller runs."""

from __future__ import annotations

from typing import Any

from bench.critical_path import dependencies
from constructs.cluster_task_handler.tasks_contract import SERVICE_REMOVAL_RESOURCE_TYPE
from plan import facts
from plan.ingress import NlbSettings
from tests.template_queries import (
    HELM_CHART,
    MANIFEST,
    ancestors,
    chart_values,
    helm_chart,
    literal_values,
    manifest_objects,
    only,
    resources_of_type,
)

CONTROLLER_RELEASE = facts.LOAD_BALANCER_CONTROLLER_RELEASE
NLB_CLASS = "service.k8s.aws/nlb"
EXTERNAL = {"service.beta.kubernetes.io/aws-load-balancer-type": "external"}


def load_balancer_services(values: Any) -> list[dict[str, Any]]:
    """Every mapping in a chart's values that describes a LoadBalancer Service."""
    found = []
    if isinstance(values, dict):
        if values.get("type") == "LoadBalancer":
            found.append(values)
        for value in values.values():
            found.extend(load_balancer_services(value))
    elif isinstance(values, list):
        for value in values:
            found.extend(load_balancer_services(value))
    return found


def values_of(resource: dict[str, Any]) -> Any:
    """A chart's values; for the controller's (which hold the cluster's name and VPC as
    tokens) the literal text around them."""
    if isinstance(resource["Properties"].get("Values", "{}"), str):
        return chart_values(resource)
    return literal_values(resource)


def makes_load_balancers(resource: dict[str, Any]) -> bool:
    """A chart whose values ask for a LoadBalancer Service, or a manifest that applies one or
    a Gateway API Gateway (istiod makes its Service, a LoadBalancer by default)."""
    if resource["Type"] == HELM_CHART:
        values = values_of(resource)
        if isinstance(values, str):
            return '"LoadBalancer"' in values
        # The istio/gateway chart's Service is a LoadBalancer unless its values say otherwise.
        if resource["Properties"].get("Chart") == facts.ISTIO_GATEWAY_CHART:
            return values.get("service", {}).get("type", "LoadBalancer") == "LoadBalancer"
        return bool(load_balancer_services(values))
    if resource["Type"] == MANIFEST and isinstance(resource["Properties"]["Manifest"], str):
        return any(
            (obj["kind"] == "Service" and obj.get("spec", {}).get("type") == "LoadBalancer")
            or (
                obj["kind"] == "Gateway"
                and obj["apiVersion"].startswith("gateway.networking.k8s.io/")
            )
            for obj in manifest_objects(resource)
        )
    return False


def test_the_controller_runs_without_its_service_webhook(cluster_template):
    _, controller = helm_chart(cluster_template, CONTROLLER_RELEASE)
    assert '"enableServiceMutatorWebhook":false' in values_of(controller).replace(" ", "")


def test_every_load_balancer_service_of_a_chart_names_the_controllers_class(any_synthesized):
    template = any_synthesized.cluster.to_json()
    services = [
        service
        for resource in template["Resources"].values()
        if resource["Type"] == HELM_CHART
        for service in load_balancer_services(values_of(resource))
    ]
    for service in services:
        # The class, or the annotation the in-tree cloud provider leaves alone.
        assert (
            service.get("loadBalancerClass") == NLB_CLASS
            or EXTERNAL.items() <= service.get("annotations", {}).items()
        ), service
    assert NlbSettings().load_balancer_class == NLB_CLASS


def test_what_makes_load_balancers_goes_before_their_removal_and_that_before_the_controller(
    any_synthesized,
):
    # GIVEN the cluster stack's resources and what each waits for on create
    template = any_synthesized.cluster.to_json()
    graph = dependencies(template)
    controller_id, _ = helm_chart(any_synthesized.cluster, CONTROLLER_RELEASE)
    removal_id, _ = only(
        resources_of_type(any_synthesized.cluster, SERVICE_REMOVAL_RESOURCE_TYPE),
        "the removal of the LoadBalancer Services",
    )
    makers = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if logical_id != controller_id and makes_load_balancers(resource)
    ]
    # THEN each maker waits for the removal (and so is deleted before it), and the removal
    # waits for the controller (and so runs on delete while the controller still does)
    assert makers, "the ingress gateway makes one in every mode"
    assert [m for m in makers if removal_id not in ancestors(graph, m)] == []
    assert controller_id in ancestors(graph, removal_id)


def test_istiod_does_not_wait_for_the_controller(any_synthesized):
    # Without the fail-closed Service webhook, the control plane starts once the nodes are up.
    graph = dependencies(any_synthesized.cluster.to_json())
    controller_id, _ = helm_chart(any_synthesized.cluster, CONTROLLER_RELEASE)
    istiod_id, _ = helm_chart(any_synthesized.cluster, "istiod")
    assert controller_id not in ancestors(graph, istiod_id)


def test_the_removal_may_ask_cloudformation_whether_the_stack_is_going(cluster_template):
    # Without it every destroy would find the status unknown and remove nothing.
    statements = [
        statement
        for policy in resources_of_type(cluster_template, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "cloudformation:DescribeStacks"
    ]
    assert statements == [
        {
            "Action": "cloudformation:DescribeStacks",
            "Effect": "Allow",
            "Resource": {"Ref": "AWS::StackId"},
        }
    ]


def test_a_chart_that_asks_for_a_load_balancer_is_found():
    chart = {
        "Type": HELM_CHART,
        "Properties": {"Values": '{"gateway": {"service": {"type": "LoadBalancer"}}}'},
    }
    plain = {"Type": HELM_CHART, "Properties": {"Values": '{"service": {"type": "ClusterIP"}}'}}
    gateway = {"Type": HELM_CHART, "Properties": {"Chart": "gateway", "Values": '{"labels": {}}'}}
    egress = {
        "Type": HELM_CHART,
        "Properties": {"Chart": "gateway", "Values": '{"service": {"type": "ClusterIP"}}'},
    }
    assert makes_load_balancers(chart) and makes_load_balancers(gateway)
    assert not makes_load_balancers(plain) and not makes_load_balancers(egress)
