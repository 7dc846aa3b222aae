"""The one description of the lab's data plane, sidecar or ambient.

Everything that differs between the two data planes is answered here: how Bookinfo's
namespace is labelled, which profile istiod gets, which node agents run (istio-cni and
ztunnel in ambient), what each application pod costs on top of its own containers, in which
form the scenarios are applied, and, in ambient, the waypoint that carries the scenarios' L7
routing and the Services that use it. The plan picks one of the two classes once, from the
validated configuration; nobody else asks which one it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

from plan import facts
from plan.capacity import Pods, Requests
from plan.charts import HelmRelease
from plan.kube import KubernetesObject, versions_of
from plan.scenarios import AMBIENT_FORM, ScenarioForm, with_several_versions

# Both labels are always set, each way: aws-cdk's patch handler applies only the new merge
# patch on an update, so a label the new patch does not name would stay as it was.
NOT_MESHED_LABELS: Mapping[str, str] = MappingProxyType(
    {
        facts.INJECTION_LABEL: facts.INJECTION_DISABLED,
        facts.DATAPLANE_MODE_LABEL: facts.DATAPLANE_MODE_NONE,
    }
)

# The sidecar's requests, the demo profile's (global.proxy.resources), named because the
# capacity check adds them up for every injected pod (and for every gateway pod istiod
# deploys from its proxy template).
SIDECAR_RESOURCES = facts.DEMO_PROXY_REQUESTS


@dataclass(frozen=True)
class SidecarDataPlane:
    """Every Bookinfo pod gets an Envoy sidecar from istiod's injection webhook."""

    # Every meshed service's proxy sends spans: a trace shows each service by name.
    per_service_spans: ClassVar[bool] = True

    @classmethod
    def for_namespace(cls, namespace: str) -> SidecarDataPlane:
        return cls()

    @property
    def namespace_labels(self) -> dict[str, str]:
        return {
            facts.INJECTION_LABEL: facts.INJECTION_ENABLED,
            facts.DATAPLANE_MODE_LABEL: facts.DATAPLANE_MODE_NONE,
        }

    @property
    def pod_overhead(self) -> Requests | None:
        """What an application pod asks for on top of its containers: the sidecar."""
        return Requests.of(SIDECAR_RESOURCES)

    @property
    def waypoint(self) -> Waypoint | None:
        return None

    @property
    def dashboards(self) -> Mapping[str, str]:
        """Grafana dashboards for this data plane's own proxies, beyond Istio's common
        ones: name -> file in Istio's manifests/addons/dashboards."""
        return {}

    def route_form(self, ingress_form: ScenarioForm) -> ScenarioForm:
        """The scenarios' form: each client's sidecar applies the routes of the ingress API."""
        return ingress_form

    def istiod_values(self) -> dict[str, Any]:
        return {}

    def node_agents(self, istio_version: str) -> tuple[HelmRelease, ...]:
        return ()

    def pods(self) -> tuple[Pods, ...]:
        """Pods of the data plane itself (node agents, waypoints)."""
        return ()

    def enroll(self, objects: Iterable[KubernetesObject]) -> list[KubernetesObject]:
        """Bookinfo's objects as this data plane deploys them: unchanged."""
        return list(objects)


@dataclass(frozen=True)
class Waypoint:
    """A waypoint proxy for Services of one namespace: a Gateway API Gateway of class
    `istio-waypoint`, from which istiod deploys an Envoy Deployment and its Service."""

    namespace: str
    name: str = "waypoint"

    def gateway_object(self) -> KubernetesObject:
        return {
            "apiVersion": facts.GATEWAY_API_V1,
            "kind": "Gateway",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                # For Services' traffic (the default, said explicitly).
                "labels": {facts.WAYPOINT_FOR_LABEL: "service"},
            },
            "spec": {
                "gatewayClassName": facts.WAYPOINT_CLASS,
                "listeners": [{"name": "mesh", "port": facts.HBONE_PORT, "protocol": "HBONE"}],
            },
        }


# ztunnel's and istio-cni's requests, the demo profile's (release-1.31), named because the
# capacity check adds them up on every node.
ZTUNNEL_RESOURCES = facts.DEMO_PROXY_REQUESTS
CNI_RESOURCES = facts.DEMO_PROXY_REQUESTS
# The demo profile's requests for the waypoint Deployments istiod generates
# (global.waypoint.resources).
WAYPOINT_RESOURCES = facts.DEMO_PROXY_REQUESTS


@dataclass(frozen=True)
class AmbientDataPlane:
    """No sidecars: istio-cni redirects the namespace's pods into ztunnel (one per node,
    L4 and mTLS), and a waypoint applies L7 routing for the Services that use it."""

    namespace: str
    # Only gateways and waypoints send spans; ztunnel works at L4.
    per_service_spans: ClassVar[bool] = False
    # The node agents' requests, as the charts are given them.
    ztunnel_resources: Mapping[str, Any] = field(default_factory=lambda: ZTUNNEL_RESOURCES)
    cni_resources: Mapping[str, Any] = field(default_factory=lambda: CNI_RESOURCES)
    waypoint_resources: Mapping[str, Any] = field(default_factory=lambda: WAYPOINT_RESOURCES)

    @property
    def waypoint(self) -> Waypoint:
        """The waypoint in Bookinfo's namespace."""
        return Waypoint(namespace=self.namespace)

    @property
    def namespace_labels(self) -> dict[str, str]:
        return {
            facts.INJECTION_LABEL: facts.INJECTION_DISABLED,
            facts.DATAPLANE_MODE_LABEL: facts.DATAPLANE_MODE_AMBIENT,
        }

    @property
    def pod_overhead(self) -> Requests | None:
        return None

    @property
    def dashboards(self) -> Mapping[str, str]:
        return {"istio-ztunnel-dashboard": "ztunnel-dashboard.gen.json"}

    @classmethod
    def for_namespace(cls, namespace: str) -> AmbientDataPlane:
        return cls(namespace=namespace)

    def route_form(self, ingress_form: ScenarioForm) -> ScenarioForm:
        """The waypoint applies HTTPRoutes, whatever API the ingress uses."""
        return AMBIENT_FORM

    def istiod_values(self) -> dict[str, Any]:
        """The istiod chart's ambient profile (the Helm install guide's `profile=ambient`),
        and the waypoints' requests."""
        return {
            "profile": "ambient",
            "global": {"waypoint": {"resources": self.waypoint_resources}},
        }

    def node_agents(self, istio_version: str) -> tuple[HelmRelease, ...]:
        """istio-cni and ztunnel, as Istio's Helm guide for ambient installs them (release
        names, namespace and profile); both DaemonSets are waited for on every node, since a
        pod started on a node before both run there is not redirected into the mesh."""
        agents = []
        for (chart, release), values in (
            (facts.ISTIO_CNI, {"profile": "ambient", "resources": self.cni_resources}),
            (facts.ZTUNNEL, {"resources": self.ztunnel_resources}),
        ):
            agents.append(
                HelmRelease(
                    repository=facts.ISTIO_CHART_REPOSITORY,
                    chart=chart,
                    version=istio_version,
                    release=release,
                    namespace=facts.ISTIO_SYSTEM,
                    values=values,
                    wait=True,
                )
            )
        return tuple(agents)

    def pods(self) -> tuple[Pods, ...]:
        return (
            Pods("ztunnel", Requests.of(self.ztunnel_resources), per_node=True),
            Pods("istio-cni-node", Requests.of(self.cni_resources), per_node=True),
            Pods(self.waypoint.name, Requests.of(self.waypoint_resources)),
        )

    def enroll(self, objects: Iterable[KubernetesObject]) -> list[KubernetesObject]:
        """Bookinfo's objects with the Services whose routing the scenarios change (those
        with several versions) labelled to use the waypoint. The namespace label, not the
        objects, puts the pods into the mesh."""
        objects = list(objects)
        enrolled = []
        wanted = set(with_several_versions(versions_of(objects)))
        for obj in objects:
            if obj["kind"] == "Service" and obj["metadata"]["name"] in wanted:
                obj = {
                    **obj,
                    "metadata": {
                        **obj["metadata"],
                        "labels": {
                            **obj["metadata"].get("labels", {}),
                            facts.USE_WAYPOINT_LABEL: self.waypoint.name,
                        },
                    },
                }
                wanted.discard(obj["metadata"]["name"])
            enrolled.append(obj)
        if wanted:
            raise ValueError(f"the waypoint's Services {sorted(wanted)} are not in the manifest")
        return enrolled


DataPlane = SidecarDataPlane | AmbientDataPlane
