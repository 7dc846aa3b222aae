"""Istio's charts: source, versions, ordering, and the ingress gateway as the Istio docs' demo
install makes it: names, labels, ports and its NLB."""

import hashlib
import json

import pytest

from constructs.cluster_task_handler.tasks_contract import SERVICE_REMOVAL_RESOURCE_TYPE
from plan.ingress import ChartIngress, NlbSettings, check_gateways
from plan.kube import ServicePort, load_manifest
from tests.template_queries import (
    chart_values,
    depends_on,
    helm_chart,
    manifest_objects,
    manifest_with,
    only,
    resources_of_type,
)

# The names the Task pages' commands use (`kubectl -n istio-system get service
# istio-ingressgateway`, `app: istio-ingressgateway` in an AuthorizationPolicy).
INGRESS_GATEWAY = "istio-ingressgateway"
# sha256 of the objects of the Istio release's samples/bookinfo/networking/
# bookinfo-gateway.yaml (release-1.31), parsed and dumped as JSON with sorted keys.
UPSTREAM_BOOKINFO_GATEWAY = "a496347a13487c4851f4e889316ec115f734d0ef03816333a429ae8d7d5d5589"

ISTIO_REPOSITORY = "https://blob.istio.io/istio-release/charts"


@pytest.mark.parametrize(
    ("release", "chart", "namespace"),
    [
        ("istio-base", "base", "istio-system"),
        ("istiod", "istiod", "istio-system"),
        (INGRESS_GATEWAY, "gateway", "istio-system"),
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


def test_gateway_waits_for_istiod_and_for_the_load_balancers(cluster_template):
    istiod_id, _ = helm_chart(cluster_template, "istiod")
    removal_id, _ = only(
        resources_of_type(cluster_template, SERVICE_REMOVAL_RESOURCE_TYPE), "service removal"
    )
    _, gateway = helm_chart(cluster_template, INGRESS_GATEWAY)
    # Also on delete: CloudFormation removes the gateway (and its Service) before the
    # removal of every LoadBalancer Service, which runs while the controller still does.
    assert {istiod_id, removal_id} <= depends_on(gateway)


def test_gateway_uninstall_waits_until_its_service_and_nlb_are_gone(cluster_template):
    # The handler passes --wait to `helm uninstall` too, so the controller is removed only
    # after it has processed the Service's finalizer.
    _, gateway = helm_chart(cluster_template, INGRESS_GATEWAY)
    assert gateway["Properties"]["Wait"] is True


def test_gateway_service_is_an_internet_facing_nlb_health_checked_on_the_status_port(
    cluster_template,
):
    _, gateway = helm_chart(cluster_template, INGRESS_GATEWAY)
    annotations = chart_values(gateway)["service"]["annotations"]
    prefix = "service.beta.kubernetes.io/aws-load-balancer"
    assert annotations == {
        # cdk.json sets no allowedCidrs: the VPC's range only, nobody on the internet
        "service.beta.kubernetes.io/load-balancer-source-ranges": "10.0.0.0/16",
        f"{prefix}-type": "external",
        f"{prefix}-nlb-target-type": "ip",
        f"{prefix}-scheme": "internet-facing",
        f"{prefix}-healthcheck-protocol": "http",
        f"{prefix}-healthcheck-port": "15021",
        f"{prefix}-healthcheck-path": "/healthz/ready",
    }


def test_gateway_pods_are_labelled_as_the_istio_docs_expect(cluster_template):
    _, gateway = helm_chart(cluster_template, INGRESS_GATEWAY)
    labels = chart_values(gateway)["labels"]
    assert labels["istio"] == "ingressgateway"
    assert labels["app"] == INGRESS_GATEWAY


def test_gateway_service_ports(cluster_template):
    _, gateway = helm_chart(cluster_template, INGRESS_GATEWAY)
    ports = chart_values(gateway)["service"]["ports"]
    # The demo profile's ports, the status port first; the Tasks' INGRESS_PORT,
    # SECURE_INGRESS_PORT and TCP_INGRESS_PORT read http2, https and tcp by name.
    assert [(p["name"], p["port"], p["targetPort"]) for p in ports] == [
        ("status-port", 15021, 15021),
        ("http2", 80, 8080),
        ("https", 443, 8443),
        ("tcp", 31400, 31400),
        ("tls", 15443, 15443),
    ]


def test_bookinfo_gateway_listens_on_a_port_of_the_gateway_service(cluster_template):
    """The seed failure (IST0162): Gateway on 8080 behind a Service exposing 80 and 443."""
    _, gateway_chart = helm_chart(cluster_template, INGRESS_GATEWAY)
    values = chart_values(gateway_chart)
    http2 = next(p for p in values["service"]["ports"] if p["name"] == "http2")

    _, routing = manifest_with(cluster_template, "Gateway", "bookinfo-gateway")
    gateway = next(o for o in manifest_objects(routing) if o["kind"] == "Gateway")
    (server,) = gateway["spec"]["servers"]
    assert server["port"]["number"] == http2["targetPort"]
    assert server["port"]["protocol"] == "HTTP"
    for key, value in gateway["spec"]["selector"].items():
        assert values["labels"][key] == value


def test_the_bookinfo_gateway_is_the_istio_samples_as_written():
    digest = hashlib.sha256(
        json.dumps(load_manifest("bookinfo-routing.yaml"), sort_keys=True).encode()
    ).hexdigest()
    assert digest == UPSTREAM_BOOKINFO_GATEWAY


def test_a_gateway_on_another_port_than_the_services_target_is_refused():
    """The seed failure: the sample's Gateway on 8080 behind a Service whose http port
    targets 80 (the istio/gateway chart's default)."""
    gateway = ChartIngress(nlb=NlbSettings(http_port=ServicePort("http2", 80, 80)))
    with pytest.raises(ValueError, match="port 8080 is not the ingress gateway's HTTP target"):
        check_gateways(load_manifest("bookinfo-routing.yaml"), gateway)


def test_a_gateway_selecting_other_pods_is_refused():
    gateway = ChartIngress(labels={"app": "istio-ingressgateway", "istio": "ingress"})
    with pytest.raises(ValueError, match="is not the ingress gateway's"):
        check_gateways(load_manifest("bookinfo-routing.yaml"), gateway)


def test_gateway_labels_must_be_explicit():
    with pytest.raises(ValueError, match="must set"):
        ChartIngress(labels={"app": INGRESS_GATEWAY})


# The gateway chart's logical id in labs of the previous version, whose release was
# istio-ingress in the namespace istio-ingress.
PREVIOUS_GATEWAY_ID = "IstioGateway18B7117C"


def test_an_update_replaces_the_gateway_release_instead_of_renaming_it(cluster_template):
    # aws-cdk-lib's helm handler upgrades a renamed release in place and leaves the old one
    # running; a new logical id makes CloudFormation install the new release, then uninstall
    # the old one (and its Service and NLB, while the controller runs).
    gateway_id, _ = helm_chart(cluster_template, INGRESS_GATEWAY)
    assert gateway_id != PREVIOUS_GATEWAY_ID
    assert PREVIOUS_GATEWAY_ID not in cluster_template.to_json()["Resources"]


# The removal's logical id in gateway-api labs of the previous version, where it waited for
# the Gateway's Service only.
PREVIOUS_REMOVAL_ID = "IngressServiceRemoval0A3DA58A"


def test_an_update_keeps_the_service_removal_in_place(any_synthesized):
    # Same logical id: CloudFormation updates it (the handler keeps its physical id), so no
    # Delete, which would remove Services, reaches it during an upgrade.
    removal_id, _ = only(
        resources_of_type(any_synthesized.cluster, SERVICE_REMOVAL_RESOURCE_TYPE),
        "service removal",
    )
    assert removal_id == PREVIOUS_REMOVAL_ID
