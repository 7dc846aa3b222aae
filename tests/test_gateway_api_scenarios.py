"""The traffic scenarios in Gateway API form (`ingressApi=gateway-api`): the same scenarios,
routing exactly as their Istio API form does, checked by the analyzer's Gateway API rules."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Template

from constructs.bookinfo_routing import (
    GATEWAY_API_SCENARIOS_DIR,
    SCENARIOS_DIR,
    BookinfoRouting,
    BookinfoRoutingProps,
    scenario_names,
    scenario_objects,
)
from constructs.ingress_gateway import GatewayApiIngress
from tests.istio_objects import NAMESPACE, analyzer_messages
from tests.istio_objects import lab_objects as any_lab_objects
from tests.scenario_routing import gateway_api_routing, istio_routing
from tests.template_queries import MANIFEST, stack_with_imported_cluster

INGRESS = GatewayApiIngress(namespace=NAMESPACE)
SCENARIOS = scenario_names()
SERVICES = ("productpage", "details", "reviews", "ratings")


def lab_objects(scenario: str) -> list[dict]:
    return any_lab_objects(scenario, ingress=INGRESS)


def messages(objects) -> list[str]:
    return analyzer_messages(objects, ingress=INGRESS)


def find(objects, kind, name):
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def test_both_forms_have_the_same_scenarios():
    istio = sorted(p.stem for p in SCENARIOS_DIR.glob("*.yaml"))
    gateway_api = sorted(p.stem for p in GATEWAY_API_SCENARIOS_DIR.glob("*.yaml"))
    assert istio == gateway_api == sorted(SCENARIOS)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_passes_the_analyzer(scenario):
    assert messages(lab_objects(scenario)) == []


def test_every_scenario_defines_the_same_objects():
    # kubectl's pruning skips Istio and Gateway API kinds: a switch must update, not leave.
    def identities(scenario):
        return sorted(
            (o["kind"], o["metadata"]["name"])
            for o in scenario_objects(scenario, folder=GATEWAY_API_SCENARIOS_DIR)
        )

    first = identities(SCENARIOS[0])
    assert all(identities(s) == first for s in SCENARIOS)
    # ratings stays a VirtualService in every scenario (its faults have no Gateway API form),
    # and no HTTPRoute claims it.
    assert ("VirtualService", "ratings") in first and ("HTTPRoute", "ratings") not in first


# --- Both forms route alike -------------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_each_scenario_routes_as_its_istio_form(scenario):
    istio = istio_routing(scenario_objects(scenario))
    gateway_api = gateway_api_routing(scenario_objects(scenario, folder=GATEWAY_API_SCENARIOS_DIR))
    assert set(gateway_api) == set(istio) == set(SERVICES)
    assert gateway_api == istio


def test_the_table_tells_the_forms_apart():
    # The comparison above can fail: two different scenarios do not compare equal.
    assert gateway_api_routing(
        scenario_objects("reviews-v3", folder=GATEWAY_API_SCENARIOS_DIR)
    ) != istio_routing(scenario_objects("reviews-50-v3"))


def test_switching_scenarios_is_an_in_place_update_of_one_resource():
    def manifests(scenario):
        stack, cluster = stack_with_imported_cluster("GatewayApiRouting")
        BookinfoRouting(
            stack,
            "Routing",
            props=BookinfoRoutingProps(
                cluster=cluster, namespace=NAMESPACE, ingress=INGRESS, scenario=scenario, after=()
            ),
        )
        return Template.from_stack(stack).find_resources(MANIFEST)

    before, after = manifests("round-robin"), manifests("reviews-timeout")
    assert set(before) == set(after)
    (changed,) = {lid for lid in before if before[lid] != after[lid]}
    assert changed.startswith("RoutingScenario")


# --- The analyzer's Gateway API rules catch their mistakes ---------------------------------


@pytest.fixture
def objects():
    return lab_objects("reviews-jason-v2")


def test_a_parent_service_that_does_not_exist_is_lab004(objects):
    find(objects, "HTTPRoute", "reviews")["spec"]["parentRefs"][0]["name"] = "review"
    assert messages(objects) == [
        "HTTPRoute default/reviews: parent Service review is not a Service of the lab [LAB004]"
    ]


def test_a_parent_listener_that_does_not_exist_is_lab004(objects):
    find(objects, "HTTPRoute", "bookinfo")["spec"]["parentRefs"][0]["sectionName"] = "https"
    assert messages(objects) == [
        "HTTPRoute default/bookinfo: Gateway bookinfo-gateway has no listener https [LAB004]"
    ]


def test_a_backend_port_the_service_does_not_define_is_lab005(objects):
    find(objects, "HTTPRoute", "reviews")["spec"]["rules"][0]["backendRefs"][0]["port"] = 8080
    assert messages(objects) == [
        "HTTPRoute default/reviews: backend reviews-v2 has no port 8080 [LAB005]"
    ]


def test_a_listener_port_the_generated_service_does_not_expose_is_lab006(objects):
    find(objects, "Gateway", "bookinfo-gateway")["spec"]["listeners"][0]["port"] = 8080
    assert messages(objects) == [
        "Gateway default/bookinfo-gateway: listener http on port 8080 is not a port of its "
        "Service default/bookinfo-gateway-istio (15021, 80) [LAB006]"
    ]


def test_a_host_routed_by_both_apis_is_lab007(objects):
    reviews = find(objects, "HTTPRoute", "reviews")
    objects.append(
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": {"name": "reviews", "namespace": NAMESPACE},
            "spec": {
                "hosts": ["reviews"],
                "http": [{"route": [{"destination": {"host": "reviews"}}]}],
            },
        }
    )
    assert reviews and messages(objects) == [
        "VirtualService default/reviews: host reviews is also routed by HTTPRoute reviews: "
        "route it with one API [LAB007]"
    ]


def test_a_misspelt_gateway_api_field_is_lab003(objects):
    rule = find(objects, "HTTPRoute", "reviews")["spec"]["rules"][0]
    rule["backendRef"] = rule.pop("backendRefs")
    assert messages(objects) == [
        "HTTPRoute default/reviews: unknown field spec.rules[0].backendRef [LAB003]"
    ]


def test_the_gateway_api_gateway_is_not_read_as_an_istio_gateway(objects):
    # Same kind name, other API: no Istio selector or server rules apply to it.
    assert find(objects, "Gateway", "bookinfo-gateway")["apiVersion"].startswith(
        "gateway.networking.k8s.io/"
    )
    assert messages(objects) == []
