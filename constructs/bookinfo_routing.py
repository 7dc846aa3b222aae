"""BookinfoRouting: the Istio resources that route traffic to and within Bookinfo."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aws_cdk import aws_eks_v2 as eks

from constructs import Construct
from constructs.data_plane import AmbientDataPlane, DataPlane, SidecarDataPlane
from constructs.ingress_gateway import GatewayApiIngress, IngressGateway
from constructs.manifest_files import (
    MANIFESTS_DIR,
    KubernetesObject,
    in_namespace,
    load_manifest,
)

SCENARIOS_DIR = MANIFESTS_DIR / "scenarios"
# The same scenarios in Gateway API form: HTTPRoutes attached to Bookinfo's Services, with
# ratings' faults still in a VirtualService (the Gateway API has no fault filter).
GATEWAY_API_SCENARIOS_DIR = MANIFESTS_DIR / "scenarios-gateway-api"
# The scenarios in ambient form: HTTPRoutes attached to the Services, applied by the waypoint,
# as the ambient user guides route. Only reviews runs more than one version, so its route is
# the only one a scenario changes.
AMBIENT_SCENARIOS_DIR = MANIFESTS_DIR / "scenarios-ambient"
# Records the active scenario in the cluster (kubectl get configmap bookinfo-scenario), and
# keeps the scenario's manifest non-empty when the scenario itself adds no routing.
SCENARIO_MARKER = "bookinfo-scenario"


def scenario_names() -> tuple[str, ...]:
    """The traffic scenarios: one YAML file each under manifests/scenarios/."""
    return tuple(sorted(path.stem for path in SCENARIOS_DIR.glob("*.yaml")))


def _faults_in_ambient(what: str) -> str:
    return (
        f"{what} has only a VirtualService form, which is alpha in ambient mode and, "
        "beside the HTTPRoutes of the ambient scenarios, a mix of APIs Istio does not "
        "support; use dataplane=sidecar"
    )


# The scenarios with no ambient form, and why: what `dataplane=ambient` refuses.
AMBIENT_REFUSED: Mapping[str, str] = {
    "ratings-delay-jason": _faults_in_ambient("fault injection"),
    "ratings-abort-jason": _faults_in_ambient("fault injection"),
    "reviews-timeout": _faults_in_ambient("its 2 s delay on ratings (fault injection)"),
}


def ambient_scenario_names() -> tuple[str, ...]:
    """The scenarios that have an ambient form (manifests/scenarios-ambient/)."""
    return tuple(sorted(path.stem for path in AMBIENT_SCENARIOS_DIR.glob("*.yaml")))


def scenario_folder(ingress: IngressGateway | GatewayApiIngress, data_plane: DataPlane) -> Path:
    """Where the scenarios come from for this ingress and data plane: the ambient form in
    ambient mode, else the form of the ingress API."""
    if isinstance(data_plane, AmbientDataPlane):
        return AMBIENT_SCENARIOS_DIR
    return GATEWAY_API_SCENARIOS_DIR if isinstance(ingress, GatewayApiIngress) else SCENARIOS_DIR


def scenario_objects(scenario: str, *, folder: Path = SCENARIOS_DIR) -> list[KubernetesObject]:
    """The marker ConfigMap and the routing objects of `scenario` (namespace unset), from
    one of the scenario folders (the Istio API's form by default)."""
    marker = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": SCENARIO_MARKER},
        "data": {"scenario": scenario},
    }
    return [marker, *load_manifest(f"{folder.name}/{scenario}.yaml")]


# DestinationRule subsets with no workload in the lab: the optional ratings (MongoDB/MySQL)
# and details v2 workloads that some Istio Tasks add by hand.
RESERVED_SUBSETS: Mapping[str, frozenset[str]] = {
    "ratings": frozenset({"v2", "v2-mysql", "v2-mysql-vm"}),
    "details": frozenset({"v2"}),
}


def bind_gateways(objects: list[KubernetesObject], gateway: IngressGateway) -> None:
    """Fill every Istio Gateway's selector and server ports from `gateway`, in place.

    The YAML must leave them out: a hand-written port is how the lab's predecessor ended up
    with a Gateway on 8080 behind a Service that only exposes 80 and 443.
    """
    for obj in objects:
        if obj["kind"] != "Gateway":
            continue
        name = obj["metadata"]["name"]
        spec = obj["spec"]
        if "selector" in spec:
            raise ValueError(f"Gateway {name}: selector must not be set in YAML")
        spec["selector"] = gateway.selector
        for server in spec["servers"]:
            if "number" in server["port"]:
                raise ValueError(f"Gateway {name}: port.number must not be set in YAML")
            server["port"]["number"] = gateway.listen_port


def bind_routes(objects: list[KubernetesObject], ingress: GatewayApiIngress) -> None:
    """Attach every HTTPRoute without parents to the Gateway API ingress, in place.

    As with the Istio Gateway's port, the YAML must leave the attachment out, so that the
    route always names the Gateway (and listener) the lab deploys.
    """
    for obj in objects:
        if obj["kind"] != "HTTPRoute":
            continue
        if "parentRefs" in obj["spec"]:
            raise ValueError(
                f"HTTPRoute {obj['metadata']['name']}: parentRefs must not be set in YAML"
            )
        obj["spec"]["parentRefs"] = [ingress.parent_ref()]


def edge_routing(
    ingress: IngressGateway | GatewayApiIngress,
    namespace: str,
    data_plane: DataPlane,
) -> list[KubernetesObject]:
    """Bookinfo's edge routing in the form of the ingress API, and what the scenarios' routes
    need: version subsets (DestinationRules) for VirtualServices, per-version Services for
    HTTPRoutes, and in ambient mode the waypoint that applies them."""
    if isinstance(ingress, GatewayApiIngress):
        edge = [ingress.gateway_object()]
        route = in_namespace(load_manifest("gateway-api/bookinfo-route.yaml"), namespace)
        bind_routes(route, ingress)
        edge += route
    else:
        edge = in_namespace(load_manifest("bookinfo-routing.yaml"), namespace)
        bind_gateways(edge, ingress)
    folder = scenario_folder(ingress, data_plane)
    if folder != SCENARIOS_DIR:
        # The per-version Services the scenarios' HTTPRoutes name.
        edge += in_namespace(load_manifest("gateway-api/bookinfo-versions.yaml"), namespace)
    if folder != AMBIENT_SCENARIOS_DIR:
        # Subsets for the VirtualServices (in Gateway API form, ratings' fault routes).
        edge += in_namespace(load_manifest("bookinfo-destination-rules.yaml"), namespace)
    if data_plane.waypoint is not None:
        edge.append(data_plane.waypoint.gateway_object())
    return edge


@dataclass(frozen=True)
class BookinfoRoutingProps:
    """
    cluster: where to apply.
    namespace: Bookinfo's namespace.
    ingress: the ingress the Bookinfo edge route binds to: the istio/gateway chart's
        gateway (an Istio Gateway and VirtualService) or a Gateway API Gateway (with an
        HTTPRoute) in Bookinfo's namespace.
    data_plane: sidecar, or ambient (scenarios as HTTPRoutes through a waypoint).
    scenario: the traffic scenario, a file name (without .yaml) in the scenario folder of
        the ingress and data plane (`scenario_folder`).
    after: constructs that must exist first: Istio's CRDs and validating webhook
        (IstioMesh.istiod) and the namespace.
    """

    cluster: eks.ICluster
    namespace: str
    ingress: IngressGateway | GatewayApiIngress
    scenario: str
    after: tuple[Construct, ...]
    data_plane: DataPlane = field(default_factory=SidecarDataPlane)


class BookinfoRouting(Construct):
    """Applies the Bookinfo edge routing (a Gateway and a VirtualService, or a Gateway API
    Gateway and HTTPRoute) with the DestinationRules, and the selected traffic scenario as a
    manifest of its own.

    The scenario's manifest keeps its construct id whatever the scenario, so switching is an
    in-place update (kubectl apply) of the same objects, while the Gateway, VirtualService
    and DestinationRules stay untouched. Every scenario defines the same objects, since
    kubectl's pruning would not remove Istio objects a new scenario no longer lists.
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: BookinfoRoutingProps) -> None:
        super().__init__(scope, construct_id)
        self.objects = edge_routing(props.ingress, props.namespace, props.data_plane)
        self.manifest = eks.KubernetesManifest(
            self, "Resources", cluster=props.cluster, manifest=self.objects
        )
        for dependency in props.after:
            self.manifest.node.add_dependency(dependency)

        folder = scenario_folder(props.ingress, props.data_plane)
        self.scenario_objects = in_namespace(
            scenario_objects(props.scenario, folder=folder), props.namespace
        )
        # overwrite: created with `kubectl apply`, so routes a user applied by hand while
        # following the docs are taken over instead of failing the deployment.
        self.scenario = eks.KubernetesManifest(
            self,
            "Scenario",
            cluster=props.cluster,
            manifest=self.scenario_objects,
            overwrite=True,
        )
        # Subsets named by the scenario must exist before its routes use them.
        self.scenario.node.add_dependency(self.manifest)
