"""A small Istio config analyzer for the objects the lab applies, run at synth time.

istioctl cannot run here, and the lab's predecessor lost hours to a Gateway on a port its
Service did not expose. These rules catch that class of mistake before anything deploys.
Each finding names the object and the rule; the codes follow istioctl analyze where one
exists (IST0162, IST0101) and are the lab's own otherwise:
LAB001 wildcard host on a mesh route, LAB002 subset selecting no Deployment,
LAB003 a field the Istio or Gateway API does not define (checks/istio_fields.py,
checks/gateway_api_fields.py); and for the Kubernetes Gateway API: LAB004 a route's parent
that is no Gateway listener or Service of the lab, LAB005 a backend that is no Service port
of the lab, LAB006 a Gateway listener on a port its generated Service does not expose,
LAB007 a host that both an HTTPRoute and a VirtualService route; and for ambient mode:
LAB008 an L7 route for a Service that sends its traffic through no waypoint (ztunnel alone
never applies it), LAB009 an `istio.io/use-waypoint` label naming no waypoint of the lab.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from checks.istio_fields import structure_problems
from plan.facts import (
    DATAPLANE_MODE_AMBIENT,
    DATAPLANE_MODE_LABEL,
    GATEWAY_API_GROUP,
    ISTIO_NETWORKING_GROUP,
    USE_WAYPOINT_LABEL,
    USE_WAYPOINT_NAMESPACE_LABEL,
    WAYPOINT_CLASS,
    WAYPOINT_FOR_LABEL,
)
from plan.kube import ServicePort

KubernetesObject = Mapping[str, Any]

CLUSTER_DOMAIN = "svc.cluster.local"
# Kinds whose name Istio and the Kubernetes Gateway API share: an object of such a kind is
# Istio's only in Istio's API group.
ISTIO_KINDS = frozenset({"Gateway", "VirtualService", "DestinationRule", "ServiceEntry"})
# The pseudo-gateway meaning "sidecars of the mesh" in a VirtualService's gateways.
MESH_GATEWAY = "mesh"
# A waypoint takes Services' traffic unless it is for workloads only (or nothing).
WAYPOINT_FOR_SERVICES = frozenset({"service", "all"})


@dataclass(frozen=True)
class GatewayWorkload:
    """An ingress gateway deployment and its Service, as the chart installs them."""

    namespace: str
    service_name: str
    pod_labels: Mapping[str, str]
    ports: tuple[ServicePort, ...]


@dataclass(frozen=True)
class GatewayApiWorkload:
    """The Service istiod generates for a Gateway API Gateway, and the ports it exposes."""

    namespace: str
    gateway_name: str
    service_name: str
    ports: tuple[int, ...]


@dataclass(frozen=True)
class Finding:
    code: str
    kind: str
    namespace: str
    name: str
    message: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}: {self.message} [{self.code}]"


class AnalysisError(ValueError):
    """The lab's Istio configuration would not work; `problems` has one line per finding."""

    def __init__(self, findings: list[Finding]):
        self.findings = findings
        self.problems = [str(finding) for finding in findings]
        super().__init__("\n".join(self.problems))


@dataclass
class _Index:
    """The objects by kind, with lookups the rules share."""

    objects: list[KubernetesObject]
    services: dict[str, KubernetesObject] = field(default_factory=dict)  # by FQDN
    gateways: set[tuple[str, str]] = field(default_factory=set)
    subsets: dict[str, set[str]] = field(default_factory=dict)  # FQDN -> subset names
    external_hosts: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        for obj in self.objects:
            kind, namespace, name = _identity(obj)
            if kind == "Service":
                self.services[f"{name}.{namespace}.{CLUSTER_DOMAIN}"] = obj
            elif kind == "Gateway" and _is_istio(obj):
                self.gateways.add((namespace, name))
            elif kind == "ServiceEntry" and _is_istio(obj):
                self.external_hosts.update(obj["spec"].get("hosts", []))
        for obj in self.of_kind("DestinationRule"):
            host = self.resolve(obj["spec"]["host"], _identity(obj)[1])
            names = {subset["name"] for subset in obj["spec"].get("subsets", [])}
            self.subsets.setdefault(host, set()).update(names)

    def of_kind(self, kind: str) -> list[KubernetesObject]:
        """The objects of `kind`; of Istio's API group for the kinds Istio defines."""
        return [
            obj
            for obj in self.objects
            if obj["kind"] == kind and (kind not in ISTIO_KINDS or _is_istio(obj))
        ]

    @staticmethod
    def resolve(host: str, namespace: str) -> str:
        """The FQDN Istio reads a short host name as, relative to the object's namespace."""
        parts = host.split(".")
        if len(parts) == 1:
            return f"{host}.{namespace}.{CLUSTER_DOMAIN}"
        if len(parts) == 2:
            return f"{host}.{CLUSTER_DOMAIN}"
        if len(parts) == 3 and parts[2] == "svc":
            return f"{host}.cluster.local"
        return host


def analyze(
    objects: Iterable[KubernetesObject],
    *,
    gateways: Iterable[GatewayWorkload],
    gateway_api_workloads: Iterable[GatewayApiWorkload] = (),
    reserved_subsets: Mapping[str, Iterable[str]] | None = None,
    namespace_labels: Mapping[str, Mapping[str, str]] | None = None,
) -> list[Finding]:
    """Every finding for `objects` (the Kubernetes and Istio objects the lab applies).

    gateways: the gateway workloads Istio Gateways may select.
    gateway_api_workloads: the Services istiod generates for the lab's Gateway API Gateways.
    reserved_subsets: DestinationRule subsets (by short host name) allowed to select no
        Deployment, for optional workloads the lab does not deploy.
    namespace_labels: the labels the lab gives its namespaces (which data plane, which
        waypoint), by namespace name.
    """
    objects = list(objects)
    # The semantic rules below assume well-formed objects: report misspelt fields first.
    structure = [
        _finding(obj, "LAB003", problem) for obj in objects for problem in structure_problems(obj)
    ]
    if structure:
        return structure
    index = _Index(objects)
    gateway_workloads = tuple(gateways)
    reserved = {host: set(names) for host, names in (reserved_subsets or {}).items()}
    findings: list[Finding] = []
    for gateway in index.of_kind("Gateway"):
        findings += _check_gateway(gateway, gateway_workloads)
    for service in index.of_kind("VirtualService"):
        findings += _check_virtual_service(service, index)
    for rule in index.of_kind("DestinationRule"):
        findings += _check_destination_rule(rule, index, reserved)
    workloads = {(w.namespace, w.gateway_name): w for w in gateway_api_workloads}
    for gateway in _gateway_api(index, "Gateway"):
        findings += _check_gateway_api_gateway(gateway, workloads)
    for route in _gateway_api(index, "HTTPRoute"):
        findings += _check_http_route(route, index)
    findings += _check_hosts_claimed_twice(index)
    findings += _check_ambient(index, namespace_labels or {})
    return findings


# --- Ambient mode ---------------------------------------------------------------------------


def _check_ambient(index: _Index, namespaces: Mapping[str, Mapping[str, str]]) -> list[Finding]:
    """LAB009 for every use-waypoint label that names no waypoint taking Services' traffic;
    LAB008 for every L7 route whose Service, in an ambient namespace, uses no waypoint."""
    waypoints = {
        (_identity(g)[1], _identity(g)[2]): g
        for g in _gateway_api(index, "Gateway")
        if g["spec"].get("gatewayClassName") == WAYPOINT_CLASS
    }
    findings = []

    def waypoint_of(labels: Mapping[str, str], namespace: str) -> tuple[str, str] | None:
        name = labels.get(USE_WAYPOINT_LABEL)
        if name is None or name == "none":
            return None
        return labels.get(USE_WAYPOINT_NAMESPACE_LABEL, namespace), name

    def problem_with(reference: tuple[str, str]) -> str | None:
        waypoint = waypoints.get(reference)
        if waypoint is None:
            return f"waypoint {reference[0]}/{reference[1]} is not a waypoint of the lab"
        serves = waypoint["metadata"].get("labels", {}).get(WAYPOINT_FOR_LABEL, "service")
        if serves not in WAYPOINT_FOR_SERVICES:
            return (
                f"waypoint {reference[0]}/{reference[1]} is for {serves!r} traffic, not for "
                "Services'"
            )
        return None

    for namespace, labels in sorted(namespaces.items()):
        reference = waypoint_of(labels, namespace)
        problem = reference and problem_with(reference)
        if problem:
            findings.append(
                Finding(
                    "LAB009", "Namespace", namespace, namespace, f"{USE_WAYPOINT_LABEL}: {problem}"
                )
            )
    for service in index.of_kind("Service"):
        _, namespace, _ = _identity(service)
        reference = waypoint_of(service["metadata"].get("labels", {}), namespace)
        problem = reference and problem_with(reference)
        if problem:
            findings.append(_finding(service, "LAB009", f"{USE_WAYPOINT_LABEL}: {problem}"))

    def uses_waypoint(fqdn: str) -> bool:
        service = index.services[fqdn]
        _, namespace, _ = _identity(service)
        own = waypoint_of(service["metadata"].get("labels", {}), namespace)
        if own is not None:
            return own in waypoints
        if USE_WAYPOINT_LABEL in service["metadata"].get("labels", {}):
            return False  # opted out with "none"
        inherited = waypoint_of(namespaces.get(namespace, {}), namespace)
        return inherited is not None and inherited in waypoints

    def ambient(fqdn: str) -> bool:
        namespace = _identity(index.services[fqdn])[1]
        return namespaces.get(namespace, {}).get(DATAPLANE_MODE_LABEL) == DATAPLANE_MODE_AMBIENT

    for route, fqdn in _mesh_routes(index):
        if fqdn in index.services and ambient(fqdn) and not uses_waypoint(fqdn):
            findings.append(
                _finding(
                    route,
                    "LAB008",
                    f"Service {fqdn.split('.')[0]} sends its traffic through no waypoint, so "
                    f"in ambient mode this route has no effect (label it {USE_WAYPOINT_LABEL})",
                )
            )
    return findings


def _mesh_routes(index: _Index) -> Iterable[tuple[KubernetesObject, str]]:
    """The L7 routes inside the mesh, with the FQDN of the Service each routes: HTTPRoutes
    attached to a Service, and VirtualServices bound to the mesh."""
    for route in _gateway_api(index, "HTTPRoute"):
        _, namespace, _ = _identity(route)
        for parent in route["spec"].get("parentRefs", []):
            if parent.get("kind") == "Service" and parent.get("group", "") == "":
                yield (
                    route,
                    f"{parent['name']}.{parent.get('namespace', namespace)}.{CLUSTER_DOMAIN}",
                )
    for service in index.of_kind("VirtualService"):
        _, namespace, _ = _identity(service)
        gateways = service["spec"].get("gateways", [])
        if gateways and MESH_GATEWAY not in gateways:
            continue
        for host in service["spec"].get("hosts", []):
            yield service, index.resolve(host, namespace)


# --- The Kubernetes Gateway API -------------------------------------------------------------


def _gateway_api(index: _Index, kind: str) -> list[KubernetesObject]:
    return [
        obj
        for obj in index.objects
        if obj["kind"] == kind and obj.get("apiVersion", "").split("/")[0] == GATEWAY_API_GROUP
    ]


def _service_ports(service: KubernetesObject) -> set[int]:
    return {port["port"] for port in service["spec"].get("ports", [])}


def _check_gateway_api_gateway(
    gateway: KubernetesObject, workloads: Mapping[tuple[str, str], GatewayApiWorkload]
) -> list[Finding]:
    _, namespace, name = _identity(gateway)
    workload = workloads.get((namespace, name))
    if workload is None:
        return []
    findings = []
    for listener in gateway["spec"].get("listeners", []):
        if listener.get("port") not in workload.ports:
            ports = ", ".join(str(p) for p in workload.ports)
            findings.append(
                _finding(
                    gateway,
                    "LAB006",
                    f"listener {listener.get('name')} on port {listener.get('port')} is not a "
                    f"port of its Service {namespace}/{workload.service_name} ({ports})",
                )
            )
    return findings


def _check_http_route(route: KubernetesObject, index: _Index) -> list[Finding]:
    _, namespace, _ = _identity(route)
    findings = []
    gateways = {(_identity(g)[1], _identity(g)[2]): g for g in _gateway_api(index, "Gateway")}
    for parent in route["spec"].get("parentRefs", []):
        parent_namespace = parent.get("namespace", namespace)
        name = parent["name"]
        if parent.get("kind", "Gateway") == "Service" and parent.get("group", "") == "":
            service = index.services.get(f"{name}.{parent_namespace}.{CLUSTER_DOMAIN}")
            if service is None:
                findings.append(
                    _finding(route, "LAB004", f"parent Service {name} is not a Service of the lab")
                )
            elif "port" in parent and parent["port"] not in _service_ports(service):
                findings.append(
                    _finding(route, "LAB004", f"parent Service {name} has no port {parent['port']}")
                )
            continue
        gateway = gateways.get((parent_namespace, name))
        if gateway is None:
            findings.append(
                _finding(route, "LAB004", f"parent Gateway {name} is not a Gateway of the lab")
            )
            continue
        listeners = {item.get("name") for item in gateway["spec"].get("listeners", [])}
        section = parent.get("sectionName")
        if section is not None and section not in listeners:
            findings.append(_finding(route, "LAB004", f"Gateway {name} has no listener {section}"))
    for rule in route["spec"].get("rules", []):
        for backend in rule.get("backendRefs", []):
            if backend.get("kind", "Service") != "Service" or backend.get("group", "") != "":
                continue
            backend_namespace = backend.get("namespace", namespace)
            service = index.services.get(f"{backend['name']}.{backend_namespace}.{CLUSTER_DOMAIN}")
            if service is None:
                findings.append(
                    _finding(
                        route, "LAB005", f"backend {backend['name']} is not a Service of the lab"
                    )
                )
            elif backend.get("port") not in _service_ports(service):
                findings.append(
                    _finding(
                        route,
                        "LAB005",
                        f"backend {backend['name']} has no port {backend.get('port')}",
                    )
                )
    return findings


def _check_hosts_claimed_twice(index: _Index) -> list[Finding]:
    """A Service an HTTPRoute attaches to must not also be routed by a VirtualService:
    Istio would apply only one of the two, silently."""
    routed = {}
    for route in _gateway_api(index, "HTTPRoute"):
        _, namespace, _ = _identity(route)
        for parent in route["spec"].get("parentRefs", []):
            if parent.get("kind") == "Service" and parent.get("group", "") == "":
                fqdn = f"{parent['name']}.{parent.get('namespace', namespace)}.{CLUSTER_DOMAIN}"
                routed[fqdn] = route
    findings = []
    for service in index.of_kind("VirtualService"):
        _, namespace, _ = _identity(service)
        for host in service["spec"].get("hosts", []):
            fqdn = index.resolve(host, namespace)
            if fqdn in routed:
                findings.append(
                    _finding(
                        service,
                        "LAB007",
                        f"host {host} is also routed by HTTPRoute "
                        f"{_identity(routed[fqdn])[2]}: route it with one API",
                    )
                )
    return findings


def _is_istio(obj: KubernetesObject) -> bool:
    return obj.get("apiVersion", "").split("/")[0] == ISTIO_NETWORKING_GROUP


def _identity(obj: KubernetesObject) -> tuple[str, str, str]:
    metadata = obj["metadata"]
    return obj["kind"], metadata.get("namespace", "default"), metadata["name"]


def _finding(obj: KubernetesObject, code: str, message: str) -> Finding:
    kind, namespace, name = _identity(obj)
    return Finding(code=code, kind=kind, namespace=namespace, name=name, message=message)


def _labels_text(labels: Mapping[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items())) or "(none)"


def _check_gateway(
    gateway: KubernetesObject, workloads: tuple[GatewayWorkload, ...]
) -> list[Finding]:
    selector = gateway["spec"].get("selector", {})
    selected = [w for w in workloads if selector.items() <= w.pod_labels.items()]
    if not selected:
        known = "; ".join(_labels_text(w.pod_labels) for w in workloads) or "none"
        return [
            _finding(
                gateway,
                "IST0101",
                f"selector {_labels_text(selector)} matches no gateway pods "
                f"(gateway pod labels: {known})",
            )
        ]
    findings = []
    for server in gateway["spec"].get("servers", []):
        number = server.get("port", {}).get("number")
        for workload in selected:
            exposed = {p.port for p in workload.ports} | {p.target_port for p in workload.ports}
            if number not in exposed:
                ports = ", ".join(f"{p.port}->{p.target_port}" for p in workload.ports)
                findings.append(
                    _finding(
                        gateway,
                        "IST0162",
                        f"port {number} is not a port or targetPort of the gateway Service "
                        f"{workload.namespace}/{workload.service_name} ({ports})",
                    )
                )
    return findings


def _destinations(spec: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    for protocol in ("http", "tcp", "tls"):
        for route in spec.get(protocol, []):
            for weighted in route.get("route", []):
                yield weighted["destination"]
            if "mirror" in route:
                yield route["mirror"]


def _check_virtual_service(service: KubernetesObject, index: _Index) -> list[Finding]:
    _, namespace, _ = _identity(service)
    spec = service["spec"]
    findings = []
    gateways = spec.get("gateways", [])
    for gateway in gateways:
        if gateway == MESH_GATEWAY:
            continue
        gateway_namespace, _, gateway_name = gateway.rpartition("/")
        if (gateway_namespace or namespace, gateway_name) not in index.gateways:
            findings.append(
                _finding(service, "IST0101", f"gateway {gateway} is not a Gateway of the lab")
            )
    if "*" in spec.get("hosts", []) and (not gateways or MESH_GATEWAY in gateways):
        findings.append(
            _finding(
                service,
                "LAB001",
                'host "*" is only valid on routes bound to a Gateway, not on mesh routes',
            )
        )
    for destination in _destinations(spec):
        host = destination["host"]
        if host in index.external_hosts:
            continue
        fqdn = index.resolve(host, namespace)
        if fqdn not in index.services:
            findings.append(
                _finding(
                    service,
                    "IST0101",
                    f"destination host {host} is not a Service of the lab "
                    "(nor a host declared by a ServiceEntry)",
                )
            )
            continue
        subset = destination.get("subset")
        if subset and subset not in index.subsets.get(fqdn, set()):
            findings.append(
                _finding(
                    service,
                    "IST0101",
                    f"subset {subset} of host {host} is not defined by any DestinationRule",
                )
            )
    return findings


def _check_destination_rule(
    rule: KubernetesObject, index: _Index, reserved: Mapping[str, set[str]]
) -> list[Finding]:
    _, namespace, _ = _identity(rule)
    host = rule["spec"]["host"]
    fqdn = index.resolve(host, namespace)
    service = index.services.get(fqdn)
    if service is None:
        if host in index.external_hosts:
            return []
        return [_finding(rule, "IST0101", f"host {host} is not a Service of the lab")]
    service_namespace = _identity(service)[1]
    service_selector = service["spec"].get("selector", {})
    pod_labels = [
        deployment["spec"]["template"]["metadata"].get("labels", {})
        for deployment in index.of_kind("Deployment")
        if _identity(deployment)[1] == service_namespace
    ]
    short_host = fqdn.split(".")[0]
    findings = []
    for subset in rule["spec"].get("subsets", []):
        wanted = {**service_selector, **subset.get("labels", {})}
        selects = any(wanted.items() <= labels.items() for labels in pod_labels)
        is_reserved = subset["name"] in reserved.get(short_host, set())
        if not selects and not is_reserved:
            findings.append(
                _finding(
                    rule,
                    "LAB002",
                    f"subset {subset['name']} ({_labels_text(wanted)}) selects no Deployment; "
                    "deploy one or list the subset as reserved",
                )
            )
    return findings
