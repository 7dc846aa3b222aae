"""The one description of every observability service that other parts of the lab must agree on.

istiod's tracing extension provider, the mesh-wide Telemetry resource, Kiali's and Grafana's
data sources, the stack outputs and the smoke check all take a service's name, namespace and
port from the objects here, never from a literal of their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

OBSERVABILITY_NAMESPACE = "istio-system"
NOT_INJECTED = MappingProxyType({"sidecar.istio.io/inject": "false"})


@dataclass(frozen=True)
class ClusterService:
    """A Service in the cluster, as clients inside the cluster address it."""

    name: str
    port: int
    namespace: str = OBSERVABILITY_NAMESPACE

    @property
    def host(self) -> str:
        # istiod resolves an extension provider's service exactly: the full name is needed.
        return f"{self.name}.{self.namespace}.svc.cluster.local"

    def url(self, path: str = "") -> str:
        return f"http://{self.host}:{self.port}{path}"


@dataclass(frozen=True)
class PortForward:
    """How a learner reaches `service` from their machine: a kubectl port-forward."""

    service: ClusterService
    local_port: int
    path: str = ""

    @property
    def command(self) -> str:
        service = self.service
        return (
            f"kubectl port-forward -n {service.namespace} svc/{service.name} "
            f"{self.local_port}:{service.port}"
        )

    @property
    def local_url(self) -> str:
        return f"http://localhost:{self.local_port}{self.path}"

    def output(self) -> str:
        """The text of a stack output: the command, then where to point the browser."""
        return f"{self.command}  # then open {self.local_url}"


PROMETHEUS = ClusterService("prometheus", 9090)
# The name Grafana's data source has, and the one Istio's dashboards expect by default.
PROMETHEUS_DATASOURCE = "Prometheus"
GRAFANA = ClusterService("grafana", 3000)
KIALI = ClusterService("kiali", 20001)
KIALI_WEB_ROOT = "/kiali"

GRAFANA_ACCESS = PortForward(GRAFANA, 3000)
KIALI_ACCESS = PortForward(KIALI, 20001, KIALI_WEB_ROOT)


@dataclass(frozen=True)
class ContainerPort:
    name: str
    port: int


@dataclass(frozen=True)
class ServicePort:
    """A port of one of the backend's Services, forwarding to a port of its container."""

    service: str
    name: str
    port: int
    target: ContainerPort

    def in_cluster(self) -> ClusterService:
        return ClusterService(self.service, self.port)


@dataclass(frozen=True)
class TracingBackend:
    """A tracing backend deployed from its project's official image, in memory (a lab).

    name: the backend, and the name of istiod's extension provider that sends it spans.
    provider_kind: the extension provider's type in meshConfig ("opentelemetry", "zipkin").
    collector: where proxies send spans; query: the HTTP UI and API; ui_local_port: where
    the learner's port-forward listens. kiali_grpc_query: the gRPC query port Kiali reads
    traces from, or None when Kiali has no provider for this backend (Kiali supports Jaeger
    and Tempo).
    """

    name: str
    provider_kind: str
    image: str
    container_ports: tuple[ContainerPort, ...]
    collector: ServicePort
    query: ServicePort
    ui_local_port: int
    ui_path: str
    readiness_path: str
    readiness_port: ContainerPort
    extra_service_ports: tuple[ServicePort, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    kiali_grpc_query: ServicePort | None = None
    resources: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: {"requests": {"cpu": "50m", "memory": "256Mi"}}
    )

    @property
    def ui(self) -> PortForward:
        return PortForward(self.query.in_cluster(), self.ui_local_port, self.ui_path)

    def extension_provider(self) -> dict[str, Any]:
        """meshConfig.extensionProviders entry: where istiod tells proxies to send spans."""
        collector = self.collector.in_cluster()
        return {
            "name": self.name,
            self.provider_kind: {"service": collector.host, "port": collector.port},
        }

    def telemetry(self, sampling_percentage: float) -> dict[str, Any]:
        """The mesh-wide Telemetry resource that selects this provider."""
        return {
            "apiVersion": "telemetry.istio.io/v1",
            "kind": "Telemetry",
            "metadata": {"name": "mesh-default", "namespace": OBSERVABILITY_NAMESPACE},
            "spec": {
                "tracing": [
                    {
                        "providers": [{"name": self.name}],
                        "randomSamplingPercentage": sampling_percentage,
                    }
                ]
            },
        }

    def kiali_values(self) -> dict[str, Any]:
        """Kiali's external_services.tracing."""
        if self.kiali_grpc_query is None:
            return {"enabled": False}
        return {
            "enabled": True,
            "provider": self.name,
            "use_grpc": True,
            "internal_url": self.kiali_grpc_query.in_cluster().url(),
            "external_url": self.ui.local_url,
        }

    @property
    def service_ports(self) -> tuple[ServicePort, ...]:
        ports = (self.query, self.collector, *self.extra_service_ports)
        if self.kiali_grpc_query is not None:
            ports += (self.kiali_grpc_query,)
        unique = []
        for port in ports:
            if port not in unique:
                unique.append(port)
        return tuple(unique)

    def objects(self) -> list[dict[str, Any]]:
        """The Deployment and Services of the backend, in the observability namespace."""
        labels = {"app": self.name}
        container = {
            "name": self.name,
            "image": self.image,
            "ports": [{"name": p.name, "containerPort": p.port} for p in self.container_ports],
            "readinessProbe": {
                "httpGet": {"path": self.readiness_path, "port": self.readiness_port.name}
            },
            "resources": {k: dict(v) for k, v in self.resources.items()},
        }
        if self.env:
            container["env"] = [{"name": k, "value": v} for k, v in self.env.items()]
        deployment = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": self.name, "namespace": OBSERVABILITY_NAMESPACE, "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": {**labels, **NOT_INJECTED}},
                    "spec": {"containers": [container]},
                },
            },
        }
        services = {}
        for port in self.service_ports:
            service = services.setdefault(
                port.service,
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {
                        "name": port.service,
                        "namespace": OBSERVABILITY_NAMESPACE,
                        "labels": labels,
                    },
                    "spec": {"type": "ClusterIP", "selector": labels, "ports": []},
                },
            )
            service["spec"]["ports"].append(
                {"name": port.name, "port": port.port, "targetPort": port.target.name}
            )
        return [deployment, *services.values()]


_JAEGER_QUERY_HTTP = ContainerPort("query-http", 16686)
_JAEGER_QUERY_GRPC = ContainerPort("query-grpc", 16685)
_JAEGER_OTLP_GRPC = ContainerPort("otlp-grpc", 4317)
_JAEGER_OTLP_HTTP = ContainerPort("otlp-http", 4318)
_JAEGER_HEALTH = ContainerPort("health", 13133)

# Jaeger v2 with no --config runs its built-in all-in-one configuration: OTLP receivers on
# 4317/4318, the query UI and API on 16686 (gRPC 16685), memory storage of 100,000 traces,
# health on 13133 /status; the image listens on all interfaces (JAEGER_LISTEN_HOST=0.0.0.0).
# Services as the Istio addon names them: `tracing` for the UI, `jaeger-collector` for spans.
JAEGER = TracingBackend(
    name="jaeger",
    provider_kind="opentelemetry",
    image="docker.io/jaegertracing/jaeger:2.17.0",
    container_ports=(
        _JAEGER_QUERY_HTTP,
        _JAEGER_QUERY_GRPC,
        _JAEGER_OTLP_GRPC,
        _JAEGER_OTLP_HTTP,
        _JAEGER_HEALTH,
    ),
    collector=ServicePort("jaeger-collector", "grpc-otlp", 4317, _JAEGER_OTLP_GRPC),
    extra_service_ports=(ServicePort("jaeger-collector", "http-otlp", 4318, _JAEGER_OTLP_HTTP),),
    query=ServicePort("tracing", "http-query", 80, _JAEGER_QUERY_HTTP),
    kiali_grpc_query=ServicePort("tracing", "grpc-query", 16685, _JAEGER_QUERY_GRPC),
    ui_local_port=16686,
    ui_path="",
    readiness_path="/status",
    readiness_port=_JAEGER_HEALTH,
)

_ZIPKIN_HTTP = ContainerPort("http", 9411)

# Zipkin receives spans and serves its UI and API on one port; `zipkin` is the Service the
# Istio documentation's zipkin provider names.
ZIPKIN = TracingBackend(
    name="zipkin",
    provider_kind="zipkin",
    image="docker.io/openzipkin/zipkin-slim:3.4.0",
    container_ports=(_ZIPKIN_HTTP,),
    collector=ServicePort("zipkin", "http-zipkin", 9411, _ZIPKIN_HTTP),
    query=ServicePort("zipkin", "http-zipkin", 9411, _ZIPKIN_HTTP),
    ui_local_port=9411,
    ui_path="/zipkin/",
    readiness_path="/health",
    readiness_port=_ZIPKIN_HTTP,
    env={"STORAGE_TYPE": "mem"},
)

TRACING_BACKENDS: Mapping[str, TracingBackend | None] = MappingProxyType(
    {"jaeger": JAEGER, "zipkin": ZIPKIN, "none": None}
)
