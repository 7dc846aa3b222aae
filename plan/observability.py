"""Observability as the plan describes it: every service that other parts of the lab must
agree on (istiod's extension providers, Kiali's and Grafana's data sources, the stack outputs,
smoke), the tracing backends, and the values of the Prometheus, Grafana and Kiali charts.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from plan import facts
from plan.capacity import Pods, Requests, pods_of_manifest
from plan.charts import HelmRelease
from plan.kube import KubernetesObject, ServicePort

OBSERVABILITY_NAMESPACE = facts.ISTIO_SYSTEM
NOT_INJECTED = MappingProxyType(dict([facts.NOT_INJECTED_LABEL]))


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


@dataclass(frozen=True)
class ExtensionProvider:
    """An entry of istiod's meshConfig.extensionProviders: a name that Telemetry resources
    and meshConfig.defaultProviders select, the provider's type (its key in the entry:
    "opentelemetry", "zipkin", "envoyOtelAls", "skywalking") and where it sends."""

    name: str
    kind: str
    service: ClusterService

    def mesh_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            self.kind: {"service": self.service.host, "port": self.service.port},
        }


_OTEL_COLLECTOR = ClusterService("opentelemetry-collector", 4317, "observability")
# The extension providers of Istio's demo profile (the istiod chart's files/profile-demo.yaml,
# release-1.31), by the names the Tasks' Telemetry resources use: OpenTelemetry access logs
# ("otel"), OpenTelemetry tracing ("otel-tracing"), SkyWalking and Jaeger. Their backends
# are the ones each Task installs.
DEMO_EXTENSION_PROVIDERS = (
    ExtensionProvider("otel", "envoyOtelAls", _OTEL_COLLECTOR),
    ExtensionProvider("skywalking", "skywalking", ClusterService("tracing", 11800)),
    ExtensionProvider("otel-tracing", "opentelemetry", _OTEL_COLLECTOR),
    ExtensionProvider("jaeger", "opentelemetry", ClusterService("jaeger-collector", 4317)),
)


def extension_providers(tracing: TracingBackend | None) -> tuple[ExtensionProvider, ...]:
    """The demo profile's providers, and the lab's tracing backend's unless one of them is
    it already; a backend that took a demo provider's name for another service is refused."""
    providers = DEMO_EXTENSION_PROVIDERS
    if tracing is None:
        return providers
    own = tracing.extension_provider()
    same_name = [p for p in providers if p.name == own.name]
    if not same_name:
        return (*providers, own)
    if same_name != [own]:
        raise ValueError(
            f"tracing backend {own.name}: the demo profile's provider of that name sends to "
            f"{same_name[0].service.host}:{same_name[0].service.port} ({same_name[0].kind})"
        )
    return providers


PROMETHEUS = ClusterService("prometheus", 9090)
# The name Grafana's data source has, and the one Istio's dashboards expect by default.
PROMETHEUS_DATASOURCE = "Prometheus"
GRAFANA = ClusterService("grafana", 3000)
KIALI = ClusterService("kiali", 20001)
KIALI_WEB_ROOT = "/kiali"

# The learner's machine forwards the same port numbers the Services use.
GRAFANA_ACCESS = PortForward(GRAFANA, GRAFANA.port)
KIALI_ACCESS = PortForward(KIALI, KIALI.port, KIALI_WEB_ROOT)


@dataclass(frozen=True)
class ContainerPort:
    name: str
    port: int


@dataclass(frozen=True)
class BackendPort:
    """A port of one of the backend's Services, forwarding to a named port of its container."""

    service: str
    port: ServicePort

    @classmethod
    def of(cls, service: str, name: str, port: int, target: ContainerPort) -> BackendPort:
        return cls(service, ServicePort(name, port, target.name))

    def in_cluster(self) -> ClusterService:
        return ClusterService(self.service, self.port.port)


@dataclass(frozen=True)
class TracingBackend:
    """A tracing backend deployed from its project's official image, in memory (a lab).

    name: the backend, and the name of istiod's extension provider that sends it spans.
    provider_kind: the extension provider's type in meshConfig ("opentelemetry", "zipkin").
    query_api: the form of the HTTP API behind `query` ("jaeger": Jaeger's /api/services and
    /api/traces; "zipkin-v2": Zipkin's /api/v2/...), which smoke reads traces through.
    collector: where proxies send spans; query: the HTTP UI and API; ui_local_port: where
    the learner's port-forward listens. kiali_grpc_query: the gRPC query port Kiali reads
    traces from, or None when Kiali has no provider for this backend (Kiali supports Jaeger
    and Tempo).
    """

    name: str
    provider_kind: str
    query_api: str
    image: str
    container_ports: tuple[ContainerPort, ...]
    collector: BackendPort
    query: BackendPort
    ui_local_port: int
    ui_path: str
    readiness_path: str
    readiness_port: ContainerPort
    extra_service_ports: tuple[BackendPort, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    kiali_grpc_query: BackendPort | None = None
    resources: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: {"requests": {"cpu": "50m", "memory": "256Mi"}}
    )

    @property
    def ui(self) -> PortForward:
        return PortForward(self.query.in_cluster(), self.ui_local_port, self.ui_path)

    def extension_provider(self) -> ExtensionProvider:
        """Where istiod tells proxies to send spans."""
        return ExtensionProvider(self.name, self.provider_kind, self.collector.in_cluster())

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
    def service_ports(self) -> tuple[BackendPort, ...]:
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
                {
                    "name": port.port.name,
                    "port": port.port.port,
                    "targetPort": port.port.target_port,
                }
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
# (cmd/jaeger/internal/all-in-one.yaml and cmd/jaeger/Dockerfile, the same from v2.17.0 to
# the main branch of 2026-08-20 apart from the MCP tools.) Jaeger maintains only its newest
# minor: 2.21.0, released in September 2026, is the newest that could be established here.
# Services as the Istio addon names them: `tracing` for the UI, `jaeger-collector` for spans.
JAEGER = TracingBackend(
    name="jaeger",
    provider_kind="opentelemetry",
    query_api="jaeger",
    image="docker.io/jaegertracing/jaeger:2.21.0",
    container_ports=(
        _JAEGER_QUERY_HTTP,
        _JAEGER_QUERY_GRPC,
        _JAEGER_OTLP_GRPC,
        _JAEGER_OTLP_HTTP,
        _JAEGER_HEALTH,
    ),
    collector=BackendPort.of("jaeger-collector", "grpc-otlp", 4317, _JAEGER_OTLP_GRPC),
    extra_service_ports=(BackendPort.of("jaeger-collector", "http-otlp", 4318, _JAEGER_OTLP_HTTP),),
    query=BackendPort.of("tracing", "http-query", 80, _JAEGER_QUERY_HTTP),
    kiali_grpc_query=BackendPort.of("tracing", "grpc-query", 16685, _JAEGER_QUERY_GRPC),
    ui_local_port=_JAEGER_QUERY_HTTP.port,
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
    query_api="zipkin-v2",
    image="docker.io/openzipkin/zipkin-slim:3.4.0",
    container_ports=(_ZIPKIN_HTTP,),
    collector=BackendPort.of("zipkin", "http-zipkin", 9411, _ZIPKIN_HTTP),
    query=BackendPort.of("zipkin", "http-zipkin", 9411, _ZIPKIN_HTTP),
    ui_local_port=_ZIPKIN_HTTP.port,
    ui_path="/zipkin/",
    readiness_path="/health",
    readiness_port=_ZIPKIN_HTTP,
    env={"STORAGE_TYPE": "mem"},
)

# --- The charts ------------------------------------------------------------------------------

# dashboard name in Grafana's istio folder -> file in Istio 1.31's manifests/addons/dashboards
ISTIO_DASHBOARDS: Mapping[str, str] = {
    "istio-mesh-dashboard": "istio-mesh-dashboard.gen.json",
    "istio-service-dashboard": "istio-service-dashboard.json",
    "istio-workload-dashboard": "istio-workload-dashboard.json",
    "istio-performance-dashboard": "istio-performance-dashboard.json",
    "istio-control-plane-dashboard": "pilot-dashboard.gen.json",
    "istio-wasm-extension-dashboard": "istio-extension-dashboard.json",
}
GRAFANA_DASHBOARD_FOLDER = "istio"
GRAFANA_DASHBOARD_PATH = "/var/lib/grafana/dashboards/istio"

# Requests of the pods started from these charts (the chart defaults are none, or sized
# for production): what the lab's capacity check adds up.
PROMETHEUS_RESOURCES = {"requests": {"cpu": "100m", "memory": "512Mi"}}
GRAFANA_RESOURCES = {"requests": {"cpu": "50m", "memory": "128Mi"}}
KIALI_RESOURCES = {"requests": {"cpu": "10m", "memory": "64Mi"}}


def prometheus_values() -> dict[str, Any]:
    return {
        "alertmanager": {"enabled": False},
        "prometheus-pushgateway": {"enabled": False},
        "kube-state-metrics": {"enabled": False},
        "prometheus-node-exporter": {"enabled": False},
        "server": {
            "fullnameOverride": PROMETHEUS.name,
            "persistentVolume": {"enabled": False},
            "podLabels": dict(NOT_INJECTED),
            "resources": PROMETHEUS_RESOURCES,
            "service": {"type": "ClusterIP", "servicePort": PROMETHEUS.port},
            "global": {"scrape_interval": "15s"},
        },
    }


@dataclass(frozen=True)
class Download:
    """A file to fetch, and the sha256 it must have."""

    url: str
    sha256: str


def istio_dashboard_downloads(extra: Mapping[str, str] | None = None) -> dict[str, Download]:
    """Grafana downloads Istio's dashboards when its pod starts, each checked against its
    pinned sha256; nothing of them is stored in this repository."""
    return {
        name: Download(
            facts.ISTIO_DASHBOARD_SOURCE.format(commit=facts.ISTIO_DASHBOARD_COMMIT, file=file),
            facts.ISTIO_DASHBOARD_SHA256[file],
        )
        for name, file in {**ISTIO_DASHBOARDS, **(extra or {})}.items()
    }


def grafana_values(extra_dashboards: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {
        "service": {"type": "ClusterIP", "port": GRAFANA.port},
        "podLabels": dict(NOT_INJECTED),
        "resources": GRAFANA_RESOURCES,
        # Nothing of the chart's sidecars (which need RBAC) or its test pod is used.
        "rbac": {"create": False},
        "testFramework": {"enabled": False},
        "grafana.ini": {"auth.anonymous": {"enabled": True, "org_role": "Viewer"}},
        "datasources": {
            "datasources.yaml": {
                "apiVersion": 1,
                "datasources": [
                    {
                        "name": PROMETHEUS_DATASOURCE,
                        "type": "prometheus",
                        "access": "proxy",
                        "url": PROMETHEUS.url(),
                        # Istio's dashboards pick the default Prometheus data source.
                        "isDefault": True,
                        "jsonData": {"timeInterval": "15s"},
                    }
                ],
            }
        },
        "dashboardProviders": {
            "dashboardproviders.yaml": {
                "apiVersion": 1,
                "providers": [
                    {
                        "name": GRAFANA_DASHBOARD_FOLDER,
                        "orgId": 1,
                        "folder": GRAFANA_DASHBOARD_FOLDER,
                        "type": "file",
                        "disableDeletion": False,
                        "options": {"path": GRAFANA_DASHBOARD_PATH},
                    }
                ],
            }
        },
        # Istio's dashboards are downloaded by the lab's own init container, not the chart's
        # `dashboards` (whose script stops the pod at the first failed download): Grafana
        # then starts with every dashboard that could be fetched and logs each that could not.
        "extraEmptyDirMounts": [
            {"name": DASHBOARD_VOLUME, "mountPath": GRAFANA_DASHBOARD_PATH},
        ],
        "extraInitContainers": [
            dashboard_download_container(istio_dashboard_downloads(extra_dashboards))
        ],
    }


# The image the grafana chart's own dashboard downloader uses (12.11.1 values.yaml,
# downloadDashboardsImage).
DASHBOARD_DOWNLOADER_IMAGE = "docker.io/curlimages/curl:8.21.0"
DASHBOARD_VOLUME = "istio-dashboards"
DASHBOARD_DOWNLOADER = "download-istio-dashboards"


def dashboard_download_script(downloads: Mapping[str, Download]) -> str:
    """A POSIX sh script that downloads each dashboard into the directory given as its first
    argument, retries each up to three times, keeps it only if its sha256 is the pinned one,
    and leaves out (with a line on stderr) any it cannot fetch or that differs: Grafana starts
    either way."""
    curl = "curl -sSfL --retry 3 --retry-all-errors --connect-timeout 20 --max-time 60"
    lines = ['cd "$1" || exit 1']
    for name, download in downloads.items():
        file, part = shlex.quote(f"{name}.json"), shlex.quote(f"{name}.json.part")
        where = f"Istio dashboard {name}"
        missing = shlex.quote(
            f"{where}: could not download {download.url}; Grafana starts without it"
        )
        differs = shlex.quote(
            f"{where}: {download.url} is not the pinned file (sha256 {download.sha256}); "
            "Grafana starts without it"
        )
        check = shlex.quote(f"{download.sha256}  {name}.json.part")
        lines.append(
            f"if {curl} -o {part} {shlex.quote(download.url)}; then "
            f"if echo {check} | sha256sum -c >/dev/null 2>&1; then mv {part} {file}; "
            f"else rm -f {part}; echo {differs} >&2; fi; "
            f"else rm -f {part}; echo {missing} >&2; fi"
        )
    return "\n".join(lines) + "\n"


def dashboard_download_container(downloads: Mapping[str, Download]) -> dict[str, Any]:
    return {
        "name": DASHBOARD_DOWNLOADER,
        "image": DASHBOARD_DOWNLOADER_IMAGE,
        "command": [
            "/bin/sh",
            "-c",
            dashboard_download_script(downloads),
            DASHBOARD_DOWNLOADER,
            GRAFANA_DASHBOARD_PATH,
        ],
        "volumeMounts": [{"name": DASHBOARD_VOLUME, "mountPath": GRAFANA_DASHBOARD_PATH}],
        # As the chart's own downloader runs.
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }


def kiali_values(tracing: TracingBackend | None, wizards: bool = False) -> dict[str, Any]:
    """Anonymous, as a port-forward reaches it; view-only (the chart then binds Kiali's
    viewer role, and the UI offers no wizards) unless `wizards` (kialiWizards)."""
    return {
        "auth": {"strategy": "anonymous"},
        "deployment": {
            "view_only_mode": not wizards,
            "service_type": "ClusterIP",
            "ingress": {"enabled": False},
            "pod_labels": dict(NOT_INJECTED),
            "resources": KIALI_RESOURCES,
        },
        "server": {"port": KIALI.port, "web_root": KIALI_WEB_ROOT},
        "external_services": {
            "prometheus": {"url": PROMETHEUS.url()},
            "grafana": {
                "enabled": True,
                "internal_url": GRAFANA.url(),
                "external_url": GRAFANA_ACCESS.local_url,
            },
            # Kiali refuses to start when tracing is enabled without a backend it supports.
            "tracing": tracing.kiali_values() if tracing is not None else {"enabled": False},
        },
    }


# The pods of each release, by the labels its chart gives them (rendered: prometheus 29.27.0
# server, grafana 12.11.1, kiali-server of 2026-07 with the lab's values).
PROMETHEUS_PODS = {"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/component": "server"}
GRAFANA_PODS = {"app.kubernetes.io/name": "grafana"}
KIALI_PODS = {"app.kubernetes.io/name": "kiali"}


def _peer(pods: Mapping[str, str], namespace: str | None = OBSERVABILITY_NAMESPACE) -> dict:
    """Pods with these labels in `namespace`; in any namespace when None."""
    peer: dict[str, Any] = {"podSelector": {"matchLabels": dict(pods)}}
    peer["namespaceSelector"] = (
        {} if namespace is None else {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
    )
    return peer


def _policy(name: str, pods: Mapping[str, str], rules: list[dict]) -> KubernetesObject:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"lab-{name}-ingress", "namespace": OBSERVABILITY_NAMESPACE},
        "spec": {"podSelector": {"matchLabels": dict(pods)}, "policyTypes": ["Ingress"],
                 "ingress": rules},
    }  # fmt: skip


def _rule(peers: list[dict], ports: list[int] | None = None) -> dict:
    """From `peers`, to `ports` (every port when None)."""
    rule: dict[str, Any] = {"from": peers}
    if ports is not None:
        rule["ports"] = [{"protocol": "TCP", "port": port} for port in ports]
    return rule


def _rules(peers: list[dict], ports: list[int]) -> list[dict]:
    """One rule, or none when there are no peers (an empty `from` would admit everyone)."""
    return [_rule(peers, ports)] if peers else []


def ui_network_policies(
    tracing: TracingBackend | None, gateway_pods: Mapping[str, str] | None
) -> list[KubernetesObject]:
    """Who may connect to the UIs and their backends; the VPC CNI enforces these.

    A `kubectl port-forward` enters the pod through its own loopback and the kubelet's
    probes come from the node, which the VPC CNI's policy agent always lets in, so neither
    needs a rule. Beyond that: Prometheus scrapes each of them; Kiali reads Prometheus,
    Grafana and the tracing query API; Grafana reads Prometheus; the ingress gateway
    (`gateway_pods` in istio-system) may reach each UI, for the Task that publishes them
    through it ("Remotely Accessing Telemetry Addons"); and every pod of any namespace may
    send spans to the tracing collector. Nothing else reaches them. Ports are numbers: the
    pods' own, as the Services target them."""
    scraped = _rule([_peer(PROMETHEUS_PODS)])
    gateway = [_peer(gateway_pods)] if gateway_pods else []
    policies = [
        _policy("kiali", KIALI_PODS, [scraped, *_rules(gateway, [KIALI.port])]),
        _policy(
            "grafana",
            GRAFANA_PODS,
            [scraped, *_rules([_peer(KIALI_PODS), *gateway], [GRAFANA.port])],
        ),
        _policy(
            "prometheus",
            PROMETHEUS_PODS,
            _rules([_peer(KIALI_PODS), _peer(GRAFANA_PODS), *gateway], [PROMETHEUS.port]),
        ),
    ]
    if tracing is not None:
        number = {port.name: port.port for port in tracing.container_ports}
        collectors = [tracing.collector, *tracing.extra_service_ports]
        rules = [
            scraped,
            *_rules(
                [{"namespaceSelector": {}}],
                sorted({number[p.port.target_port] for p in collectors}),
            ),
            *_rules(gateway, [number[tracing.query.port.target_port]]),
        ]
        if tracing.kiali_grpc_query is not None:
            grpc = number[tracing.kiali_grpc_query.port.target_port]
            rules += _rules([_peer(KIALI_PODS)], [grpc])
        policies.append(_policy(tracing.name, {"app": tracing.name}, rules))
    return policies


@dataclass(frozen=True)
class ObservabilityPlan:
    """Prometheus, Grafana, the tracing backend (if any) and Kiali, all ClusterIP only, in
    istio-system, none of them injected, each reached by a kubectl port-forward."""

    prometheus: HelmRelease
    grafana: HelmRelease
    kiali: HelmRelease
    tracing: TracingBackend | None
    tracing_objects: tuple[KubernetesObject, ...]
    # NetworkPolicies: who may connect to each of them (ui_network_policies).
    access_objects: tuple[KubernetesObject, ...] = ()

    @classmethod
    def of(
        cls,
        *,
        tracing: TracingBackend | None,
        extra_dashboards: Mapping[str, str],
        kiali_wizards: bool = False,
        gateway_pods: Mapping[str, str] | None = None,
    ) -> ObservabilityPlan:
        def release(repository, chart, version, name, values) -> HelmRelease:
            return HelmRelease(repository, chart, version, name, OBSERVABILITY_NAMESPACE, values)

        return cls(
            prometheus=release(
                facts.PROMETHEUS_CHART_REPOSITORY,
                "prometheus",
                facts.PROMETHEUS_CHART_VERSION,
                PROMETHEUS.name,
                prometheus_values(),
            ),
            grafana=release(
                facts.GRAFANA_CHART_REPOSITORY,
                "grafana",
                facts.GRAFANA_CHART_VERSION,
                GRAFANA.name,
                grafana_values(extra_dashboards),
            ),
            kiali=release(
                facts.KIALI_CHART_REPOSITORY,
                "kiali-server",
                facts.KIALI_CHART_VERSION,
                KIALI.name,
                kiali_values(tracing, kiali_wizards),
            ),
            tracing=tracing,
            tracing_objects=tuple(tracing.objects()) if tracing is not None else (),
            access_objects=tuple(ui_network_policies(tracing, gateway_pods)),
        )

    @property
    def pods(self) -> tuple[Pods, ...]:
        return (
            Pods(self.prometheus.release, Requests.of(PROMETHEUS_RESOURCES)),
            Pods(self.grafana.release, Requests.of(GRAFANA_RESOURCES)),
            Pods(self.kiali.release, Requests.of(KIALI_RESOURCES)),
            *pods_of_manifest(self.tracing_objects, sidecar=None),
        )

    @property
    def kiali_command(self) -> str:
        return KIALI_ACCESS.output()

    @property
    def grafana_command(self) -> str:
        return GRAFANA_ACCESS.output()

    @property
    def tracing_command(self) -> str | None:
        return None if self.tracing is None else self.tracing.ui.output()
