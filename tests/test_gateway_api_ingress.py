"""`-c ingressApi=gateway-api`: Bookinfo behind a Gateway API Gateway that istiod deploys,
on the same kind of NLB as the istio/gateway chart's, deleted while the load balancer
controller still runs and waited for until its Service is gone."""

from __future__ import annotations

import pytest

from bench.critical_path import dependencies
from constructs.cluster_tasks import CRDS_RESOURCE_TYPE, SERVICE_REMOVAL_RESOURCE_TYPE
from plan.ingress import GatewayApiIngress, bind_routes
from tests.template_queries import (
    HELM_CHART,
    OBJECT_VALUE,
    ancestors,
    chart_values,
    helm_chart,
    manifest_objects,
    manifest_with,
    only,
)

GATEWAY_API = "gateway.networking.k8s.io/v1"


@pytest.fixture(scope="module")
def template(synthesized_gateway_api):
    return synthesized_gateway_api.cluster


@pytest.fixture(scope="module")
def namespace(synthesized_gateway_api):
    return synthesized_gateway_api.config.bookinfo_namespace


@pytest.fixture(scope="module")
def routing(template):
    routing_id, resource = manifest_with(template, "HTTPRoute", "bookinfo")
    return routing_id, manifest_objects(resource)


def by_kind(objects, kind, api=None):
    return {
        o["metadata"]["name"]: o
        for o in objects
        if o["kind"] == kind and (api is None or o["apiVersion"] == api)
    }


def test_no_istio_gateway_chart_and_no_istio_gateway(template, routing):
    releases = {r["Properties"]["Release"] for r in template.find_resources(HELM_CHART).values()}
    assert "istio-ingressgateway" not in releases
    _, objects = routing
    assert not by_kind(objects, "Gateway", "networking.istio.io/v1")
    assert not by_kind(objects, "VirtualService")


def test_the_gateway_is_istios_class_listening_on_http_80_in_bookinfos_namespace(
    routing, namespace
):
    _, objects = routing
    gateway = by_kind(objects, "Gateway", GATEWAY_API)["bookinfo-gateway"]
    assert gateway["metadata"]["namespace"] == namespace
    spec = gateway["spec"]
    assert spec["gatewayClassName"] == "istio"
    (listener,) = spec["listeners"]
    assert (listener["name"], listener["port"], listener["protocol"]) == ("http", 80, "HTTP")


def test_its_nlb_is_configured_exactly_as_the_charts(routing, template, cluster_template):
    # The default synth's istio/gateway chart Service and the Service istiod generates for
    # this Gateway (with istiod's defaults for its class) carry the same annotations: the
    # same internet-facing NLB, IP targets, health check.
    _, objects = routing
    gateway = by_kind(objects, "Gateway", GATEWAY_API)["bookinfo-gateway"]
    chart_service = chart_values(helm_chart(cluster_template, "istio-ingressgateway")[1])["service"]
    class_defaults = chart_values(helm_chart(template, "istiod")[1])["gatewayClasses"]
    generated = class_defaults[gateway["spec"]["gatewayClassName"]]["service"]
    # Apart from who may connect: this variant sets allowedCidrs, the default synth none.
    ranges = "service.beta.kubernetes.io/load-balancer-source-ranges"
    generated_annotations = dict(generated["metadata"]["annotations"])
    chart_annotations = dict(chart_service["annotations"])
    assert generated_annotations.pop(ranges) == "81.2.69.160/32,81.2.70.0/24"
    assert chart_annotations.pop(ranges) == "10.0.0.0/16"
    assert generated_annotations == chart_annotations
    # The Gateway adds none of its own: the class defaults are the one source.
    assert "infrastructure" not in gateway["spec"]
    prefix = "service.beta.kubernetes.io/aws-load-balancer"
    # Istio's generated Service exposes the status port 15021 first.
    assert chart_service["annotations"][f"{prefix}-healthcheck-port"] == "15021"


def test_the_route_matches_what_the_virtual_service_matches(routing, cluster_template):
    _, objects = routing
    route = by_kind(objects, "HTTPRoute")["bookinfo"]
    assert route["spec"]["parentRefs"] == [{"name": "bookinfo-gateway", "sectionName": "http"}]
    (rule,) = route["spec"]["rules"]
    _, istio = manifest_with(cluster_template, "VirtualService", "bookinfo")
    (virtual_service,) = [o for o in manifest_objects(istio) if o["kind"] == "VirtualService"]
    (http,) = virtual_service["spec"]["http"]
    kinds = {"exact": "Exact", "prefix": "PathPrefix"}
    expected = [
        {"path": {"type": kinds[kind], "value": value}}
        for match in http["match"]
        for kind, value in match["uri"].items()
    ]
    assert rule["matches"] == expected
    (destination,) = http["route"]
    assert rule["backendRefs"] == [
        {
            "name": destination["destination"]["host"],
            "port": destination["destination"]["port"]["number"],
        }
    ]


def test_bookinfo_url_reads_the_generated_service_and_the_listeners_port(template, namespace):
    value_id, value = only(template.find_resources(OBJECT_VALUE), "object value")
    props = value["Properties"]
    ingress = GatewayApiIngress(namespace=namespace)
    assert (props["ObjectType"], props["ObjectName"], props["ObjectNamespace"]) == (
        "service",
        "bookinfo-gateway-istio",
        namespace,
    )
    assert ingress.service.name == "bookinfo-gateway-istio"
    url = template.find_outputs("BookinfoUrl")["BookinfoUrl"]["Value"]["Fn::Join"][1]
    assert url == ["http://", {"Fn::GetAtt": [value_id, "Value"]}, ":80/productpage"]


def test_the_gateway_goes_while_the_controller_runs_and_its_service_is_waited_for(
    template, routing
):
    graph = dependencies(template.to_json())
    routing_id, _ = routing
    removal_id, _ = only(
        template.find_resources(SERVICE_REMOVAL_RESOURCE_TYPE), "Service removal wait"
    )
    controller_id, _ = helm_chart(template, "aws-load-balancer-controller")
    # Created in this order, deleted in the reverse: the Gateway, then the removal of every
    # LoadBalancer Service (its own among them), then the controller.
    assert removal_id in ancestors(graph, routing_id)
    assert controller_id in ancestors(graph, removal_id)
    istiod_id, _ = helm_chart(template, "istiod")
    assert istiod_id in ancestors(graph, routing_id)


def test_the_crds_come_first_in_this_mode_too(template, routing):
    crds_id, _ = only(template.find_resources(CRDS_RESOURCE_TYPE), "CRDs")
    routing_id, _ = routing
    graph = dependencies(template.to_json())
    assert crds_id in ancestors(graph, routing_id)
    assert crds_id in ancestors(graph, helm_chart(template, "istiod")[0])


def test_the_gateways_pod_counts_in_the_capacity(synthesized_gateway_api):
    plan = synthesized_gateway_api.plan
    pods = {p.what: p for p in plan.pods}
    assert "istio-ingressgateway" not in pods
    assert pods["bookinfo-gateway-istio"].requests == plan.mesh.proxy_requests


def test_a_route_may_not_name_its_own_parents():
    route = {"kind": "HTTPRoute", "metadata": {"name": "x"}, "spec": {"parentRefs": []}}
    with pytest.raises(ValueError, match="parentRefs must not be set"):
        bind_routes([route], GatewayApiIngress(namespace="default"))
