"""Cluster states for the doctor's tests, as `kubectl get -o json` lists them: a healthy lab
of a plan, and what each damaging cleanup step of the Task catalog leaves of it.

The healthy state is put together the way the lab's deploy makes it: the plan's manifests as
applied (the API server adding its defaults to HTTPRoutes), and the charts' workloads,
Services and release records as the pinned charts name them (written out here, not taken
from the doctor). Not recorded from a live cluster: none can be reached from here.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from plan import facts
from plan.lab_plan import LabPlan

PRUNE_LABEL = "aws.cdk.eks/prune-c8deadbeef"
# The Istio CRD names of the base chart and a CRD of the load balancer controller's.
ISTIO_CRDS = [
    f"{plural}.{group}"
    for group, plurals in {
        "networking.istio.io": ["virtualservices", "destinationrules", "gateways",
                                "serviceentries", "sidecars", "envoyfilters", "workloadentries",
                                "workloadgroups", "proxyconfigs"],
        "security.istio.io": ["peerauthentications", "requestauthentications",
                              "authorizationpolicies"],
        "telemetry.istio.io": ["telemetries"],
        "extensions.istio.io": ["wasmplugins", "trafficextensions"],
    }.items()
    for plural in plurals
]  # fmt: skip
SOURCE_RANGES = "service.beta.kubernetes.io/load-balancer-source-ranges"
OTHER_CRDS = ["targetgroupbindings.elbv2.k8s.aws", "ingressclassparams.elbv2.k8s.aws"]
NLB_ANNOTATIONS = {
    "service.beta.kubernetes.io/aws-load-balancer-type": "external",
    "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
    "service.beta.kubernetes.io/aws-load-balancer-healthcheck-protocol": "http",
    "service.beta.kubernetes.io/aws-load-balancer-healthcheck-port": "15021",
    "service.beta.kubernetes.io/aws-load-balancer-healthcheck-path": "/healthz/ready",
}
# What istiod's chart adds to the mesh config beside the lab's values.
CHART_MESH_DEFAULTS = {
    "defaultConfig": {"discoveryAddress": "istiod.istio-system.svc:15012"},
    "enablePrometheusMerge": True,
    "rootNamespace": "istio-system",
    "trustDomain": "cluster.local",
}
# The mesh config an `istioctl install --set profile=default` writes over the lab's.
DEFAULT_PROFILE_MESH = {
    "defaultConfig": {"discoveryAddress": "istiod.istio-system.svc:15012"},
    "enablePrometheusMerge": True,
    "rootNamespace": "istio-system",
    "trustDomain": "cluster.local",
}


def obj(kind: str, name: str, namespace: str | None = None, **fields: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    metadata.update(fields.pop("metadata", {}))
    return {"kind": kind, "metadata": metadata, **fields}


def deployment(name: str, namespace: str, labels: dict | None = None) -> dict[str, Any]:
    return obj(
        "Deployment",
        name,
        namespace,
        spec={
            "replicas": 1,
            "template": {"metadata": {"labels": copy.deepcopy(labels) or {"app": name}}},
        },
        status={"replicas": 1, "readyReplicas": 1},
    )


def daemonset(name: str, namespace: str) -> dict[str, Any]:
    return obj(
        "DaemonSet",
        name,
        namespace,
        spec={"template": {"metadata": {"labels": {"app": name}}}},
        status={"desiredNumberScheduled": 2, "numberReady": 2},
    )


def crd(name: str) -> dict[str, Any]:
    conditions = [
        {"type": "NamesAccepted", "status": "True"},
        {"type": "Established", "status": "True"},
    ]
    return obj("CustomResourceDefinition", name, status={"conditions": conditions})


def helm_record(release: str, namespace: str, version: int, status: str) -> dict[str, Any]:
    labels = {"name": release, "owner": "helm", "status": status, "version": str(version)}
    return obj("Secret", f"sh.helm.release.v1.{release}.v{version}", namespace,
               metadata={"labels": labels})  # fmt: skip


def with_api_defaults(route: dict[str, Any]) -> dict[str, Any]:
    """An HTTPRoute as the API server returns it: defaults filled in."""
    route = copy.deepcopy(route)
    for parent in route["spec"].get("parentRefs", []):
        parent.setdefault("group", "gateway.networking.k8s.io")
        parent.setdefault("kind", "Gateway")
    for rule in route["spec"].get("rules", []):
        rule.setdefault("matches", [{"path": {"type": "PathPrefix", "value": "/"}}])
        for backend in rule.get("backendRefs", []):
            backend.setdefault("group", "")
            backend.setdefault("kind", "Service")
            backend.setdefault("weight", 1)
    return route


def healthy(plan: LabPlan) -> dict[str, list[dict[str, Any]]]:
    """The lab of `plan` as deployed, by resource name."""
    system, namespace = facts.ISTIO_SYSTEM, plan.bookinfo.namespace
    ambient = plan.data_plane.waypoint is not None
    chart_ingress = plan.mesh.gateway is not None
    releases = [
        ("aws-load-balancer-controller", "kube-system"),
        ("istio-base", system),
        ("istiod", system),
        ("istio-egressgateway", system),
        ("prometheus", system),
        ("grafana", system),
        ("kiali", system),
    ]
    releases += [("istio-ingressgateway", system)] if chart_ingress else []
    releases += [("istio-cni", system), ("ztunnel", system)] if ambient else []
    secrets = [helm_record(r, ns, 1, "deployed") for r, ns in releases]
    # istiod upgraded once: the older record is superseded.
    secrets += [helm_record("istiod", system, 2, "deployed")]
    secrets[2]["metadata"]["labels"]["status"] = "superseded"

    deployments = [
        deployment("aws-load-balancer-controller", "kube-system"),
        deployment("coredns", "kube-system"),
        *(
            deployment(n, system)
            for n in ("istiod", "istio-egressgateway", "prometheus", "grafana", "kiali")
        ),  # fmt: skip
    ]
    gateway = "istio-ingressgateway" if chart_ingress else "bookinfo-gateway-istio"
    deployments.append(deployment(gateway, system if chart_ingress else namespace))
    if ambient:
        deployments.append(deployment("waypoint", namespace))
    for manifest_object in (*plan.bookinfo.objects, *plan.observability.tracing_objects):
        if manifest_object["kind"] == "Deployment":
            labels = manifest_object["spec"]["template"]["metadata"]["labels"]
            where = manifest_object["metadata"].get("namespace", system)
            deployments.append(deployment(manifest_object["metadata"]["name"], where, labels))
    daemonsets = [daemonset("aws-node", "kube-system"), daemonset("kube-proxy", "kube-system")]
    if ambient:
        daemonsets += [daemonset("istio-cni-node", system), daemonset("ztunnel", system)]

    ports = [15021, 80, 443, 31400, 15443] if chart_ingress else [15021, 80]
    # The learner's addresses, or without them the VPC's range only.
    source_ranges = ",".join(plan.config.allowed_cidrs) or plan.config.vpc_cidr
    services = [
        obj(
            "Service",
            gateway,
            system if chart_ingress else namespace,
            metadata={"annotations": {**NLB_ANNOTATIONS, SOURCE_RANGES: source_ranges}},
            spec={"type": "LoadBalancer", "ports": [{"port": p} for p in ports]},
            status={"loadBalancer": {"ingress": [{"hostname": "k8s-lab-0123.elb.amazonaws.com"}]}},
        )
    ]
    mesh = {**CHART_MESH_DEFAULTS, **copy.deepcopy(plan.mesh.istiod.values["meshConfig"])}
    config_maps = [obj("ConfigMap", "istio", system, data={"mesh": yaml.safe_dump(mesh)})]
    resources: dict[str, list[dict[str, Any]]] = {
        "customresourcedefinitions.apiextensions.k8s.io": [
            crd(n)
            for n in (
                *ISTIO_CRDS,
                *OTHER_CRDS,
                *(c for f in plan.mesh.gateway_api.files for c in f.crds),
            )  # fmt: skip
        ],
        "namespaces": [
            obj("Namespace", n, metadata={"labels": {"kubernetes.io/metadata.name": n}})
            for n in ("default", "kube-system", system)
        ],
        "deployments.apps": deployments,
        "daemonsets.apps": daemonsets,
        "services": services,
        "configmaps": config_maps,
        "secrets": secrets,
        "telemetries.telemetry.istio.io": [],
    }
    namespaces = {n["metadata"]["name"]: n for n in resources["namespaces"]}
    bookinfo_ns = namespaces.setdefault(namespace, obj("Namespace", namespace))
    bookinfo_ns["metadata"].setdefault("labels", {}).update(plan.bookinfo.labels)
    resources["namespaces"] = list(namespaces.values())
    for applied in plan.routing.objects:
        applied = copy.deepcopy(applied)
        applied["metadata"].setdefault("namespace", namespace)
        applied["metadata"]["labels"] = {PRUNE_LABEL: ""}
        if applied["kind"] == "HTTPRoute":
            applied = with_api_defaults(applied)
        resources.setdefault(_resource(applied), []).append(applied)
    return resources


def _resource(applied: dict[str, Any]) -> str:
    from plan.routing import ROUTING_KINDS

    group = applied["apiVersion"].rpartition("/")[0]
    return ROUTING_KINDS.get((group, applied["kind"]), f"{applied['kind'].lower()}s")


# --- what the catalog's damaging cleanup steps leave ---------------------------------------


def _drop(state, resource: str, keep) -> None:
    state[resource] = [item for item in state.get(resource, []) if keep(item)]


def uninstall_purge(state: dict) -> dict:
    """`istioctl uninstall --purge`: every Istio workload, config and CRD (and with the CRDs
    every object of their kinds) is gone; Helm's release records stay."""
    state = copy.deepcopy(state)
    istio_workloads = {"istiod", "istio-ingressgateway", "istio-egressgateway", "istio-cni-node",
                       "ztunnel", "waypoint", "bookinfo-gateway-istio"}  # fmt: skip
    for resource in ("deployments.apps", "daemonsets.apps", "services"):
        _drop(state, resource, lambda i: i["metadata"]["name"] not in istio_workloads)
    _drop(state, "configmaps", lambda i: i["metadata"]["name"] != "istio")
    _drop(state, "customresourcedefinitions.apiextensions.k8s.io",
          lambda i: not i["metadata"]["name"].endswith("istio.io"))  # fmt: skip
    for resource in list(state):
        if resource.endswith("istio.io"):
            state[resource] = []
    return state


def reinstall_default(state: dict) -> dict:
    """`istioctl install --set profile=default` over the lab: istiod's mesh config is the
    default profile's."""
    state = copy.deepcopy(state)
    for item in state["configmaps"]:
        if item["metadata"]["name"] == "istio":
            item["data"]["mesh"] = yaml.safe_dump(DEFAULT_PROFILE_MESH)
    return state


def delete_gateway_api_crds(state: dict) -> dict:
    """Deleting the Gateway API's CRDs: their objects go with them, and istiod removes what
    it deployed for a Gateway API Gateway."""
    state = copy.deepcopy(state)
    _drop(state, "customresourcedefinitions.apiextensions.k8s.io",
          lambda i: "gateway.networking" not in i["metadata"]["name"])  # fmt: skip
    for resource in list(state):
        if "gateway.networking.k8s.io" in resource:
            state[resource] = []
    deployed_for_gateways = ("waypoint", "bookinfo-gateway-istio")
    for resource in ("deployments.apps", "services"):
        _drop(state, resource, lambda i: i["metadata"]["name"] not in deployed_for_gateways)
    return state


def delete_istio_system(state: dict) -> dict:
    """`kubectl delete namespace istio-system`: everything in it goes."""
    state = copy.deepcopy(state)
    for resource in state:
        _drop(state, resource, lambda i: i["metadata"].get("namespace") != facts.ISTIO_SYSTEM)
    _drop(state, "namespaces", lambda i: i["metadata"]["name"] != facts.ISTIO_SYSTEM)
    return state


def delete_lab_route(state: dict) -> dict:
    """The rate-limit Task's cleanup: the VirtualService `bookinfo` it replaced is deleted."""
    state = copy.deepcopy(state)
    _drop(state, "virtualservices.networking.istio.io",
          lambda i: i["metadata"]["name"] != "bookinfo")  # fmt: skip
    return state


EFFECTS = {
    "uninstall-purge": uninstall_purge,
    "reinstall-default": reinstall_default,
    "delete-gateway-api-crds": delete_gateway_api_crds,
    "delete-istio-system": delete_istio_system,
    "delete-lab-route": delete_lab_route,
}
