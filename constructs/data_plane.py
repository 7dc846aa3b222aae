"""The one description of the lab's data plane, sidecar or ambient.

Everything that differs between the two data planes is answered here: how Bookinfo's
namespace is labelled, which profile istiod gets, which node agents run (istio-cni and
ztunnel in ambient), what each application pod costs on top of its own containers, and, in
ambient, the waypoint that carries the scenarios' L7 routing and the Services that use it.
The cluster stack picks one of the two classes once, from the validated configuration;
constructs ask the object, never the configuration.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from constructs.manifest_files import KubernetesObject

INJECTION_LABEL = "istio-injection"
DATAPLANE_MODE_LABEL = "istio.io/dataplane-mode"
USE_WAYPOINT_LABEL = "istio.io/use-waypoint"
WAYPOINT_FOR_LABEL = "istio.io/waypoint-for"
WAYPOINT_CLASS = "istio-waypoint"
# The port a waypoint receives HBONE (mTLS-tunnelled) traffic from ztunnel on.
HBONE_PORT = 15008

# Both labels are always set, each way: aws-cdk's patch handler applies only the new merge
# patch on an update, so a label the new patch does not name would stay as it was.
NOT_MESHED_LABELS: Mapping[str, str] = MappingProxyType(
    {INJECTION_LABEL: "disabled", DATAPLANE_MODE_LABEL: "none"}
)

# The sidecar's requests, the chart's default, named because the capacity check adds them up
# for every injected pod (and for every gateway pod istiod deploys from its proxy template).
SIDECAR_RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"}}


@dataclass(frozen=True)
class SidecarDataPlane:
    """Every Bookinfo pod gets an Envoy sidecar from istiod's injection webhook."""

    @property
    def namespace_labels(self) -> dict[str, str]:
        return {INJECTION_LABEL: "enabled", DATAPLANE_MODE_LABEL: "none"}

    @property
    def pod_overhead(self) -> Mapping[str, Any] | None:
        """What an application pod asks for on top of its containers: the sidecar."""
        return SIDECAR_RESOURCES

    @property
    def waypoint(self) -> Waypoint | None:
        return None

    @property
    def dashboards(self) -> Mapping[str, str]:
        """Grafana dashboards for this data plane's own proxies, beyond Istio's common
        ones: name -> file in Istio's manifests/addons/dashboards."""
        return {}

    def istiod_values(self) -> dict[str, Any]:
        return {}

    def enroll(self, objects: Iterable[KubernetesObject]) -> list[KubernetesObject]:
        """Bookinfo's objects as this data plane deploys them: unchanged."""
        return list(objects)


@dataclass(frozen=True)
class Waypoint:
    """A waypoint proxy for Services of one namespace: a Gateway API Gateway of class
    `istio-waypoint`, from which istiod deploys an Envoy Deployment and its Service.

    services: the Services labelled to send their traffic through it (the ones whose L7
        routing the scenarios change).
    """

    namespace: str
    name: str = "waypoint"
    services: tuple[str, ...] = ("reviews",)

    def gateway_object(self) -> KubernetesObject:
        return {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                # For Services' traffic (the default, said explicitly).
                "labels": {WAYPOINT_FOR_LABEL: "service"},
            },
            "spec": {
                "gatewayClassName": WAYPOINT_CLASS,
                "listeners": [{"name": "mesh", "port": HBONE_PORT, "protocol": "HBONE"}],
            },
        }


# ztunnel's and istio-cni's requests: the charts' defaults (release-1.31), named because the
# capacity check adds them up on every node.
ZTUNNEL_RESOURCES = {"requests": {"cpu": "200m", "memory": "512Mi"}}
CNI_RESOURCES = {"requests": {"cpu": "100m", "memory": "100Mi"}}
# istiod's default for the waypoint Deployments it generates (global.waypoint.resources).
WAYPOINT_RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"}}


@dataclass(frozen=True)
class AmbientDataPlane:
    """No sidecars: istio-cni redirects the namespace's pods into ztunnel (one per node,
    L4 and mTLS), and a waypoint applies L7 routing for the Services that use it."""

    namespace: str
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
        return {INJECTION_LABEL: "disabled", DATAPLANE_MODE_LABEL: "ambient"}

    @property
    def pod_overhead(self) -> Mapping[str, Any] | None:
        return None

    @property
    def dashboards(self) -> Mapping[str, str]:
        return {"istio-ztunnel-dashboard": "ztunnel-dashboard.gen.json"}

    def istiod_values(self) -> dict[str, Any]:
        """The istiod chart's ambient profile (the Helm install guide's `profile=ambient`),
        and the waypoints' requests."""
        return {
            "profile": "ambient",
            "global": {"waypoint": {"resources": self.waypoint_resources}},
        }

    def cni_values(self) -> dict[str, Any]:
        return {"profile": "ambient", "resources": self.cni_resources}

    def ztunnel_values(self) -> dict[str, Any]:
        return {"resources": self.ztunnel_resources}

    def enroll(self, objects: Iterable[KubernetesObject]) -> list[KubernetesObject]:
        """Bookinfo's objects with the waypoint's Services labelled to use it. The namespace
        label, not the objects, puts the pods into the mesh."""
        enrolled = []
        wanted = set(self.waypoint.services)
        for obj in objects:
            if obj["kind"] == "Service" and obj["metadata"]["name"] in wanted:
                obj = {
                    **obj,
                    "metadata": {
                        **obj["metadata"],
                        "labels": {
                            **obj["metadata"].get("labels", {}),
                            USE_WAYPOINT_LABEL: self.waypoint.name,
                        },
                    },
                }
                wanted.discard(obj["metadata"]["name"])
            enrolled.append(obj)
        if wanted:
            raise ValueError(f"the waypoint's Services {sorted(wanted)} are not in the manifest")
        return enrolled


DataPlane = SidecarDataPlane | AmbientDataPlane
