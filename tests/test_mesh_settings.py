"""The mesh as the Istio docs' demo install has it: the demo profile's mesh settings and
requests (written out below from the istiod chart's files/profile-demo.yaml, release-1.31),
istiod's defaults for Gateways a Task creates, and the egress gateway."""

from __future__ import annotations

import dataclasses

import pytest

from plan.observability import JAEGER, extension_providers
from tests.istio_objects import lab_plan
from tests.template_queries import chart_values, depends_on, helm_chart

PREFIX = "service.beta.kubernetes.io/aws-load-balancer"
DEMO_PROVIDERS = [
    {
        "name": "otel",
        "envoyOtelAls": {
            "service": "opentelemetry-collector.observability.svc.cluster.local",
            "port": 4317,
        },
    },
    {
        "name": "skywalking",
        "skywalking": {"service": "tracing.istio-system.svc.cluster.local", "port": 11800},
    },
    {
        "name": "otel-tracing",
        "opentelemetry": {
            "service": "opentelemetry-collector.observability.svc.cluster.local",
            "port": 4317,
        },
    },
    {
        "name": "jaeger",
        "opentelemetry": {
            "service": "jaeger-collector.istio-system.svc.cluster.local",
            "port": 4317,
        },
    },
]
DEMO_REQUESTS = {"requests": {"cpu": "10m", "memory": "40Mi"}}


@pytest.fixture(scope="module")
def istiod_values(synthesized) -> dict:
    return chart_values(helm_chart(synthesized.cluster, "istiod")[1])


def test_access_logs_go_to_stdout(istiod_values):
    assert istiod_values["meshConfig"]["accessLogFile"] == "/dev/stdout"


def test_the_demo_profiles_providers_by_name_and_the_labs_jaeger_is_one_of_them(istiod_values):
    # The lab's Jaeger is where the demo's `jaeger` provider sends: no fifth entry.
    assert istiod_values["meshConfig"]["extensionProviders"] == DEMO_PROVIDERS


def test_zipkin_is_added_after_the_demo_providers():
    mesh = lab_plan(tracing="zipkin").mesh.istiod.values["meshConfig"]
    assert mesh["extensionProviders"][:4] == DEMO_PROVIDERS
    (zipkin,) = mesh["extensionProviders"][4:]
    assert zipkin["name"] == "zipkin" and mesh["defaultProviders"]["tracing"] == ["zipkin"]


def test_a_backend_that_takes_a_demo_providers_name_elsewhere_is_refused():
    elsewhere = dataclasses.replace(
        JAEGER, collector=dataclasses.replace(JAEGER.collector, service="my-jaeger")
    )
    with pytest.raises(ValueError, match="tracing backend jaeger: the demo profile's provider"):
        extension_providers(elsewhere)


def test_the_demo_profiles_requests(istiod_values):
    assert istiod_values["resources"] == {"requests": {"cpu": "10m", "memory": "100Mi"}}
    assert istiod_values["autoscaleEnabled"] is False
    assert istiod_values["global"]["proxy"]["resources"] == DEMO_REQUESTS


def test_ambient_keeps_its_profile_with_the_same_mesh_settings(synthesized_ambient, istiod_values):
    ambient = chart_values(helm_chart(synthesized_ambient.cluster, "istiod")[1])
    assert ambient["profile"] == "ambient"
    assert ambient["meshConfig"]["accessLogFile"] == "/dev/stdout"
    assert ambient["meshConfig"]["extensionProviders"] == DEMO_PROVIDERS
    assert ambient["global"]["waypoint"]["resources"] == DEMO_REQUESTS
    for release in ("ztunnel", "istio-cni"):
        assert (
            chart_values(helm_chart(synthesized_ambient.cluster, release)[1])["resources"]
            == DEMO_REQUESTS
        )


def test_every_istio_class_gateway_gets_the_labs_internet_facing_nlb(istiod_values):
    (class_name,) = istiod_values["gatewayClasses"]
    service = istiod_values["gatewayClasses"][class_name]["service"]
    # Annotations only: a Gateway asking for a ClusterIP Service keeps it, and waypoints
    # (class istio-waypoint) are untouched.
    assert class_name == "istio" and list(service) == ["metadata"]
    assert service["metadata"]["annotations"] == {
        "service.beta.kubernetes.io/load-balancer-source-ranges": "10.0.0.0/16",
        f"{PREFIX}-type": "external",
        f"{PREFIX}-nlb-target-type": "ip",
        f"{PREFIX}-scheme": "internet-facing",
        f"{PREFIX}-healthcheck-protocol": "http",
        f"{PREFIX}-healthcheck-port": "15021",
        f"{PREFIX}-healthcheck-path": "/healthz/ready",
    }


@pytest.mark.parametrize("variant", ["synthesized", "synthesized_ambient"])
def test_the_egress_gateway_as_the_demo_install_names_it(request, variant):
    template = request.getfixturevalue(variant).cluster
    istiod_id, _ = helm_chart(template, "istiod")
    _, egress = helm_chart(template, "istio-egressgateway")
    assert egress["Properties"]["Namespace"] == "istio-system"
    assert egress["Properties"]["Wait"] is True
    # The gateway's `image: auto` is filled in by istiod's injection webhook.
    assert istiod_id in depends_on(egress)
    values = chart_values(egress)
    assert values["labels"] == {"app": "istio-egressgateway", "istio": "egressgateway"}
    assert values["service"] == {
        "type": "ClusterIP",
        "ports": [
            {"name": "http2", "port": 80, "targetPort": 8080, "protocol": "TCP"},
            {"name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP"},
        ],
    }
    assert values["resources"] == DEMO_REQUESTS
    assert values["autoscaling"] == {"enabled": False}


def test_a_gateway_the_learner_points_at_the_egress_gateway_is_analyzed():
    plan = lab_plan()
    objects = [
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "Gateway",
            "metadata": {"name": "istio-egressgateway", "namespace": "default"},
            "spec": {
                "selector": {"istio": "egressgateway"},
                "servers": [
                    {
                        "port": {"number": 80, "name": "http", "protocol": "HTTP"},
                        "hosts": ["edition.cnn.com"],
                    }
                ],
            },
        }
    ]
    assert plan.findings(objects) == []
    objects[0]["spec"]["servers"][0]["port"]["number"] = 8000
    assert [f.code for f in plan.findings(objects)] == ["IST0162"]
