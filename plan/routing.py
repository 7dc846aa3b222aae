"""Bookinfo's routing as the plan renders it: the edge routing of the ingress (with what the
scenarios' routes need) and the selected scenario in the form of the ingress and data plane.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from plan import facts
from plan.data_plane import DataPlane
from plan.ingress import Ingress
from plan.kube import KubernetesObject, in_namespace, load_manifest
from plan.scenarios import Scenario, ScenarioForm, marker

# DestinationRule subsets with no workload in the lab: the optional ratings (MongoDB/MySQL)
# and details v2 workloads that some Istio Tasks add by hand.
RESERVED_SUBSETS: Mapping[str, frozenset[str]] = {
    "ratings": frozenset({"v2", "v2-mysql", "v2-mysql-vm"}),
    "details": frozenset({"v2"}),
}

# The routing kinds the lab's manifests apply, as (API group, kind) -> the resource name
# kubectl lists them by: the kinds `kubectl apply --prune` leaves behind.
ROUTING_KINDS: Mapping[tuple[str, str], str] = {
    (facts.ISTIO_NETWORKING_GROUP, "Gateway"): "gateways.networking.istio.io",
    (facts.ISTIO_NETWORKING_GROUP, "VirtualService"): "virtualservices.networking.istio.io",
    (facts.ISTIO_NETWORKING_GROUP, "DestinationRule"): "destinationrules.networking.istio.io",
    (facts.GATEWAY_API_GROUP, "Gateway"): "gateways.gateway.networking.k8s.io",
    (facts.GATEWAY_API_GROUP, "HTTPRoute"): "httproutes.gateway.networking.k8s.io",
}


def routing_key(obj: Mapping[str, Any]) -> str | None:
    """`Kind.group/name` of a routing object (as the StaleRoutes handler compares them), else
    None."""
    group = obj["apiVersion"].rpartition("/")[0]
    if (group, obj["kind"]) not in ROUTING_KINDS:
        return None
    return f"{obj['kind']}.{group}/{obj['metadata']['name']}"


def edge_routing(
    ingress: Ingress, form: ScenarioForm, data_plane: DataPlane, namespace: str
) -> list[KubernetesObject]:
    """Bookinfo's edge routing in the form of the ingress API, and what the scenarios' routes
    need: version subsets (DestinationRules) for VirtualServices, per-version Services for
    HTTPRoutes, and in ambient mode the waypoint that applies them."""
    edge = ingress.edge_objects(namespace)
    if form.uses_version_services:
        # The per-version Services the scenarios' HTTPRoutes name.
        edge += in_namespace(load_manifest("gateway-api/bookinfo-versions.yaml"), namespace)
    if form.uses_subsets:
        edge += in_namespace(load_manifest("bookinfo-destination-rules.yaml"), namespace)
    if data_plane.waypoint is not None:
        edge.append(data_plane.waypoint.gateway_object())
    return edge


def scenario_objects(
    scenario: Scenario,
    form: ScenarioForm,
    versions: Mapping[str, frozenset[str]],
    namespace: str,
) -> list[KubernetesObject]:
    """The marker ConfigMap and the scenario's routing objects in `form`, in `namespace`."""
    return in_namespace([marker(scenario), *form.objects(scenario, versions)], namespace)


@dataclass(frozen=True)
class RoutingPlan:
    """edge: the edge routing, applied once; scenario: the selected scenario, a manifest of its
    own so that a switch is an in-place update of the same objects."""

    edge: tuple[KubernetesObject, ...]
    scenario: tuple[KubernetesObject, ...]
    # Every routing object some form of the lab applies in the namespace (any ingress API,
    # data plane and scenario), by `Kind.group/name`.
    every_form: frozenset[str] = field(default_factory=frozenset)

    @property
    def objects(self) -> list[KubernetesObject]:
        return [*self.edge, *self.scenario]

    @property
    def keep(self) -> list[str]:
        """What the StaleRoutes task keeps: every routing object the manifests list now."""
        return sorted(key for key in map(routing_key, self.objects) if key is not None)

    @property
    def other_forms(self) -> list[str]:
        """What the StaleRoutes task deletes by name: the routing objects of the lab's other
        forms, also when a hand-applied copy no longer carries a manifest's prune label."""
        return sorted(self.every_form - set(self.keep))


@functools.cache
def every_form_keys(namespace: str) -> frozenset[str]:
    """The routing keys of every form the lab can apply in `namespace`: each pair of ingress
    API and data plane, with its edge routing and each scenario it accepts."""
    # Imported here: the modes and Bookinfo's plan import the kinds of objects this module
    # routes, not the other way round.
    from plan import modes
    from plan.bookinfo import BookinfoPlan
    from plan.scenarios import SCENARIOS

    keys: set[str] = set()
    for ingress_kind in modes.INGRESS_APIS.values():
        for plane_kind in modes.DATAPLANES.values():
            ingress = ingress_kind.for_namespace(namespace)
            data_plane = plane_kind.for_namespace(namespace)
            form = data_plane.route_form(ingress.route_form)
            versions = BookinfoPlan.of(namespace, data_plane).versions
            objects = edge_routing(ingress, form, data_plane, namespace)
            for scenario in SCENARIOS.values():
                if form.refusal(scenario) is None:
                    objects += scenario_objects(scenario, form, versions, namespace)
            keys |= {key for key in map(routing_key, objects) if key is not None}
    return frozenset(keys)
