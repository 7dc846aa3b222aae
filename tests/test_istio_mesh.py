"""Istio's charts: source, versions, ordering, and the gateway's NLB and ports."""

import pytest

from plan.ingress import ChartIngress, NlbSettings, bind_gateways
from plan.kube import ServicePort, load_manifest
from tests.template_queries import (
    chart_values,
    depends_on,
    helm_chart,
    manifest_objects,
    manifest_with,
)

ISTIO_REPOSITORY = "https://blob.istio.io/istio-release/charts"


@pytest.mark.parametrize(
    ("release", "chart", "namespace"),
    [
        ("istio-base", "base", "istio-system"),
        ("istiod", "istiod", "istio-system"),
        ("istio-ingress", "gateway", "istio-ingress"),
    ],
)
def test_istio_charts_come_from_the_istio_repository_at_the_configured_version(
    cluster_template, synthesized, release, chart, namespace
):
    _, resource = helm_chart(cluster_template, release)
    props = resource["Properties"]
    assert props["Repository"] == ISTIO_REPOSITORY
    assert props["Chart"] == chart
    assert props["Version"] == synthesized.config.istio_version
    assert props["Namespace"] == namespace


def test_istiod_is_waited_for_and_installed_after_base(cluster_template):
    base_id, _ = helm_chart(cluster_template, "istio-base")
    _, istiod = helm_chart(cluster_template, "istiod")
    assert istiod["Properties"]["Wait"] is True
    assert base_id in depends_on(istiod)


def test_gateway_waits_for_istiod_and_for_the_load_balancer_controller(cluster_template):
    istiod_id, _ = helm_chart(cluster_template, "istiod")
    controller_id, _ = helm_chart(cluster_template, "aws-load-balancer-controller")
    _, gateway = helm_chart(cluster_template, "istio-ingress")
    # Also on delete: CloudFormation removes the gateway (and its Service) while the
    # controller still runs, so the controller deletes the NLB.
    assert {istiod_id, controller_id} <= depends_on(gateway)


def test_gateway_uninstall_waits_until_its_service_and_nlb_are_gone(cluster_template):
    # The handler passes --wait to `helm uninstall` too, so the controller is removed only
    # after it has processed the Service's finalizer.
    _, gateway = helm_chart(cluster_template, "istio-ingress")
    assert gateway["Properties"]["Wait"] is True


def test_gateway_service_is_an_internet_facing_nlb_health_checked_on_the_status_port(
    cluster_template,
):
    _, gateway = helm_chart(cluster_template, "istio-ingress")
    annotations = chart_values(gateway)["service"]["annotations"]
    prefix = "service.beta.kubernetes.io/aws-load-balancer"
    assert annotations == {
        f"{prefix}-type": "external",
        f"{prefix}-nlb-target-type": "ip",
        f"{prefix}-scheme": "internet-facing",
        f"{prefix}-healthcheck-protocol": "http",
        f"{prefix}-healthcheck-port": "15021",
        f"{prefix}-healthcheck-path": "/healthz/ready",
    }


def test_gateway_pods_are_labelled_as_the_istio_docs_expect(cluster_template):
    _, gateway = helm_chart(cluster_template, "istio-ingress")
    labels = chart_values(gateway)["labels"]
    assert labels["istio"] == "ingressgateway"
    assert labels["app"] == "istio-ingress"


def test_gateway_service_ports(cluster_template):
    _, gateway = helm_chart(cluster_template, "istio-ingress")
    ports = chart_values(gateway)["service"]["ports"]
    by_name = {p["name"]: (p["port"], p["targetPort"]) for p in ports}
    assert by_name == {"status-port": (15021, 15021), "http2": (80, 80), "https": (443, 443)}


def test_bookinfo_gateway_listens_on_a_port_of_the_gateway_service(cluster_template):
    """The seed failure (IST0162): Gateway on 8080 behind a Service exposing 80 and 443."""
    _, gateway_chart = helm_chart(cluster_template, "istio-ingress")
    values = chart_values(gateway_chart)
    http2 = next(p for p in values["service"]["ports"] if p["name"] == "http2")

    _, routing = manifest_with(cluster_template, "Gateway", "bookinfo-gateway")
    gateway = next(o for o in manifest_objects(routing) if o["kind"] == "Gateway")
    (server,) = gateway["spec"]["servers"]
    assert server["port"]["number"] == http2["targetPort"]
    assert server["port"]["protocol"] == "HTTP"
    for key, value in gateway["spec"]["selector"].items():
        assert values["labels"][key] == value


def test_a_different_gateway_port_moves_the_bookinfo_gateway_with_it():
    gateway = ChartIngress(nlb=NlbSettings(http_port=ServicePort("http2", 8080, 8080)))
    objects = load_manifest("bookinfo-routing.yaml")
    bind_gateways(objects, gateway)
    bound = next(o for o in objects if o["kind"] == "Gateway")
    assert bound["spec"]["servers"][0]["port"]["number"] == 8080
    assert {"name": "http2", "port": 8080, "protocol": "TCP", "targetPort": 8080} in (
        gateway.chart_values()["service"]["ports"]
    )


def test_a_port_written_into_the_gateway_yaml_is_refused():
    objects = load_manifest("bookinfo-routing.yaml")
    gateway = next(o for o in objects if o["kind"] == "Gateway")
    gateway["spec"]["servers"][0]["port"]["number"] = 8080
    with pytest.raises(ValueError, match="port.number must not be set"):
        bind_gateways(objects, ChartIngress())


def test_gateway_labels_must_be_explicit():
    with pytest.raises(ValueError, match="must set"):
        ChartIngress(labels={"app": "istio-ingress"})
