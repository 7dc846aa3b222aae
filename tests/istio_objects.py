"""The lab's Kubernetes and Istio objects as the constructs apply them, and the analyzer's
verdict on them: shared by the analyzer and scenario tests."""

from __future__ import annotations

from checks.istio_analyzer import analyze
from constructs.bookinfo_routing import RESERVED_SUBSETS, edge_routing, scenario_objects
from constructs.ingress_gateway import IngressGateway
from constructs.manifest_files import in_namespace, load_manifest
from stacks.lab import gateway_workload

NAMESPACE = "default"


def lab_objects(scenario: str | None = None) -> list[dict]:
    """Bookinfo, its routing (Gateway bound to the default gateway) and, if given, a scenario."""
    routing = edge_routing(IngressGateway(), NAMESPACE)
    objects = in_namespace(load_manifest("bookinfo.yaml"), NAMESPACE) + routing
    if scenario is not None:
        objects += in_namespace(scenario_objects(scenario), NAMESPACE)
    return objects


def analyzer_messages(objects, reserved=RESERVED_SUBSETS) -> list[str]:
    findings = analyze(
        objects, gateways=[gateway_workload(IngressGateway())], reserved_subsets=reserved
    )
    return [str(f) for f in findings]
