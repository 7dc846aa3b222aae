"""The values of the mode keys and the typed objects they stand for.

This is the one place where a mode's name is read: `build_plan` turns each name into its
object here, and from then on every question that differs between modes is asked of the
object (plan/ingress.py, plan/data_plane.py, plan/observability.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from plan import facts
from plan.data_plane import AmbientDataPlane, DataPlane, SidecarDataPlane
from plan.ingress import ChartIngress, GatewayApiIngress, Ingress
from plan.observability import JAEGER, ZIPKIN, TracingBackend

# ingressApi: the istio/gateway chart with an Istio Gateway, or a Gateway API Gateway that
# istiod deploys in Bookinfo's namespace. Each class makes its object for Bookinfo's
# namespace (`for_namespace`).
INGRESS_APIS: Mapping[str, type[Ingress]] = MappingProxyType(
    {"istio": ChartIngress, "gateway-api": GatewayApiIngress}
)

# dataplane: an Envoy sidecar in every pod, or ambient mode (ztunnel on every node and a
# waypoint for L7 routing).
DATAPLANES: Mapping[str, type[DataPlane]] = MappingProxyType(
    {"sidecar": SidecarDataPlane, "ambient": AmbientDataPlane}
)

# tracing: the backend the proxies send spans to, or none.
TRACING: Mapping[str, TracingBackend | None] = MappingProxyType(
    {"jaeger": JAEGER, "zipkin": ZIPKIN, "none": None}
)

# Namespaces Bookinfo must not share: Istio's own, and the chart gateway's.
RESERVED_NAMESPACES = tuple(dict.fromkeys((facts.ISTIO_SYSTEM, ChartIngress().namespace)))
