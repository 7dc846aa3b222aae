"""The analyzer's Gateway API rules, on the lab with `ingressApi=gateway-api`: each catches
its mistake in the lab's own objects."""

from __future__ import annotations

import pytest

from tests.istio_objects import NAMESPACE, analyzer_messages, lab_objects

GATEWAY_API = {"ingressApi": "gateway-api"}


def messages(objects) -> list[str]:
    return analyzer_messages(objects, **GATEWAY_API)


def find(objects, kind, name):
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


@pytest.fixture
def objects():
    return lab_objects("reviews-jason-v2", **GATEWAY_API)


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
