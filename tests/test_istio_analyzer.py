"""The Istio analyzer: the lab's config is clean, and each rule catches its mistake."""

from __future__ import annotations

import copy

import pytest

from checks.istio_analyzer import AnalysisError
from tests.istio_objects import NAMESPACE, analyzer_messages, lab_objects, lab_plan
from tests.template_queries import MANIFEST, as_written, manifest_objects


@pytest.fixture
def objects():
    """The lab's Bookinfo and routing objects, as the constructs apply them."""
    return lab_objects()


def find(objects, kind, name):
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def test_the_labs_config_has_no_findings(objects):
    assert analyzer_messages(objects) == []


def test_every_synthesized_variant_applies_what_its_plan_analyzed(any_synthesized):
    # build_plan ran the analyzer on the plan's objects: the stacks apply exactly those.
    manifests = any_synthesized.cluster.find_resources(MANIFEST)
    applied = [
        obj
        for prefix in ("BookinfoApp", "RoutingResources", "RoutingScenario")
        for logical_id, resource in sorted(manifests.items())
        if logical_id.startswith(prefix)
        for obj in manifest_objects(resource)
    ]
    assert [as_written(o) for o in applied] == [
        as_written(o) for o in any_synthesized.plan.analyzed_objects
    ]


def test_gateway_port_not_on_the_service_is_ist0162(objects):
    """The seed story's failure: a Gateway on a port the gateway's Service does not expose
    (there, 8080 behind 80 and 443)."""
    find(objects, "Gateway", "bookinfo-gateway")["spec"]["servers"][0]["port"]["number"] = 8000
    assert analyzer_messages(objects) == [
        "Gateway default/bookinfo-gateway: port 8000 is not a port or targetPort of the "
        "gateway Service istio-system/istio-ingressgateway (15021->15021, 80->8080, "
        "443->8443, 31400->31400, 15443->15443) [IST0162]"
    ]


def test_a_gateway_on_the_service_port_is_accepted(objects):
    # istiod maps a server port that is a port of the gateway's Service to its targetPort,
    # which is why the docs' Gateways on 80 and Bookinfo's on 8080 both work.
    find(objects, "Gateway", "bookinfo-gateway")["spec"]["servers"][0]["port"]["number"] = 80
    assert analyzer_messages(objects) == []


def test_gateway_selector_matching_no_gateway_pods(objects):
    find(objects, "Gateway", "bookinfo-gateway")["spec"]["selector"] = {"istio": "ingress"}
    assert analyzer_messages(objects) == [
        "Gateway default/bookinfo-gateway: selector istio=ingress matches no gateway pods "
        "(gateway pod labels: app=istio-ingressgateway,istio=ingressgateway; "
        "app=istio-egressgateway,istio=egressgateway) [IST0101]"
    ]


def test_destination_host_that_is_no_service(objects):
    route = find(objects, "VirtualService", "bookinfo")["spec"]["http"][0]["route"][0]
    route["destination"]["host"] = "product-page"
    assert analyzer_messages(objects) == [
        "VirtualService default/bookinfo: destination host product-page is not a Service of "
        "the lab (nor a host declared by a ServiceEntry) [IST0101]"
    ]


def test_an_external_host_declared_by_a_service_entry_is_accepted(objects):
    find(objects, "VirtualService", "bookinfo")["spec"]["http"].append(
        {"route": [{"destination": {"host": "www.googleapis.com"}}]}
    )
    objects.append(
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "ServiceEntry",
            "metadata": {"name": "googleapis", "namespace": NAMESPACE},
            "spec": {"hosts": ["www.googleapis.com"], "location": "MESH_EXTERNAL"},
        }
    )
    assert analyzer_messages(objects) == []


def test_subset_without_a_destination_rule_is_ist0101(objects):
    route = find(objects, "VirtualService", "bookinfo")["spec"]["http"][0]["route"][0]
    route["destination"]["subset"] = "v2"
    assert analyzer_messages(objects) == [
        "VirtualService default/bookinfo: subset v2 of host productpage is not defined by any "
        "DestinationRule [IST0101]"
    ]


def test_subsets_resolve_fully_qualified_hosts(objects):
    route = find(objects, "VirtualService", "bookinfo")["spec"]["http"][0]["route"][0]
    route["destination"]["host"] = "productpage.default.svc.cluster.local"
    route["destination"]["subset"] = "v1"
    assert analyzer_messages(objects) == []


def test_subset_selecting_no_deployment(objects):
    rule = find(objects, "DestinationRule", "reviews")
    rule["spec"]["subsets"].append({"name": "v4", "labels": {"version": "v4"}})
    assert analyzer_messages(objects) == [
        "DestinationRule default/reviews: subset v4 (app=reviews,version=v4) selects no "
        "Deployment; deploy one or list the subset as reserved [LAB002]"
    ]


def test_reserved_subsets_are_exempt_only_while_listed(objects):
    unreserved = {"ratings": {"v2", "v2-mysql"}}
    assert analyzer_messages(objects, reserved=unreserved) == [
        "DestinationRule default/ratings: subset v2-mysql-vm (app=ratings,version=v2-mysql-vm) "
        "selects no Deployment; deploy one or list the subset as reserved [LAB002]",
        "DestinationRule default/details: subset v2 (app=details,version=v2) selects no "
        "Deployment; deploy one or list the subset as reserved [LAB002]",
    ]


def test_virtual_service_naming_a_missing_gateway(objects):
    find(objects, "VirtualService", "bookinfo")["spec"]["gateways"] = ["bookinfo-gw"]
    assert analyzer_messages(objects) == [
        "VirtualService default/bookinfo: gateway bookinfo-gw is not a Gateway of the lab [IST0101]"
    ]


def test_gateway_in_another_namespace_is_looked_up_there(objects):
    find(objects, "VirtualService", "bookinfo")["spec"]["gateways"] = [
        "istio-ingress/bookinfo-gateway"
    ]
    assert analyzer_messages(objects) == [
        "VirtualService default/bookinfo: gateway istio-ingress/bookinfo-gateway is not a "
        "Gateway of the lab [IST0101]"
    ]


def test_wildcard_host_on_a_mesh_route(objects):
    service = find(objects, "VirtualService", "bookinfo")
    mesh_copy = copy.deepcopy(service)
    mesh_copy["metadata"]["name"] = "everything"
    del mesh_copy["spec"]["gateways"]
    objects.append(mesh_copy)
    assert analyzer_messages(objects) == [
        'VirtualService default/everything: host "*" is only valid on routes bound to a '
        "Gateway, not on mesh routes [LAB001]"
    ]


def test_synth_fails_with_one_line_per_finding(objects):
    find(objects, "Gateway", "bookinfo-gateway")["spec"]["servers"][0]["port"]["number"] = 8000
    find(objects, "VirtualService", "bookinfo")["spec"]["gateways"] = ["nowhere"]
    with pytest.raises(AnalysisError) as raised:
        raise AnalysisError(lab_plan().findings(objects))
    assert [line.split(":")[0] for line in raised.value.problems] == [
        "Gateway default/bookinfo-gateway",
        "VirtualService default/bookinfo",
    ]
    assert all("\n" not in line for line in raised.value.problems)


def test_a_misspelt_field_is_reported_before_anything_else(objects):
    route = find(objects, "VirtualService", "bookinfo")["spec"]["http"][0]["route"][0]
    route["destinaton"] = route.pop("destination")
    assert analyzer_messages(objects) == [
        "VirtualService default/bookinfo: unknown field spec.http[0].route[0].destinaton [LAB003]"
    ]


def test_fault_injection_fields_are_known(objects):
    find(objects, "VirtualService", "bookinfo")["spec"]["http"][0]["fault"] = {
        "delay": {"fixedDelay": "7s", "percentage": {"value": 100.0}},
        "abort": {"httpStatus": 500, "percentage": {"value": 100.0}},
    }
    assert analyzer_messages(objects) == []
    find(objects, "VirtualService", "bookinfo")["spec"]["http"][0]["fault"]["delay"]["fixed"] = 1
    assert analyzer_messages(objects) == [
        "VirtualService default/bookinfo: unknown field spec.http[0].fault.delay.fixed [LAB003]"
    ]


def test_an_istio_kind_without_a_description_is_reported(objects):
    objects.append(
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "Sidecar",
            "metadata": {"name": "default", "namespace": NAMESPACE},
            "spec": {},
        }
    )
    assert analyzer_messages(objects) == [
        "Sidecar default/default: kind Sidecar is not described in checks/istio_fields.py [LAB003]"
    ]


def test_a_value_of_the_wrong_shape_is_reported(objects):
    find(objects, "DestinationRule", "reviews")["spec"]["subsets"] = {"name": "v1"}
    assert analyzer_messages(objects) == [
        "DestinationRule default/reviews: spec.subsets must be a list [LAB003]"
    ]
