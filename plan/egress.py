"""The egress gateway as the Istio docs' demo install has it: `istio-egressgateway` in
istio-system, which the egress Task pages (egress gateways, TLS origination, wildcard hosts)
route through. Inside the cluster only: a ClusterIP Service, no load balancer.

Deployed in both data planes: the ambient profile still injects sidecars where a namespace
asks for them, so the sidecar pages work there too. (The ambient egress guide uses a
waypoint of its own in `istio-egress` instead, which the learner creates.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from checks.istio_analyzer import GatewayWorkload
from plan import facts
from plan.capacity import Pods, Requests
from plan.charts import HelmRelease
from plan.ingress import frozen, frozen_resources, gateway_chart_release, gateway_chart_values
from plan.kube import ServicePort


@dataclass(frozen=True)
class EgressGateway:
    """The istio/gateway release with the demo profile's names, labels, ports (http2 80 to
    8080, https 443 to 8443) and requests."""

    release: str = facts.EGRESS_GATEWAY
    namespace: str = facts.ISTIO_SYSTEM
    labels: Mapping[str, str] = field(
        default_factory=lambda: frozen(
            {"app": facts.EGRESS_GATEWAY, "istio": facts.EGRESS_GATEWAY_SELECTOR}
        )
    )
    ports: tuple[ServicePort, ...] = (
        ServicePort("http2", 80, 8080),
        ServicePort("https", 443, 8443),
    )
    resources: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: frozen_resources(facts.DEMO_PROXY_REQUESTS)
    )

    def chart_values(self) -> dict[str, Any]:
        return gateway_chart_values(
            self.labels,
            self.resources,
            {"type": "ClusterIP", "ports": [port.to_service_port() for port in self.ports]},
        )

    def gateway_release(self, istio_version: str) -> HelmRelease:
        return gateway_chart_release(
            self.release, self.namespace, self.chart_values(), istio_version
        )

    def workload(self) -> GatewayWorkload:
        """The gateway pods a Gateway with `istio: egressgateway` selects, for the analyzer."""
        return GatewayWorkload(
            namespace=self.namespace,
            service_name=self.release,
            pod_labels=dict(self.labels),
            ports=self.ports,
        )

    def pods(self) -> tuple[Pods, ...]:
        return (Pods(self.release, Requests.of(self.resources)),)
