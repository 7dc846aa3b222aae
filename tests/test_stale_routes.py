"""A switch of ingress API or data plane leaves no route of the old form behind: the
StaleRoutes task keeps exactly the routing objects the manifests list now, finds the old
ones by the manifests' own prune labels, and covers every routing kind of every form."""

from __future__ import annotations

import pytest

from constructs.bookinfo_routing import AMBIENT_REFUSED, scenario_names
from constructs.cluster_tasks import STALE_ROUTES_RESOURCE_TYPE, routing_key
from tests.istio_objects import DATA_PLANES, INGRESSES, NAMESPACE, routing_objects
from tests.template_queries import MANIFEST, manifest_objects, manifest_with, only

BUILT_IN_API_VERSIONS = {"v1", "apps/v1"}
FORMS = {
    (plane, ingress): (DATA_PLANES[plane], INGRESSES[ingress])
    for plane in DATA_PLANES
    for ingress in INGRESSES
}


@pytest.mark.parametrize("form", FORMS, ids="/".join)
def test_every_object_kubectls_pruning_skips_is_a_routing_kind(form):
    plane, ingress = FORMS[form]
    for scenario in scenario_names():
        if form[0] == "ambient" and scenario in AMBIENT_REFUSED:
            continue
        for obj in routing_objects(scenario, ingress=ingress, data_plane=plane):
            if obj["apiVersion"] not in BUILT_IN_API_VERSIONS:
                assert routing_key(obj) is not None, (form, scenario, obj["kind"])


def test_each_switch_has_routes_to_remove():
    # The reason the task exists: every pair of forms differs in its routing objects.
    def keys(form):
        plane, ingress = FORMS[form]
        return {
            routing_key(o) for o in routing_objects("all-v1", ingress=ingress, data_plane=plane)
        } - {None}

    for old in FORMS:
        for new in FORMS:
            if old != new:
                assert keys(old) - keys(new), (old, new)


@pytest.mark.parametrize(
    "variant",
    [
        "synthesized",
        "synthesized_gateway_api",
        "synthesized_ambient",
    ],
)
def test_the_task_keeps_what_the_manifests_list_and_runs_after_them(request, variant):
    template = request.getfixturevalue(variant).cluster
    _, task = only(template.find_resources(STALE_ROUTES_RESOURCE_TYPE), "StaleRoutes")
    props = task["Properties"]
    scenario_id, scenario = manifest_with(template, "ConfigMap", "bookinfo-scenario")
    edge_id, edge = only(
        {
            logical_id: resource
            for logical_id, resource in template.find_resources(MANIFEST).items()
            if logical_id.startswith("RoutingResources")
        },
        "edge routing manifest",
    )
    manifests = {scenario_id: scenario, edge_id: edge}
    listed = [o for resource in manifests.values() for o in manifest_objects(resource)]
    assert props["Keep"] == sorted(k for k in map(routing_key, listed) if k is not None)
    assert props["Namespace"] == NAMESPACE
    # The labels are the ones aws-cdk-lib's handler prunes by.
    assert sorted(props["Selectors"]) == sorted(
        r["Properties"]["PruneLabel"] for r in manifests.values()
    )
    assert set(manifests) <= set(task["DependsOn"])
