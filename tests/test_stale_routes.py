"""A switch of ingress API or data plane leaves no route of the old form behind: the
StaleRoutes task keeps exactly the routing objects the manifests list now, finds the old
ones by the manifests' own prune labels, and covers every routing kind of every form."""

from __future__ import annotations

import itertools

import pytest

from constructs.cluster_tasks import STALE_ROUTES_RESOURCE_TYPE
from plan import modes
from plan.routing import routing_key
from tests.istio_objects import ACCEPTED, combination_id, lab_plan
from tests.template_queries import MANIFEST, manifest_objects, manifest_with, only

BUILT_IN_API_VERSIONS = {"v1", "apps/v1"}
# The forms the routing takes: every pair of ingress API and data plane.
FORMS = list(itertools.product(modes.INGRESS_APIS, modes.DATAPLANES))


@pytest.mark.parametrize("context", ACCEPTED, ids=combination_id)
def test_every_object_kubectls_pruning_skips_is_a_routing_kind(context):
    for obj in lab_plan(**context).routing.objects:
        if obj["apiVersion"] not in BUILT_IN_API_VERSIONS:
            assert routing_key(obj) is not None, obj["kind"]


def test_each_switch_has_routes_to_remove():
    # The reason the task exists: every pair of forms differs in its routing objects.
    def keys(form):
        ingress, dataplane = form
        return set(
            lab_plan(scenario="all-v1", ingressApi=ingress, dataplane=dataplane).routing.keep
        )

    for old, new in itertools.permutations(FORMS, 2):
        assert keys(old) - keys(new), (old, new)


@pytest.mark.parametrize("ingress_api", ["istio", "gateway-api"])
def test_the_keep_list_names_every_istio_and_gateway_api_object_and_nothing_else(ingress_api):
    routing = lab_plan(ingressApi=ingress_api).routing
    expected = sorted(
        f"{o['kind']}.{o['apiVersion'].split('/')[0]}/{o['metadata']['name']}"
        for o in routing.objects
        if o["apiVersion"].split("/")[0] in ("networking.istio.io", "gateway.networking.k8s.io")
    )
    assert routing.keep == expected
    # The Services and the scenario's ConfigMap are built-in kinds kubectl prunes itself.
    assert any(o["kind"] == "ConfigMap" for o in routing.objects)
    assert not [key for key in routing.keep if key.split(".")[0] in ("Service", "ConfigMap")]


def test_the_task_keeps_what_the_manifests_list_and_runs_after_them(any_synthesized):
    template, config = any_synthesized.cluster, any_synthesized.config
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
    assert props["Namespace"] == config.bookinfo_namespace
    # The labels are the ones aws-cdk-lib's handler prunes by.
    assert sorted(props["Selectors"]) == sorted(
        r["Properties"]["PruneLabel"] for r in manifests.values()
    )
    assert set(manifests) <= set(task["DependsOn"])
