"""The doctor's checks: the cluster as kubectl lists it against what the plan deploys.

Each difference is one Finding: what differs, and the command that fixes it. Everything the
lab deploys is fixed by `make repair`; an object that fights the lab's (a second route for a
host the lab routes, a root-namespace Telemetry) by deleting it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from doctor.expected import Expectations, Workload
from plan import facts
from plan.routing import ROUTING_KINDS, routing_key

REPAIR = "make repair"
CRDS = "customresourcedefinitions.apiextensions.k8s.io"
NAMESPACES = "namespaces"
DEPLOYMENTS = "deployments.apps"
DAEMONSETS = "daemonsets.apps"
SERVICES = "services"
CONFIGMAPS = "configmaps"
HELM_SECRETS = "secrets"  # listed with the label owner=helm
TELEMETRIES = "telemetries.telemetry.istio.io"
VIRTUAL_SERVICES = ROUTING_KINDS[(facts.ISTIO_NETWORKING_GROUP, "VirtualService")]
HTTP_ROUTES = ROUTING_KINDS[(facts.GATEWAY_API_GROUP, "HTTPRoute")]
# What the doctor lists (a kind whose CRD is gone lists as empty).
RESOURCES = (
    CRDS,
    NAMESPACES,
    DEPLOYMENTS,
    DAEMONSETS,
    SERVICES,
    CONFIGMAPS,
    HELM_SECRETS,
    TELEMETRIES,
    *ROUTING_KINDS.values(),
)


@dataclass(frozen=True)
class Finding:
    problem: str
    fix: str

    def line(self) -> str:
        return f"{self.problem}; fix: {self.fix}"


class State:
    """The cluster's objects by resource name (as kubectl names the resource)."""

    def __init__(self, resources: Mapping[str, list[dict[str, Any]]]):
        self.resources = resources

    def items(self, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return [
            item
            for item in self.resources.get(resource, [])
            if namespace is None or item["metadata"].get("namespace") == namespace
        ]

    def find(self, resource: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        for item in self.items(resource, namespace):
            if item["metadata"]["name"] == name:
                return item
        return None


def diagnose(expect: Expectations, state: State) -> list[Finding]:
    return [
        *_releases(expect, state),
        *_crds(expect, state),
        *_namespaces(expect, state),
        *_workloads(expect, state),
        *_ingress_service(expect, state),
        *_mesh_config(expect, state),
        *_routes(expect, state),
        *_fighting_routes(expect, state),
        *_root_telemetry(state),
    ]


def _releases(expect: Expectations, state: State) -> Iterator[Finding]:
    latest: dict[tuple[str, str], dict[str, str]] = {}
    for secret in state.items(HELM_SECRETS):
        labels = secret["metadata"].get("labels", {})
        key = (secret["metadata"].get("namespace", ""), labels.get("name", ""))
        if int(labels.get("version", 0)) >= int(latest.get(key, {}).get("version", 0)):
            latest[key] = labels
    for release in expect.releases:
        labels = latest.get((release.namespace, release.release))
        where = f"Helm release {release.release} in {release.namespace}"
        if labels is None:
            yield Finding(f"{where} is missing", REPAIR)
        elif labels.get("status") != "deployed":
            yield Finding(f"{where} is {labels.get('status', 'in no known state')}", REPAIR)


def _crds(expect: Expectations, state: State) -> Iterator[Finding]:
    for name in expect.crds:
        crd = state.find(CRDS, None, name)
        if crd is None:
            yield Finding(f"CRD {name} is missing", REPAIR)
        elif not _condition(crd, "Established"):
            yield Finding(f"CRD {name} is not Established", REPAIR)


def _namespaces(expect: Expectations, state: State) -> Iterator[Finding]:
    for name, labels in expect.namespaces.items():
        namespace = state.find(NAMESPACES, None, name)
        if namespace is None:
            yield Finding(f"namespace {name} is missing", REPAIR)
            continue
        have = namespace["metadata"].get("labels", {})
        wrong = {k: v for k, v in labels.items() if have.get(k) != v}
        if wrong:
            shown = ", ".join(f"{k}={v}" for k, v in wrong.items())
            yield Finding(f"namespace {name} lacks the label {shown}", REPAIR)


def _workloads(expect: Expectations, state: State) -> Iterator[Finding]:
    for workload in expect.workloads:
        resource = DEPLOYMENTS if workload.kind == "Deployment" else DAEMONSETS
        obj = state.find(resource, workload.namespace, workload.name)
        where = f"{workload.kind} {workload.name} in {workload.namespace}"
        if obj is None:
            yield Finding(f"{where} is missing", REPAIR)
            continue
        version = obj["spec"]["template"]["metadata"].get("labels", {}).get("version")
        if workload.version is not None and version != workload.version:
            yield Finding(f"{where} runs version {version}, not {workload.version}", REPAIR)
        if not _ready(workload, obj):
            yield Finding(
                f"{where} is not ready ({_readiness(workload, obj)})",
                f"kubectl describe {workload.kind.lower()} {workload.name} -n "
                f"{workload.namespace}; if its pods cannot start, {REPAIR}",
            )


def _ingress_service(expect: Expectations, state: State) -> Iterator[Finding]:
    ref = expect.ingress_service
    service = state.find(SERVICES, ref.namespace, ref.name)
    where = f"the ingress Service {ref.name} in {ref.namespace}"
    if service is None:
        yield Finding(f"{where} is missing", REPAIR)
        return
    ports = {p.get("port") for p in service["spec"].get("ports", [])}
    missing = [p for p in expect.ingress_ports if p not in ports]
    if missing:
        yield Finding(f"{where} lacks the ports {', '.join(map(str, missing))}", REPAIR)
    annotations = service["metadata"].get("annotations", {})
    wrong = sorted(k for k, v in expect.ingress_annotations.items() if annotations.get(k) != v)
    if wrong:
        yield Finding(f"{where} lacks the NLB annotations {', '.join(wrong)}", REPAIR)
    ingress = service.get("status", {}).get("loadBalancer", {}).get("ingress") or []
    if not any(i.get("hostname") for i in ingress):
        yield Finding(
            f"{where} has no NLB hostname",
            f"kubectl describe service {ref.name} -n {ref.namespace} (the load balancer "
            "controller's events say why)",
        )


def _mesh_config(expect: Expectations, state: State) -> Iterator[Finding]:
    config_map = state.find(CONFIGMAPS, facts.ISTIO_SYSTEM, facts.MESH_CONFIG_MAP)
    if config_map is None:
        yield Finding(f"istiod's ConfigMap {facts.MESH_CONFIG_MAP} is missing", REPAIR)
        return
    mesh = yaml.safe_load(config_map.get("data", {}).get("mesh", "")) or {}
    differing = [
        key for key, value in expect.mesh_config.items() if _differences(mesh.get(key), value)
    ]
    if differing:
        yield Finding(
            f"istiod's mesh config differs from the lab's in {', '.join(differing)} (an "
            "`istioctl install` over the lab's?)",
            REPAIR,
        )


def _routes(expect: Expectations, state: State) -> Iterator[Finding]:
    for obj in expect.routes:
        resource = _resource_of(obj)
        namespace = obj["metadata"].get("namespace", expect.bookinfo_namespace)
        name = obj["metadata"]["name"]
        live = state.find(resource, namespace, name)
        where = f"{obj['kind']} {name} in {namespace}"
        if live is None:
            yield Finding(f"the lab's {where} is missing", REPAIR)
            continue
        field = "data" if obj["kind"] == "ConfigMap" else "spec"
        # The API server fills in defaults in the Gateway API's kinds only: theirs may have
        # more than the lab wrote; every other kind must be exactly the lab's.
        defaulted = obj["apiVersion"].startswith(f"{facts.GATEWAY_API_GROUP}/")
        changed = (
            _differences(live.get(field), obj.get(field))
            if defaulted
            else live.get(field) != obj.get(field)
        )
        if changed:
            yield Finding(
                f"{where} differs from the lab's (replaced by a Task's of the same name?)",
                REPAIR,
            )


def _fighting_routes(expect: Expectations, state: State) -> Iterator[Finding]:
    own = {(o["metadata"].get("namespace"), routing_key(o)) for o in expect.routes}
    hosts = _routed_hosts(expect)
    for resource, host_names in (
        (VIRTUAL_SERVICES, _virtual_service_hosts),
        (HTTP_ROUTES, _route_hosts),
    ):
        for item in state.items(resource):
            namespace = item["metadata"].get("namespace")
            if (namespace, routing_key(item)) in own:
                continue
            fought = sorted(set(host_names(item, namespace)) & hosts)
            if fought:
                name = item["metadata"]["name"]
                yield Finding(
                    f"{item['kind']} {name} in {namespace} also routes {', '.join(fought)}, "
                    "which the lab routes",
                    f"kubectl delete {resource} {name} -n {namespace} when its Task is done",
                )


def _root_telemetry(state: State) -> Iterator[Finding]:
    for item in state.items(TELEMETRIES, facts.ISTIO_SYSTEM):
        spec = item.get("spec", {})
        if not spec.get("selector") and not spec.get("targetRefs"):
            name = item["metadata"]["name"]
            yield Finding(
                f"Telemetry {name} in {facts.ISTIO_SYSTEM} applies to the whole mesh and "
                "overrides the lab's default providers (tracing, access logs, metrics)",
                f"kubectl delete {TELEMETRIES} {name} -n {facts.ISTIO_SYSTEM} when its Task "
                "is done",
            )


# --- helpers --------------------------------------------------------------------------------


def _condition(obj: Mapping[str, Any], kind: str) -> bool:
    conditions = obj.get("status", {}).get("conditions", [])
    return any(c.get("type") == kind and c.get("status") == "True" for c in conditions)


def _ready(workload: Workload, obj: Mapping[str, Any]) -> bool:
    status = obj.get("status", {})
    if workload.kind == "DaemonSet":
        desired = status.get("desiredNumberScheduled", 0)
        return desired > 0 and status.get("numberReady", 0) >= desired
    wanted = obj["spec"].get("replicas", 1)
    return status.get("readyReplicas", 0) >= wanted > 0


def _readiness(workload: Workload, obj: Mapping[str, Any]) -> str:
    status = obj.get("status", {})
    if workload.kind == "DaemonSet":
        return f"{status.get('numberReady', 0)} of {status.get('desiredNumberScheduled', 0)} ready"
    return f"{status.get('readyReplicas', 0)} of {obj['spec'].get('replicas', 1)} ready"


def _differences(live: Any, wanted: Any) -> bool:
    """Whether `live` lacks something of `wanted`: objects compare key by key (the API
    server adds defaults, e.g. to HTTPRoutes), lists entry by entry, the rest by value."""
    if isinstance(wanted, Mapping):
        return not isinstance(live, Mapping) or any(
            _differences(live.get(k), v) for k, v in wanted.items()
        )
    if isinstance(wanted, list):
        return (
            not isinstance(live, list)
            or len(live) != len(wanted)
            or any(_differences(a, b) for a, b in zip(live, wanted, strict=True))
        )
    return live != wanted


def _resource_of(obj: Mapping[str, Any]) -> str:
    if obj["kind"] == "ConfigMap":
        return CONFIGMAPS
    group = obj["apiVersion"].rpartition("/")[0]
    return ROUTING_KINDS[(group, obj["kind"])]


def _routed_hosts(expect: Expectations) -> set[str]:
    namespace = expect.bookinfo_namespace
    hosts = set()
    for name in expect.routed_services:
        hosts |= {
            f"{name}.{namespace}.svc.cluster.local",
            f"{name}.{namespace}.svc",
            f"{name}.{namespace}",
        }
    return hosts


def _qualified(host: str, namespace: str) -> str:
    """A short host name as Istio reads it: a Service in the route's own namespace."""
    return host if "." in host else f"{host}.{namespace}.svc.cluster.local"


def _virtual_service_hosts(item: Mapping[str, Any], namespace: str) -> list[str]:
    return [_qualified(h, namespace) for h in item.get("spec", {}).get("hosts", [])]


def _route_hosts(item: Mapping[str, Any], namespace: str) -> list[str]:
    """The Services an HTTPRoute attaches to as its parents (the mesh form of routing)."""
    hosts = []
    for parent in item.get("spec", {}).get("parentRefs", []):
        if parent.get("kind") == "Service":
            hosts.append(f"{parent['name']}.{parent.get('namespace', namespace)}.svc.cluster.local")
    return hosts
