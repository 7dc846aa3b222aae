"""The analyzer's ambient rules: in an ambient namespace, a route no waypoint applies
(LAB008), and a waypoint label naming no waypoint of the lab (LAB009)."""

from __future__ import annotations

import pytest

from checks.istio_analyzer import analyze
from plan.facts import DATAPLANE_MODE_LABEL, USE_WAYPOINT_LABEL
from tests.istio_objects import NAMESPACE, analyzer_messages, lab_objects, lab_plan

AMBIENT = {"dataplane": "ambient"}


def find(objects, kind, name):
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


@pytest.fixture
def objects():
    return lab_objects("reviews-jason-v2", **AMBIENT)


def messages(objects, namespace_labels=None, **context):
    """The findings in the ambient lab (or the lab of `context`), with Bookinfo's namespace
    labelled as the plan labels it, or with `namespace_labels`."""
    context = context or AMBIENT
    if namespace_labels is None:
        return analyzer_messages(objects, **context)
    plan = lab_plan(**context)
    findings = analyze(
        objects,
        gateways=plan.ingress.gateway_workloads(),
        gateway_api_workloads=plan.ingress.gateway_api_workloads(),
        namespace_labels={NAMESPACE: namespace_labels},
    )
    return [str(f) for f in findings]


def ambient_labels(**extra):
    return {**lab_plan(**AMBIENT).bookinfo.labels, **extra}


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
    assert messages(objects, dataplane="sidecar") == []


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
    labels = ambient_labels(**{USE_WAYPOINT_LABEL: "waypoint"})
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
    labels = ambient_labels(**{USE_WAYPOINT_LABEL: "waypoint"})
    assert messages(objects, namespace_labels=labels) == [
        "HTTPRoute default/reviews: Service reviews sends its traffic through no waypoint, so "
        "in ambient mode this route has no effect (label it istio.io/use-waypoint) [LAB008]"
    ]


def test_the_ambient_rules_need_the_ambient_namespace_label(objects):
    del find(objects, "Service", "reviews")["metadata"]["labels"][USE_WAYPOINT_LABEL]
    labels = ambient_labels(**{DATAPLANE_MODE_LABEL: "none"})
    assert messages(objects, namespace_labels=labels) == []
