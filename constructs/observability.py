"""Observability: Prometheus scraping the mesh, Grafana with Istio's dashboards, a tracing
backend, and Kiali drawing the mesh and linking to both."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_eks_v2 as eks

from constructs import Construct
from constructs.kubernetes import helm_chart, manifest
from plan.observability import ObservabilityPlan


@dataclass(frozen=True)
class ObservabilityProps:
    """
    cluster: where to install.
    observability: the plan's releases and the tracing backend's objects.
    """

    cluster: eks.ICluster
    observability: ObservabilityPlan


class Observability(Construct):
    """Deploys a single Prometheus server, Grafana, the tracing backend (if any) and Kiali,
    all ClusterIP only, in istio-system, none of them injected.

    Prometheus keeps its data in the pod (no volume): the lab's metrics only need to outlive
    a session. It scrapes every pod annotated `prometheus.io/scrape`, which Istio's sidecar
    injection sets. Grafana and Kiali allow anonymous viewers: they are reachable only
    through `kubectl port-forward`, i.e. only by someone who already holds cluster
    credentials (NetworkPolicies keep other pods out), and Kiali is view-only unless
    kialiWizards. Nothing here waits for Istio or the ingress gateway.
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: ObservabilityProps) -> None:
        super().__init__(scope, construct_id)
        plan = props.observability

        def chart(chart_id: str, release) -> eks.HelmChart:
            return helm_chart(self, chart_id, cluster=props.cluster, release=release)

        self.prometheus = chart("Prometheus", plan.prometheus)
        self.grafana = chart("Grafana", plan.grafana)
        # Grafana's first dashboards query Prometheus.
        self.grafana.node.add_dependency(self.prometheus)

        self.tracing_backend: eks.KubernetesManifest | None = None
        if plan.tracing_objects:
            self.tracing_backend = manifest(
                self, "Tracing", cluster=props.cluster, objects=plan.tracing_objects
            )
            # The namespace comes with the Prometheus chart (create_namespace).
            self.tracing_backend.node.add_dependency(self.prometheus)

        # Who may connect to each of them (NetworkPolicies, which the VPC CNI enforces).
        self.access = manifest(self, "Access", cluster=props.cluster, objects=plan.access_objects)
        self.access.node.add_dependency(self.prometheus)

        self.kiali = chart("Kiali", plan.kiali)
        # Kiali's first health check queries Prometheus; its links need the others to exist.
        for dependency in (self.prometheus, self.grafana, self.tracing_backend):
            if dependency is not None:
                self.kiali.node.add_dependency(dependency)
