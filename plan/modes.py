"""The values of the mode keys and the typed objects they stand for.

This is the one place where a mode's name is read: `build_plan` turns each name into its
object here, and from then on every question that differs between modes is asked of the
object (plan/ingress.py, plan/data_plane.py, plan/observability.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from plan import facts
from plan.data_plane import AmbientDataPlane, DataPlane, SidecarDataPlane
from plan.ingress import ChartIngress, GatewayApiIngress, Ingress
from plan.observability import JAEGER, ZIPKIN, TracingBackend

# ingressApi: the istio/gateway chart with an Istio Gateway, or a Gateway API Gateway that
# istiod deploys in Bookinfo's namespace. Each is made for Bookinfo's namespace.
INGRESS_APIS: Mapping[str, Callable[[str], Ingress]] = MappingProxyType(
    {
        "istio": lambda namespace: ChartIngress(),
        "gateway-api": lambda namespace: GatewayApiIngress(namespace=namespace),
    }
)

# dataplane: an Envoy sidecar in every pod, or ambient mode (ztunnel on every node and a
# waypoint for L7 routing).
DATAPLANES: Mapping[str, Callable[[str], DataPlane]] = MappingProxyType(
    {
        "sidecar": lambda namespace: SidecarDataPlane(),
        "ambient": lambda namespace: AmbientDataPlane(namespace=namespace),
    }
)

# tracing: the backend the proxies send spans to, or none.
TRACING: Mapping[str, TracingBackend | None] = MappingProxyType(
    {"jaeger": JAEGER, "zipkin": ZIPKIN, "none": None}
)

# Namespaces Bookinfo must not share: Istio's own, and the chart gateway's.
RESERVED_NAMESPACES = (facts.ISTIO_SYSTEM, ChartIngress().namespace)
