"""Observability: Prometheus scraping the mesh, and Kiali drawing it."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_eks_v2 as eks

from constructs import Construct

PROMETHEUS_CHART_REPOSITORY = "https://prometheus-community.github.io/helm-charts"
PROMETHEUS_CHART_VERSION = "28.13.0"
KIALI_CHART_REPOSITORY = "https://kiali.org/helm-charts"
KIALI_CHART_VERSION = "2.29.0"

PROMETHEUS_SERVICE = "prometheus"
PROMETHEUS_PORT = 9090
KIALI_SERVICE = "kiali"
KIALI_PORT = 20001
KIALI_WEB_ROOT = "/kiali"


@dataclass(frozen=True)
class ObservabilityProps:
    """
    cluster: where to install.
    namespace: where Prometheus and Kiali run; Kiali expects Istio's root namespace.
    """

    cluster: eks.ICluster
    namespace: str = "istio-system"


class Observability(Construct):
    """Deploys a single Prometheus server and Kiali, both ClusterIP only.

    Prometheus keeps its data in the pod (no volume): the lab's metrics only need to outlive
    a Kiali session. It scrapes every pod annotated `prometheus.io/scrape`, which Istio's
    sidecar injection sets. Kiali uses anonymous auth: it is reachable only through
    `kubectl port-forward`, i.e. only by someone who already holds cluster credentials.
    Neither waits for the ingress gateway.
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: ObservabilityProps) -> None:
        super().__init__(scope, construct_id)
        self.namespace = props.namespace

        self.prometheus = eks.HelmChart(
            self,
            "Prometheus",
            cluster=props.cluster,
            repository=PROMETHEUS_CHART_REPOSITORY,
            chart="prometheus",
            version=PROMETHEUS_CHART_VERSION,
            release="prometheus",
            namespace=props.namespace,
            create_namespace=True,
            values={
                "alertmanager": {"enabled": False},
                "prometheus-pushgateway": {"enabled": False},
                "kube-state-metrics": {"enabled": False},
                "prometheus-node-exporter": {"enabled": False},
                "server": {
                    "fullnameOverride": PROMETHEUS_SERVICE,
                    "persistentVolume": {"enabled": False},
                    "podLabels": {"sidecar.istio.io/inject": "false"},
                    "service": {"type": "ClusterIP", "servicePort": PROMETHEUS_PORT},
                    "global": {"scrape_interval": "15s"},
                },
            },
        )

        self.prometheus_url = (
            f"http://{PROMETHEUS_SERVICE}.{props.namespace}.svc.cluster.local:{PROMETHEUS_PORT}"
        )
        self.kiali = eks.HelmChart(
            self,
            "Kiali",
            cluster=props.cluster,
            repository=KIALI_CHART_REPOSITORY,
            chart="kiali-server",
            version=KIALI_CHART_VERSION,
            release="kiali",
            namespace=props.namespace,
            create_namespace=True,
            values={
                "auth": {"strategy": "anonymous"},
                "deployment": {
                    "service_type": "ClusterIP",
                    "ingress_enabled": False,
                    "pod_labels": {"sidecar.istio.io/inject": "false"},
                },
                "server": {"port": KIALI_PORT, "web_root": KIALI_WEB_ROOT},
                "external_services": {
                    "prometheus": {"url": self.prometheus_url},
                    # Kiali refuses to start when tracing is enabled without a backend.
                    "tracing": {"enabled": False},
                },
            },
        )
        # Kiali's first health check queries Prometheus.
        self.kiali.node.add_dependency(self.prometheus)

    @property
    def kiali_port_forward_command(self) -> str:
        service = f"svc/{KIALI_SERVICE}"
        return f"kubectl port-forward -n {self.namespace} {service} {KIALI_PORT}:{KIALI_PORT}"

    @property
    def kiali_local_url(self) -> str:
        return f"http://localhost:{KIALI_PORT}{KIALI_WEB_ROOT}"
