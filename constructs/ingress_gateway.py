"""The one description of the lab's ingress gateway, in either ingress API.

The istio/gateway chart values (pod labels, Service ports, NLB annotations) and the Bookinfo
`Gateway` resource (selector, listening port) are both derived from an `IngressGateway`, so the
port the Gateway listens on cannot drift from the ports the gateway Service exposes. With the
Kubernetes Gateway API, a `GatewayApiIngress` derives the Gateway that istiod deploys from the
same `IngressGateway`: the same NLB annotations and the same HTTP port, so the two modes
cannot drift either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class ServicePort:
    """A port of the gateway Service: `port` on the NLB, `target_port` on the gateway pod."""

    name: str
    port: int
    target_port: int
    protocol: str = "TCP"

    def to_service_port(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "port": self.port,
            "protocol": self.protocol,
            "targetPort": self.target_port,
        }


def _frozen(mapping: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping))


def _frozen_resources(
    resources: Mapping[str, Mapping[str, str]],
) -> Mapping[str, Mapping[str, str]]:
    return MappingProxyType({kind: _frozen(amounts) for kind, amounts in resources.items()})


@dataclass(frozen=True)
class IngressGateway:
    """The istio/gateway release fronted by an internet-facing NLB.

    Defaults reproduce the layout of the Istio docs: release and namespace `istio-ingress`,
    pods labelled `istio=ingressgateway` (the label the docs' Gateways select on).
    """

    release: str = "istio-ingress"
    namespace: str = "istio-ingress"
    labels: Mapping[str, str] = field(
        default_factory=lambda: _frozen({"app": "istio-ingress", "istio": "ingressgateway"})
    )
    # Envoy's readiness endpoint; the NLB health-checks it instead of probing each traffic port.
    status_port: ServicePort = ServicePort("status-port", 15021, 15021)
    readiness_path: str = "/healthz/ready"
    http_port: ServicePort = ServicePort("http2", 80, 80)
    https_port: ServicePort = ServicePort("https", 443, 443)
    # The chart's default requests, named here because the capacity check adds them up.
    resources: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: _frozen_resources({"requests": {"cpu": "100m", "memory": "128Mi"}})
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", _frozen(self.labels))
        missing = {"app", "istio"} - set(self.labels)
        if missing:
            # The chart falls back to labels derived from the release name (istio=ingress),
            # which is exactly the selector mismatch this object exists to prevent.
            raise ValueError(f"gateway labels must set {sorted(missing)} explicitly")

    @property
    def service_ports(self) -> tuple[ServicePort, ...]:
        return (self.status_port, self.http_port, self.https_port)

    @property
    def selector(self) -> dict[str, str]:
        """What a Bookinfo `Gateway` selects on: the pod label the Istio docs use."""
        return {"istio": self.labels["istio"]}

    @property
    def listen_port(self) -> int:
        """The port an Istio `Gateway` server binds: the pod side of the http Service port.

        Istio programs the gateway pod's Envoy to listen on the Gateway's server port, so it
        must be a Service targetPort, or nothing answers (istioctl analyze IST0162).
        """
        return self.http_port.target_port

    def service_annotations(self) -> dict[str, str]:
        """AWS Load Balancer Controller annotations: internet-facing NLB, IP targets,
        health-checked over HTTP on the status port so the targets report healthy."""
        prefix = "service.beta.kubernetes.io/aws-load-balancer"
        return {
            f"{prefix}-type": "external",
            f"{prefix}-nlb-target-type": "ip",
            f"{prefix}-scheme": "internet-facing",
            f"{prefix}-healthcheck-protocol": "http",
            f"{prefix}-healthcheck-port": str(self.status_port.target_port),
            f"{prefix}-healthcheck-path": self.readiness_path,
        }

    def chart_values(self) -> dict[str, Any]:
        """Values for the istio/gateway Helm chart."""
        return {
            "labels": dict(self.labels),
            "resources": {kind: dict(amounts) for kind, amounts in self.resources.items()},
            "service": {
                "type": "LoadBalancer",
                "ports": [port.to_service_port() for port in self.service_ports],
                "annotations": self.service_annotations(),
            },
        }

    def url(self, hostname: str, path: str) -> str:
        """The plain-HTTP URL of `path` behind the NLB named `hostname`."""
        return f"http://{hostname}:{self.http_port.port}{path}"


GATEWAY_API_VERSION = "gateway.networking.k8s.io/v1"


@dataclass(frozen=True)
class GatewayApiIngress:
    """A Kubernetes Gateway API `Gateway` of class `istio`: istiod deploys its Deployment and
    its Service (`<name>-<class>`, status port 15021 first, then the listeners' ports) in
    the Gateway's namespace, and the Service takes the annotations of
    `spec.infrastructure.annotations`.

    nlb: the description whose NLB annotations and HTTP port the Gateway takes over.
    """

    namespace: str
    name: str = "bookinfo-gateway"
    gateway_class: str = "istio"
    listener: str = "http"
    nlb: IngressGateway = field(default_factory=IngressGateway)

    @property
    def service_name(self) -> str:
        """The Service istiod creates for the Gateway (and the load balancer controller
        gives an NLB)."""
        return f"{self.name}-{self.gateway_class}"

    @property
    def listen_port(self) -> int:
        # Istio's Service exposes each listener's port and its pod listens on that port.
        return self.nlb.http_port.port

    def gateway_object(self) -> dict[str, Any]:
        return {
            "apiVersion": GATEWAY_API_VERSION,
            "kind": "Gateway",
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": {
                "gatewayClassName": self.gateway_class,
                "infrastructure": {"annotations": self.nlb.service_annotations()},
                "listeners": [
                    {
                        "name": self.listener,
                        "port": self.listen_port,
                        "protocol": "HTTP",
                        "allowedRoutes": {"namespaces": {"from": "Same"}},
                    }
                ],
            },
        }

    def parent_ref(self) -> dict[str, str]:
        """How an HTTPRoute attaches to the Gateway's listener."""
        return {"name": self.name, "sectionName": self.listener}

    def url(self, hostname: str, path: str) -> str:
        return f"http://{hostname}:{self.listen_port}{path}"
