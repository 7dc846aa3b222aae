"""Traffic scenarios: the table, the forms rendered from it (Istio API, Gateway API, ambient),
and that a switch of scenario touches only the scenario's manifest."""

from __future__ import annotations

import dataclasses

import pytest
from aws_cdk.assertions import Template

from checks.istio_analyzer import AnalysisError
from constructs.barriers import Barrier
from constructs.bookinfo_routing import BookinfoRouting, BookinfoRoutingProps
from plan.config import ConfigError
from plan.facts import SCENARIO_MARKER
from plan.scenarios import (
    AMBIENT_FORM,
    GATEWAY_API_FORM,
    ISTIO_FORM,
    SCENARIO_TABLE,
    SCENARIOS,
    SERVICES,
)
from tests.istio_objects import ACCEPTED, REFUSED, combination_id, lab_plan
from tests.scenario_routing import gateway_api_routing, istio_routing, table_routing
from tests.template_queries import (
    MANIFEST,
    depends_on,
    manifest_objects,
    manifest_with,
    stack_with_imported_cluster,
)

FORMS = {"istio": ISTIO_FORM, "gateway-api": GATEWAY_API_FORM, "ambient": AMBIENT_FORM}
# The context keys that select each form.
FORM_CONTEXT = {
    "istio": {},
    "gateway-api": {"ingressApi": "gateway-api"},
    "ambient": {"dataplane": "ambient"},
}
VERSIONS = lab_plan().bookinfo.versions


def rendered(form: str, scenario: str) -> list[dict]:
    return FORMS[form].objects(SCENARIOS[scenario], VERSIONS)


def supported(form: str) -> list[str]:
    return [s.name for s in SCENARIO_TABLE if FORMS[form].refusal(s) is None]


# --- Every accepted combination works; the others are refused in one line -------------------


@pytest.mark.parametrize("context", ACCEPTED, ids=combination_id)
def test_every_accepted_combination_plans_and_passes_the_analyzer(context):
    plan = lab_plan(**context)
    assert plan.findings() == []
    assert plan.scenario.name == context["scenario"]


@pytest.mark.parametrize("context", REFUSED, ids=combination_id)
def test_a_scenario_without_a_form_for_the_data_plane_is_refused_in_one_line(context):
    with pytest.raises(ConfigError) as refused:
        lab_plan(**context)
    (line,) = refused.value.problems
    assert line.startswith(
        f"context scenario={context['scenario']!r} with dataplane={context['dataplane']!r}: "
    )
    assert "fault injection" in line and "use dataplane=sidecar" in line


def test_only_ambient_refuses_and_only_the_scenarios_with_faults():
    with_faults = {s.name for s in SCENARIO_TABLE if s.faults}
    assert with_faults == {"ratings-delay-jason", "ratings-abort-jason", "reviews-timeout"}
    assert set(supported("ambient")) == set(SCENARIOS) - with_faults
    assert supported("istio") == supported("gateway-api") == list(SCENARIOS)


def test_a_plan_whose_objects_fail_the_analyzer_is_refused(monkeypatch):
    from plan import ingress

    # GIVEN the chart gateway's pods, as the analyzer is told of them, labelled other than
    # Bookinfo's Gateway selects
    chart_workloads = ingress.ChartIngress.gateway_workloads

    def relabelled(self):
        return tuple(
            dataclasses.replace(w, pod_labels={"istio": "x"}) for w in chart_workloads(self)
        )

    monkeypatch.setattr(ingress.ChartIngress, "gateway_workloads", relabelled)
    # THEN no plan comes out, and the error names object and rule
    with pytest.raises(AnalysisError, match=r"Gateway default/bookinfo-gateway: .*\[IST0101\]"):
        lab_plan()


# --- The forms route as the table says ----------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
def test_every_scenario_of_a_form_defines_the_same_objects(form):
    # A switch re-applies one manifest and kubectl prunes only built-in kinds: an object one
    # scenario defines and the next does not would stay behind.
    def identities(scenario):
        return sorted((o["kind"], o["metadata"]["name"]) for o in rendered(form, scenario))

    names = supported(form)
    assert all(identities(s) == identities(names[0]) for s in names)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("form", ["istio", "gateway-api"])
def test_each_sidecar_form_routes_every_service_as_the_table_says(form, scenario):
    parse = istio_routing if form == "istio" else gateway_api_routing
    assert parse(rendered(form, scenario)) == table_routing(SCENARIOS[scenario], SERVICES)


@pytest.mark.parametrize("scenario", supported("ambient"))
def test_the_ambient_form_routes_the_services_with_versions_to_choose_from(scenario):
    several = tuple(s for s in SERVICES if len(VERSIONS[s]) > 1)
    assert several == ("reviews",)
    expected = table_routing(SCENARIOS[scenario], several)
    assert gateway_api_routing(rendered("ambient", scenario)) == expected
    # The services it leaves alone run one version, and the table only ever sends them there.
    for service, rules in table_routing(SCENARIOS[scenario], SERVICES).items():
        if service not in several:
            assert {shares for _, shares, _, _ in rules} <= {(("v1", 100),), (("all", 100),)}


def test_the_routing_tables_tell_scenarios_apart():
    # The comparisons above can fail: two scenarios do not compare equal.
    assert istio_routing(rendered("istio", "reviews-v3")) != table_routing(
        SCENARIOS["reviews-50-v3"], SERVICES
    )


def test_the_gateway_api_form_keeps_the_faulted_service_a_virtual_service():
    # Its faults have no Gateway API form; no HTTPRoute may claim it beside the
    # VirtualService (the analyzer's LAB007).
    kinds = {(o["kind"], o["metadata"]["name"]) for o in rendered("gateway-api", "all-v1")}
    assert ("VirtualService", "ratings") in kinds and ("HTTPRoute", "ratings") not in kinds
    assert {("HTTPRoute", s) for s in ("productpage", "details", "reviews")} <= kinds


# --- The Istio API form is shaped as the docs' YAML ------------------------------------------


def routes(scenario: str) -> dict[str, list[dict]]:
    """VirtualService name -> its http routes, in the Istio API form."""
    return {o["metadata"]["name"]: o["spec"]["http"] for o in rendered("istio", scenario)}


def destinations(route: dict) -> list[tuple[str, str, int | None]]:
    return [
        (d["destination"]["host"], d["destination"].get("subset"), d.get("weight"))
        for d in route["route"]
    ]


JASON = [{"headers": {"end-user": {"exact": "jason"}}}]


def test_round_robin_routes_every_service_to_all_of_its_versions():
    assert routes("round-robin") == {
        service: [{"route": [{"destination": {"host": service}}]}] for service in SERVICES
    }


def test_all_v1_pins_every_service_to_v1():
    assert {name: [destinations(r) for r in http] for name, http in routes("all-v1").items()} == {
        service: [[(service, "v1", None)]] for service in SERVICES
    }


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
    timeout = rendered("gateway-api", "reviews-timeout")
    (route,) = [o for o in timeout if o["metadata"]["name"] == "reviews"]
    assert route["spec"]["rules"][0]["timeouts"] == {"request": "500ms"}


# --- In the cluster ------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_scenario_records_its_name_in_the_cluster(scenario):
    marker = lab_plan(scenario=scenario).routing.scenario[0]
    assert (marker["kind"], marker["metadata"]["name"]) == ("ConfigMap", SCENARIO_MARKER)
    assert marker["data"] == {"scenario": scenario}


def test_scenario_manifest_follows_the_routing_it_needs(any_synthesized):
    template, config = any_synthesized.cluster, any_synthesized.config
    (edge_id,) = [i for i in template.find_resources(MANIFEST) if i.startswith("RoutingResources")]
    _, scenario = manifest_with(template, "ConfigMap", SCENARIO_MARKER)
    assert edge_id in depends_on(scenario)
    (marker,) = [o for o in manifest_objects(scenario) if o["kind"] == "ConfigMap"]
    assert marker["data"]["scenario"] == config.scenario
    assert marker["metadata"]["namespace"] == config.bookinfo_namespace


def routing_template(scenario: str, **context) -> dict:
    """The routing construct alone, on an imported cluster: cheap to synthesize twice."""
    stack, cluster = stack_with_imported_cluster("RoutingOnly")
    BookinfoRouting(
        stack,
        "Routing",
        props=BookinfoRoutingProps(
            cluster=cluster,
            routing=lab_plan(scenario=scenario, **context).routing,
            after=Barrier(),
        ),
    )
    return Template.from_stack(stack).find_resources(MANIFEST)


@pytest.mark.parametrize("form", FORMS)
def test_switching_scenarios_is_an_in_place_update_of_one_resource(form):
    """GIVEN two scenarios of a form WHEN each is synthesized THEN the same resources exist,
    and only the scenario's manifest differs."""
    first, second = supported(form)[0], supported(form)[-1]
    before = routing_template(first, **FORM_CONTEXT[form])
    after = routing_template(second, **FORM_CONTEXT[form])
    assert set(before) == set(after)
    changed = {lid for lid in before if before[lid] != after[lid]}
    (scenario_id,) = changed
    assert scenario_id.startswith("RoutingScenario")
