"""What a healthy lab has in its cluster, read from the same plan the stacks apply."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from plan import facts
from plan.ingress import ServiceRef
from plan.kube import KubernetesObject
from plan.lab_plan import LabPlan
from plan.routing import routing_key

# The workload each chart deploys, by chart: its kind and its name from the release name (as
# the charts of the pinned versions name them; Prometheus' server is renamed by the lab).
CHART_WORKLOADS: Mapping[str, tuple[str, str]] = {
    "istiod": ("Deployment", "istiod"),
    "gateway": ("Deployment", "{release}"),
    "cni": ("DaemonSet", "istio-cni-node"),
    "ztunnel": ("DaemonSet", "ztunnel"),
    "prometheus": ("Deployment", "{release}"),
    "grafana": ("Deployment", "{release}"),
    "kiali-server": ("Deployment", "{release}"),
    "aws-load-balancer-controller": ("Deployment", "{release}"),
}


class Release(Protocol):
    """What the checks read of a Helm release: the plan's HelmRelease, or the load balancer
    controller's (aws-cdk-lib installs that chart)."""

    chart: str
    release: str
    namespace: str


@dataclass(frozen=True)
class Workload:
    kind: str  # Deployment or DaemonSet
    namespace: str
    name: str
    # Bookinfo's: the `version` label its pods carry.
    version: str | None = None


@dataclass(frozen=True)
class Expectations:
    releases: tuple[Release, ...]
    crds: tuple[str, ...]
    namespaces: Mapping[str, Mapping[str, str]]  # name -> labels it must carry
    workloads: tuple[Workload, ...]
    ingress_service: ServiceRef
    ingress_ports: tuple[int, ...]
    ingress_annotations: Mapping[str, str]
    routes: tuple[KubernetesObject, ...]  # the routing objects and the scenario's marker
    routed_services: frozenset[str]  # Bookinfo's Services, which the lab's routes route
    mesh_config: Mapping[str, Any]
    bookinfo_namespace: str

    @classmethod
    def of(cls, plan: LabPlan) -> Expectations:
        mesh = plan.mesh
        releases = tuple(
            r
            for r in (
                plan.load_balancer_controller,
                mesh.base,
                mesh.istiod,
                *mesh.node_agents,
                mesh.gateway,
                mesh.egress_gateway,
                plan.observability.prometheus,
                plan.observability.grafana,
                plan.observability.kiali,
            )
            if r is not None
        )
        workloads = [
            Workload(kind, r.namespace, name.format(release=r.release))
            for r in releases
            for kind, name in [CHART_WORKLOADS.get(r.chart, (None, None))]
            if kind is not None
        ]
        namespace = plan.bookinfo.namespace
        service = plan.ingress.service
        workloads.append(Workload("Deployment", service.namespace, service.name))
        if plan.data_plane.waypoint is not None:
            workloads.append(Workload("Deployment", namespace, plan.data_plane.waypoint.name))
        for obj in (*plan.bookinfo.objects, *plan.observability.tracing_objects):
            if obj["kind"] == "Deployment":
                labels = obj["spec"]["template"]["metadata"].get("labels", {})
                workloads.append(
                    Workload(
                        "Deployment",
                        obj["metadata"].get("namespace", facts.ISTIO_SYSTEM),
                        obj["metadata"]["name"],
                        labels.get("version") if obj in plan.bookinfo.objects else None,
                    )
                )
        routed = frozenset(
            obj["metadata"]["name"] for obj in plan.bookinfo.objects if obj["kind"] == "Service"
        )
        return cls(
            releases=releases,
            crds=(*facts.ISTIO_CRDS, *(c for f in mesh.gateway_api.files for c in f.crds)),
            namespaces={facts.ISTIO_SYSTEM: {}, namespace: dict(plan.bookinfo.labels)},
            workloads=tuple(dict.fromkeys(workloads)),
            ingress_service=service,
            ingress_ports=plan.ingress.service_port_numbers,
            ingress_annotations=plan.ingress.nlb.service_annotations(),
            routes=tuple(
                o
                for o in plan.routing.objects
                if routing_key(o) is not None or o["kind"] == "ConfigMap"
            ),
            routed_services=routed,
            mesh_config=mesh.istiod.values["meshConfig"],
            bookinfo_namespace=namespace,
        )
