"""Traffic scenarios: what each one routes, and that switching touches only its manifest."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Template

from constructs.bookinfo_routing import (
    SCENARIO_MARKER,
    BookinfoRouting,
    BookinfoRoutingProps,
    scenario_names,
    scenario_objects,
)
from constructs.ingress_gateway import IngressGateway
from tests.istio_objects import analyzer_messages, lab_objects
from tests.template_queries import (
    MANIFEST,
    depends_on,
    manifest_objects,
    manifest_with,
    stack_with_imported_cluster,
)

SCENARIOS = scenario_names()
SERVICES = ("productpage", "details", "reviews", "ratings")


def routes(scenario: str) -> dict[str, list[dict]]:
    """VirtualService name -> its http routes, for the scenario's objects."""
    return {
        obj["metadata"]["name"]: obj["spec"]["http"]
        for obj in scenario_objects(scenario)
        if obj["kind"] == "VirtualService"
    }


def destinations(route: dict) -> list[tuple[str, str, int | None]]:
    return [
        (d["destination"]["host"], d["destination"].get("subset"), d.get("weight"))
        for d in route["route"]
    ]


def test_the_scenarios_are_the_documented_ones():
    assert set(SCENARIOS) == {
        "round-robin",
        "all-v1",
        "reviews-jason-v2",
        "ratings-delay-jason",
        "ratings-abort-jason",
        "reviews-50-v3",
        "reviews-v3",
        "reviews-timeout",
    }


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_passes_the_istio_analyzer(scenario):
    assert analyzer_messages(lab_objects(scenario)) == []


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_records_its_name_in_the_cluster(scenario):
    marker = scenario_objects(scenario)[0]
    assert (marker["kind"], marker["metadata"]["name"]) == ("ConfigMap", SCENARIO_MARKER)
    assert marker["data"] == {"scenario": scenario}


def test_round_robin_routes_every_service_to_all_of_its_versions():
    assert {name: http for name, http in routes("round-robin").items()} == {
        service: [{"route": [{"destination": {"host": service}}]}] for service in SERVICES
    }


def test_every_scenario_defines_the_same_objects():
    """Switching re-applies one manifest; kubectl prunes only built-in kinds, so an Istio
    object that one scenario defines and the next does not would stay behind."""

    def identities(scenario):
        return sorted((o["kind"], o["metadata"]["name"]) for o in scenario_objects(scenario))

    for scenario in SCENARIOS:
        assert identities(scenario) == identities("round-robin"), scenario


def test_all_v1_pins_every_service_to_v1():
    assert {name: [destinations(r) for r in http] for name, http in routes("all-v1").items()} == {
        service: [[(service, "v1", None)]] for service in SERVICES
    }


JASON = [{"headers": {"end-user": {"exact": "jason"}}}]


@pytest.mark.parametrize(
    "scenario", ["reviews-jason-v2", "ratings-delay-jason", "ratings-abort-jason"]
)
def test_jason_gets_reviews_v2_and_everyone_else_v1(scenario):
    jason_route, default_route = routes(scenario)["reviews"]
    assert jason_route["match"] == JASON
    assert destinations(jason_route) == [("reviews", "v2", None)]
    assert "match" not in default_route
    assert destinations(default_route) == [("reviews", "v1", None)]


@pytest.mark.parametrize(
    ("scenario", "fault"),
    [
        ("ratings-delay-jason", {"delay": {"fixedDelay": "7s", "percentage": {"value": 100.0}}}),
        ("ratings-abort-jason", {"abort": {"httpStatus": 500, "percentage": {"value": 100.0}}}),
    ],
)
def test_ratings_fault_hits_only_jason(scenario, fault):
    jason_route, default_route = routes(scenario)["ratings"]
    assert jason_route["match"] == JASON
    assert jason_route["fault"] == fault
    assert destinations(jason_route) == destinations(default_route) == [("ratings", "v1", None)]
    assert "fault" not in default_route


def test_traffic_shifting_splits_reviews_half_and_half_then_moves_to_v3():
    (split,) = routes("reviews-50-v3")["reviews"]
    assert destinations(split) == [("reviews", "v1", 50), ("reviews", "v3", 50)]
    (final,) = routes("reviews-v3")["reviews"]
    assert destinations(final) == [("reviews", "v3", None)]


def test_request_timeout_on_reviews_shorter_than_the_ratings_delay():
    scenario = routes("reviews-timeout")
    (reviews,) = scenario["reviews"]
    assert destinations(reviews) == [("reviews", "v2", None)]
    assert reviews["timeout"] == "0.5s"
    (ratings,) = scenario["ratings"]
    assert ratings["fault"] == {"delay": {"fixedDelay": "2s", "percentage": {"value": 100.0}}}


def test_scenario_manifest_follows_the_routing_it_needs(cluster_template, synthesized):
    routing_id, _ = manifest_with(cluster_template, "VirtualService", "bookinfo")
    _, scenario = manifest_with(cluster_template, "ConfigMap", SCENARIO_MARKER)
    assert routing_id in depends_on(scenario)
    (marker,) = [o for o in manifest_objects(scenario) if o["kind"] == "ConfigMap"]
    assert marker["data"]["scenario"] == synthesized.config.scenario
    assert marker["metadata"]["namespace"] == synthesized.config.bookinfo_namespace


def routing_template(scenario: str) -> dict:
    """The routing construct alone, on an imported cluster: cheap to synthesize twice."""
    stack, cluster = stack_with_imported_cluster("RoutingOnly")
    BookinfoRouting(
        stack,
        "Routing",
        props=BookinfoRoutingProps(
            cluster=cluster,
            namespace="default",
            ingress=IngressGateway(),
            scenario=scenario,
            after=(),
        ),
    )
    return Template.from_stack(stack).find_resources(MANIFEST)


def test_switching_scenarios_is_an_in_place_update_of_one_resource():
    """GIVEN two scenarios WHEN each is synthesized THEN the same resources exist, and only
    the scenario's manifest differs."""
    before = routing_template("round-robin")
    after = routing_template("ratings-delay-jason")
    assert set(before) == set(after)
    changed = {lid for lid in before if before[lid] != after[lid]}
    (scenario_id,) = changed
    assert scenario_id.startswith("RoutingScenario")
