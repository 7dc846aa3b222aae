"""Observability: Prometheus scraping the mesh, Grafana with Istio's dashboards, a tracing
backend, and Kiali drawing the mesh and linking to both."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import aws_eks_v2 as eks

from constructs import Construct
from constructs.capacity import Pods, Requests, pods_of_manifest
from constructs.telemetry import (
    GRAFANA,
    GRAFANA_ACCESS,
    KIALI,
    KIALI_ACCESS,
    KIALI_WEB_ROOT,
    NOT_INJECTED,
    OBSERVABILITY_NAMESPACE,
    PROMETHEUS,
    PROMETHEUS_DATASOURCE,
    TracingBackend,
)

PROMETHEUS_CHART_REPOSITORY = "https://prometheus-community.github.io/helm-charts"
PROMETHEUS_CHART_VERSION = "28.13.0"
# The maintained home of the Grafana chart since January 2026 (grafana-community/helm-charts).
GRAFANA_CHART_REPOSITORY = "https://grafana-community.github.io/helm-charts"
GRAFANA_CHART_VERSION = "12.11.1"
KIALI_CHART_REPOSITORY = "https://kiali.org/helm-charts"
# The Kiali release Istio 1.31's addons render.
KIALI_CHART_VERSION = "2.31.0"

# Istio's dashboards as its release publishes them (also to grafana.com): the JSON files of
# the Istio source at the tag of the deployed Istio version. Grafana's init container
# downloads them when the pod starts; nothing of them is stored in this repository.
ISTIO_DASHBOARD_SOURCE = (
    "https://raw.githubusercontent.com/istio/istio/{version}/manifests/addons/dashboards/{file}"
)
# dashboard name in Grafana's istio folder -> file in Istio 1.31's manifests/addons/dashboards
ISTIO_DASHBOARDS: Mapping[str, str] = {
    "istio-mesh-dashboard": "istio-mesh-dashboard.gen.json",
    "istio-service-dashboard": "istio-service-dashboard.json",
    "istio-workload-dashboard": "istio-workload-dashboard.json",
    "istio-performance-dashboard": "istio-performance-dashboard.json",
    "istio-control-plane-dashboard": "pilot-dashboard.gen.json",
    "istio-wasm-extension-dashboard": "istio-extension-dashboard.json",
}
GRAFANA_DASHBOARD_FOLDER = "istio"
GRAFANA_DASHBOARD_PATH = "/var/lib/grafana/dashboards/istio"

# Requests of the pods started from these charts (the chart defaults are none, or sized
# for production): what the lab's capacity check adds up.
PROMETHEUS_RESOURCES = {"requests": {"cpu": "100m", "memory": "512Mi"}}
GRAFANA_RESOURCES = {"requests": {"cpu": "50m", "memory": "128Mi"}}
KIALI_RESOURCES = {"requests": {"cpu": "10m", "memory": "64Mi"}}


@dataclass(frozen=True)
class ObservabilityProps:
    """
    cluster: where to install.
    istio_version: the deployed Istio release; Grafana's dashboards are that release's.
    tracing: the tracing backend to deploy, or None for no tracing.
    data_plane_dashboards: Istio's dashboards for the data plane's own proxies (ztunnel's
        in ambient mode), name -> file, beside the common ones.
    """

    cluster: eks.ICluster
    istio_version: str
    tracing: TracingBackend | None
    data_plane_dashboards: Mapping[str, str] = field(default_factory=dict)


class Observability(Construct):
    """Deploys a single Prometheus server, Grafana, the tracing backend (if any) and Kiali,
    all ClusterIP only, in istio-system, none of them injected.

    Prometheus keeps its data in the pod (no volume): the lab's metrics only need to outlive
    a session. It scrapes every pod annotated `prometheus.io/scrape`, which Istio's sidecar
    injection sets. Grafana and Kiali allow anonymous viewers: they are reachable only
    through `kubectl port-forward`, i.e. only by someone who already holds cluster
    credentials. Nothing here waits for the ingress gateway.
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: ObservabilityProps) -> None:
        super().__init__(scope, construct_id)
        self.tracing = props.tracing
        self.pods: tuple[Pods, ...] = (
            Pods("prometheus", Requests.of(PROMETHEUS_RESOURCES)),
            Pods("grafana", Requests.of(GRAFANA_RESOURCES)),
            Pods("kiali", Requests.of(KIALI_RESOURCES)),
            *(pods_of_manifest(props.tracing.objects(), sidecar=None) if props.tracing else ()),
        )

        def chart(chart_id: str, **options) -> eks.HelmChart:
            return eks.HelmChart(
                self,
                chart_id,
                cluster=props.cluster,
                namespace=OBSERVABILITY_NAMESPACE,
                create_namespace=True,
                **options,
            )

        self.prometheus = chart(
            "Prometheus",
            repository=PROMETHEUS_CHART_REPOSITORY,
            chart="prometheus",
            version=PROMETHEUS_CHART_VERSION,
            release="prometheus",
            values=prometheus_values(),
        )
        self.grafana = chart(
            "Grafana",
            repository=GRAFANA_CHART_REPOSITORY,
            chart="grafana",
            version=GRAFANA_CHART_VERSION,
            release=GRAFANA.name,
            values=grafana_values(props.istio_version, props.data_plane_dashboards),
        )
        # Grafana's first dashboards query Prometheus.
        self.grafana.node.add_dependency(self.prometheus)

        self.tracing_backend: eks.KubernetesManifest | None = None
        if props.tracing is not None:
            self.tracing_backend = eks.KubernetesManifest(
                self, "Tracing", cluster=props.cluster, manifest=props.tracing.objects()
            )
            # The namespace comes with the Prometheus chart (create_namespace).
            self.tracing_backend.node.add_dependency(self.prometheus)

        self.kiali = chart(
            "Kiali",
            repository=KIALI_CHART_REPOSITORY,
            chart="kiali-server",
            version=KIALI_CHART_VERSION,
            release=KIALI.name,
            values=kiali_values(props.tracing),
        )
        # Kiali's first health check queries Prometheus; its links need the others to exist.
        for dependency in (self.prometheus, self.grafana, self.tracing_backend):
            if dependency is not None:
                self.kiali.node.add_dependency(dependency)

    @property
    def kiali_command(self) -> str:
        return KIALI_ACCESS.output()

    @property
    def grafana_command(self) -> str:
        return GRAFANA_ACCESS.output()

    @property
    def tracing_command(self) -> str | None:
        return None if self.tracing is None else self.tracing.ui.output()


def prometheus_values() -> dict[str, Any]:
    return {
        "alertmanager": {"enabled": False},
        "prometheus-pushgateway": {"enabled": False},
        "kube-state-metrics": {"enabled": False},
        "prometheus-node-exporter": {"enabled": False},
        "server": {
            "fullnameOverride": PROMETHEUS.name,
            "persistentVolume": {"enabled": False},
            "podLabels": dict(NOT_INJECTED),
            "resources": PROMETHEUS_RESOURCES,
            "service": {"type": "ClusterIP", "servicePort": PROMETHEUS.port},
            "global": {"scrape_interval": "15s"},
        },
    }


def istio_dashboard_urls(
    istio_version: str, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    return {
        name: ISTIO_DASHBOARD_SOURCE.format(version=istio_version, file=file)
        for name, file in {**ISTIO_DASHBOARDS, **(extra or {})}.items()
    }


def grafana_values(
    istio_version: str, extra_dashboards: Mapping[str, str] | None = None
) -> dict[str, Any]:
    return {
        "service": {"type": "ClusterIP", "port": GRAFANA.port},
        "podLabels": dict(NOT_INJECTED),
        "resources": GRAFANA_RESOURCES,
        # Nothing of the chart's sidecars (which need RBAC) or its test pod is used.
        "rbac": {"create": False},
        "testFramework": {"enabled": False},
        "grafana.ini": {"auth.anonymous": {"enabled": True, "org_role": "Viewer"}},
        "datasources": {
            "datasources.yaml": {
                "apiVersion": 1,
                "datasources": [
                    {
                        "name": PROMETHEUS_DATASOURCE,
                        "type": "prometheus",
                        "access": "proxy",
                        "url": PROMETHEUS.url(),
                        # Istio's dashboards pick the default Prometheus data source.
                        "isDefault": True,
                        "jsonData": {"timeInterval": "15s"},
                    }
                ],
            }
        },
        "dashboardProviders": {
            "dashboardproviders.yaml": {
                "apiVersion": 1,
                "providers": [
                    {
                        "name": GRAFANA_DASHBOARD_FOLDER,
                        "orgId": 1,
                        "folder": GRAFANA_DASHBOARD_FOLDER,
                        "type": "file",
                        "disableDeletion": False,
                        "options": {"path": GRAFANA_DASHBOARD_PATH},
                    }
                ],
            }
        },
        "dashboards": {
            GRAFANA_DASHBOARD_FOLDER: {
                name: {"url": url}
                for name, url in istio_dashboard_urls(istio_version, extra_dashboards).items()
            }
        },
    }


def kiali_values(tracing: TracingBackend | None) -> dict[str, Any]:
    return {
        "auth": {"strategy": "anonymous"},
        "deployment": {
            "service_type": "ClusterIP",
            "ingress": {"enabled": False},
            "pod_labels": dict(NOT_INJECTED),
            "resources": KIALI_RESOURCES,
        },
        "server": {"port": KIALI.port, "web_root": KIALI_WEB_ROOT},
        "external_services": {
            "prometheus": {"url": PROMETHEUS.url()},
            "grafana": {
                "enabled": True,
                "internal_url": GRAFANA.url(),
                "external_url": GRAFANA_ACCESS.local_url,
            },
            # Kiali refuses to start when tracing is enabled without a backend it supports.
            "tracing": tracing.kiali_values() if tracing is not None else {"enabled": False},
        },
    }
