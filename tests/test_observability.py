"""Prometheus and Kiali: pinned charts, ClusterIP only, not waiting on the gateway."""

from tests.template_queries import chart_values, depends_on, helm_chart


def test_prometheus_is_a_lone_server_without_a_volume(cluster_template):
    _, chart = helm_chart(cluster_template, "prometheus")
    props = chart["Properties"]
    assert props["Repository"] == "https://prometheus-community.github.io/helm-charts"
    assert (props["Chart"], props["Version"], props["Namespace"]) == (
        "prometheus",
        "28.13.0",
        "istio-system",
    )
    values = chart_values(chart)
    for component in (
        "alertmanager",
        "prometheus-pushgateway",
        "kube-state-metrics",
        "prometheus-node-exporter",
    ):
        assert values[component] == {"enabled": False}
    server = values["server"]
    assert server["persistentVolume"] == {"enabled": False}
    assert server["service"]["type"] == "ClusterIP"


def test_kiali_is_anonymous_clusterip_and_reads_that_prometheus(cluster_template):
    _, chart = helm_chart(cluster_template, "kiali")
    props = chart["Properties"]
    assert props["Repository"] == "https://kiali.org/helm-charts"
    assert (props["Chart"], props["Version"], props["Namespace"]) == (
        "kiali-server",
        "2.29.0",
        "istio-system",
    )
    values = chart_values(chart)
    assert values["auth"] == {"strategy": "anonymous"}
    assert values["deployment"]["service_type"] == "ClusterIP"
    assert values["deployment"]["ingress_enabled"] is False

    _, prometheus = helm_chart(cluster_template, "prometheus")
    server = chart_values(prometheus)["server"]
    expected_url = (
        f"http://{server['fullnameOverride']}.istio-system.svc.cluster.local:"
        f"{server['service']['servicePort']}"
    )
    assert values["external_services"]["prometheus"]["url"] == expected_url


def test_observability_does_not_wait_for_the_gateway_or_istio(cluster_template):
    gateway_id, _ = helm_chart(cluster_template, "istio-ingress")
    istiod_id, _ = helm_chart(cluster_template, "istiod")
    prometheus_id, prometheus = helm_chart(cluster_template, "prometheus")
    _, kiali = helm_chart(cluster_template, "kiali")
    for chart in (prometheus, kiali):
        assert not {gateway_id, istiod_id} & depends_on(chart)
    assert prometheus_id in depends_on(kiali)
