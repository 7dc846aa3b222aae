"""The traffic scenarios in ambient form: one HTTPRoute for reviews through the waypoint,
routing as the Istio API form does; the scenarios with no ambient form refused with a reason;
every supported combination of data plane, ingress API and scenario clean in the analyzer,
whose ambient rules catch a route no waypoint applies."""

from __future__ import annotations

import pytest

from constructs.bookinfo_routing import (
    AMBIENT_REFUSED,
    AMBIENT_SCENARIOS_DIR,
    ambient_scenario_names,
    scenario_names,
    scenario_objects,
)
from constructs.data_plane import (
    DATAPLANE_MODE_LABEL,
    USE_WAYPOINT_LABEL,
    SidecarDataPlane,
)
from smoke.expectations import EXPECTATIONS
from tests.istio_objects import (
    DATA_PLANES,
    INGRESSES,
    NAMESPACE,
    analyzer_messages,
    lab_objects,
)
from tests.scenario_routing import gateway_api_routing, istio_routing

AMBIENT = DATA_PLANES["ambient"]
AMBIENT_SCENARIOS = ambient_scenario_names()


def find(objects, kind, name):
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def test_every_scenario_has_an_ambient_form_or_a_reason_not_to():
    assert set(AMBIENT_SCENARIOS).isdisjoint(AMBIENT_REFUSED)
    assert sorted([*AMBIENT_SCENARIOS, *AMBIENT_REFUSED]) == sorted(scenario_names())
    # The smoke check keeps the same promise for every scenario in either data plane.
    assert set(AMBIENT_SCENARIOS) <= set(EXPECTATIONS)


def test_every_ambient_scenario_defines_the_same_objects():
    # kubectl's pruning skips Gateway API kinds: a switch must update, not leave.
    def identities(scenario):
        objects = scenario_objects(scenario, folder=AMBIENT_SCENARIOS_DIR)
        return sorted((o["kind"], o["metadata"]["name"]) for o in objects)

    assert {tuple(identities(s)) for s in AMBIENT_SCENARIOS} == {
        (("ConfigMap", "bookinfo-scenario"), ("HTTPRoute", "reviews"))
    }


@pytest.mark.parametrize("scenario", AMBIENT_SCENARIOS)
def test_each_ambient_scenario_routes_as_its_istio_form(scenario):
    istio = istio_routing(scenario_objects(scenario))
    ambient = gateway_api_routing(scenario_objects(scenario, folder=AMBIENT_SCENARIOS_DIR))
    assert ambient["reviews"] == istio["reviews"]
    # The hosts the ambient form leaves alone run one version: routing them to all of
    # their versions, as Bookinfo does without routes, is routing them to that version.
    for host, rules in istio.items():
        if host != "reviews":
            assert {shares for _, shares, _, _ in rules} <= {(("v1", 100),), (("all", 100),)}
            assert all(timeout is None and fault == "None" for _, _, timeout, fault in rules)


SUPPORTED = [
    (data_plane, ingress, scenario)
    for data_plane in DATA_PLANES
    for ingress in INGRESSES
    for scenario in scenario_names()
    # The refused ones stop the synth first (tests/test_config.py).
    if not (data_plane == "ambient" and scenario in AMBIENT_REFUSED)
]


@pytest.mark.parametrize(("data_plane", "ingress", "scenario"), SUPPORTED)
def test_every_supported_combination_passes_the_analyzer(data_plane, ingress, scenario):
    plane, gateway = DATA_PLANES[data_plane], INGRESSES[ingress]
    objects = lab_objects(scenario, ingress=gateway, data_plane=plane)
    assert analyzer_messages(objects, ingress=gateway, data_plane=plane) == []


# --- The analyzer's ambient rules -----------------------------------------------------------


@pytest.fixture
def objects():
    return lab_objects("reviews-jason-v2", data_plane=AMBIENT)


def messages(objects, data_plane=AMBIENT, namespace_labels=None):
    """The findings with Bookinfo's namespace labelled by `data_plane`, or with
    `namespace_labels`."""
    if namespace_labels is not None:
        data_plane = _Labelled(namespace_labels)
    return analyzer_messages(objects, data_plane=data_plane)


class _Labelled:
    """A data plane stand-in with the given namespace labels."""

    def __init__(self, labels):
        self.namespace_labels = labels


def test_a_route_for_a_service_without_a_waypoint_is_lab008(objects):
    del find(objects, "Service", "reviews")["metadata"]["labels"][USE_WAYPOINT_LABEL]
    assert messages(objects) == [
        "HTTPRoute default/reviews: Service reviews sends its traffic through no waypoint, so "
        "in ambient mode this route has no effect (label it istio.io/use-waypoint) [LAB008]"
    ]


def test_a_mesh_virtual_service_without_a_waypoint_is_lab008(objects):
    objects.append(
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": {"name": "ratings", "namespace": NAMESPACE},
            "spec": {
                "hosts": ["ratings"],
                "http": [{"route": [{"destination": {"host": "ratings"}}]}],
            },
        }
    )
    assert messages(objects) == [
        "VirtualService default/ratings: Service ratings sends its traffic through no "
        "waypoint, so in ambient mode this route has no effect (label it "
        "istio.io/use-waypoint) [LAB008]"
    ]
    # With sidecars, the client's sidecar applies it: no finding.
    assert messages(objects, data_plane=SidecarDataPlane()) == []


def test_a_use_waypoint_label_naming_no_waypoint_is_lab009(objects):
    find(objects, "Service", "reviews")["metadata"]["labels"][USE_WAYPOINT_LABEL] = "waypoints"
    assert messages(objects) == [
        "Service default/reviews: istio.io/use-waypoint: waypoint default/waypoints is not a "
        "waypoint of the lab [LAB009]",
        "HTTPRoute default/reviews: Service reviews sends its traffic through no waypoint, so "
        "in ambient mode this route has no effect (label it istio.io/use-waypoint) [LAB008]",
    ]


def test_a_waypoint_for_workloads_only_is_lab009(objects):
    find(objects, "Gateway", "waypoint")["metadata"]["labels"]["istio.io/waypoint-for"] = "workload"
    assert messages(objects) == [
        "Service default/reviews: istio.io/use-waypoint: waypoint default/waypoint is for "
        "'workload' traffic, not for Services' [LAB009]"
    ]


def test_a_namespace_wide_waypoint_serves_the_route(objects):
    del find(objects, "Service", "reviews")["metadata"]["labels"][USE_WAYPOINT_LABEL]
    labels = {**AMBIENT.namespace_labels, USE_WAYPOINT_LABEL: "waypoint"}
    assert messages(objects, namespace_labels=labels) == []
    labels[USE_WAYPOINT_LABEL] = "gone"
    assert messages(objects, namespace_labels=labels) == [
        "Namespace default/default: istio.io/use-waypoint: waypoint default/gone is not a "
        "waypoint of the lab [LAB009]",
        "HTTPRoute default/reviews: Service reviews sends its traffic through no waypoint, so "
        "in ambient mode this route has no effect (label it istio.io/use-waypoint) [LAB008]",
    ]


def test_a_service_opting_out_of_the_namespace_waypoint_loses_its_route(objects):
    find(objects, "Service", "reviews")["metadata"]["labels"][USE_WAYPOINT_LABEL] = "none"
    labels = {**AMBIENT.namespace_labels, USE_WAYPOINT_LABEL: "waypoint"}
    assert messages(objects, namespace_labels=labels) == [
        "HTTPRoute default/reviews: Service reviews sends its traffic through no waypoint, so "
        "in ambient mode this route has no effect (label it istio.io/use-waypoint) [LAB008]"
    ]


def test_the_ambient_rules_need_the_ambient_namespace_label(objects):
    del find(objects, "Service", "reviews")["metadata"]["labels"][USE_WAYPOINT_LABEL]
    labels = {**AMBIENT.namespace_labels, DATAPLANE_MODE_LABEL: "none"}
    assert messages(objects, namespace_labels=labels) == []
