"""The lab's Kubernetes and Istio objects as the constructs apply them, and the analyzer's
verdict on them: shared by the analyzer and scenario tests."""

from __future__ import annotations

from constructs.bookinfo_routing import (
    RESERVED_SUBSETS,
    edge_routing,
    scenario_folder,
    scenario_objects,
)
from constructs.data_plane import AmbientDataPlane, DataPlane, SidecarDataPlane
from constructs.ingress_gateway import GatewayApiIngress, IngressGateway
from constructs.manifest_files import in_namespace, load_manifest
from stacks.lab import istio_findings

NAMESPACE = "default"
# The two ingress APIs and the two data planes, as the lab describes them in Bookinfo's
# namespace; every combination is a form the routing can take.
INGRESSES = {"istio": IngressGateway(), "gateway-api": GatewayApiIngress(namespace=NAMESPACE)}
DATA_PLANES = {"sidecar": SidecarDataPlane(), "ambient": AmbientDataPlane(namespace=NAMESPACE)}


def lab_objects(
    scenario: str | None = None,
    *,
    ingress: IngressGateway | GatewayApiIngress | None = None,
    data_plane: DataPlane | None = None,
) -> list[dict]:
    """Bookinfo (as the data plane enrolls it), its routing for the ingress (the istio/gateway
    chart's by default) and, if given, a scenario in the form the two call for."""
    ingress = ingress or IngressGateway()
    data_plane = data_plane or SidecarDataPlane()
    bookinfo = data_plane.enroll(in_namespace(load_manifest("bookinfo.yaml"), NAMESPACE))
    return bookinfo + routing_objects(scenario, ingress=ingress, data_plane=data_plane)


def routing_objects(
    scenario: str | None, *, ingress: IngressGateway | GatewayApiIngress, data_plane: DataPlane
) -> list[dict]:
    """What the routing manifests apply: the edge routing and, if given, the scenario."""
    objects = edge_routing(ingress, NAMESPACE, data_plane)
    if scenario is not None:
        folder = scenario_folder(ingress, data_plane)
        objects += in_namespace(scenario_objects(scenario, folder=folder), NAMESPACE)
    return objects


def analyzer_messages(
    objects,
    reserved=RESERVED_SUBSETS,
    *,
    ingress: IngressGateway | GatewayApiIngress | None = None,
    data_plane: DataPlane | None = None,
) -> list[str]:
    """The analyzer's findings as the synth reports them, for the lab's gateway workloads
    and namespace labels."""
    findings = istio_findings(
        objects,
        ingress=ingress or IngressGateway(),
        data_plane=data_plane or SidecarDataPlane(),
        namespace=NAMESPACE,
        reserved_subsets=reserved,
    )
    return [str(f) for f in findings]
