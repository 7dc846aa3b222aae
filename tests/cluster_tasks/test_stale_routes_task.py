"""Custom::StaleRoutes: on every deploy, the routing objects the manifests applied earlier and
no longer list are deleted, and so are the lab's other forms' routes by name (a copy applied
by hand has no prune label); a listing that fails fails the deployment."""

from __future__ import annotations

import json

import pytest

from plan.routing import routing_key
from tests.cluster_tasks.task_events import (
    CLUSTER,
    NAMESPACE,
    STALE_KINDS,
    STALE_SELECTORS,
    stale_event,
    without_kubectl_options,
)
from tests.istio_objects import lab_plan


def listing(*objects: tuple) -> str:
    """kubectl's list of (apiVersion, kind, name[, labels]) objects."""
    return json.dumps(
        {
            "items": [
                {
                    "apiVersion": api,
                    "kind": kind,
                    "metadata": {"name": name, **({"labels": rest[0]} if rest else {})},
                }
                for api, kind, name, *rest in objects
            ]
        }
    )


APPLIED = {STALE_SELECTORS[0]: ""}
IN_CLUSTER = listing(
    ("networking.istio.io/v1", "VirtualService", "bookinfo", APPLIED),
    ("networking.istio.io/v1", "VirtualService", "reviews", {STALE_SELECTORS[1]: ""}),
    ("gateway.networking.k8s.io/v1", "HTTPRoute", "reviews", APPLIED),
)
GET = ["get", ",".join(STALE_KINDS), "-n", NAMESPACE, "-o", "json"]


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_routes_no_manifest_lists_any_more_are_deleted(
    index, eks, kubectl, monkeypatch, request_type
):
    # GIVEN the cluster holds two VirtualServices and an HTTPRoute with the manifests' labels
    monkeypatch.setenv("FAKE_KUBECTL_STDOUT", IN_CLUSTER)
    keep = [
        "VirtualService.networking.istio.io/bookinfo",
        "HTTPRoute.gateway.networking.k8s.io/reviews",
    ]
    # WHEN the manifests now list only two of them
    result = index.on_event(stale_event(request_type, keep))
    # THEN the routing kinds are listed in the namespace, and only the third is deleted
    assert result == {"PhysicalResourceId": f"stale-routes/{CLUSTER}/{NAMESPACE}"}
    calls = [without_kubectl_options(c["args"]) for c in kubectl()]
    assert calls == [
        GET,
        [
            "delete",
            "-n",
            NAMESPACE,
            "--ignore-not-found",
            "virtualservice.networking.istio.io/reviews",
        ],
    ]


def test_nothing_stale_deletes_nothing(index, eks, kubectl, monkeypatch):
    monkeypatch.setenv("FAKE_KUBECTL_STDOUT", listing())
    index.on_event(stale_event("Update", ["VirtualService.networking.istio.io/bookinfo"]))
    assert [without_kubectl_options(c["args"])[0] for c in kubectl()] == ["get"]


def test_stale_routes_do_nothing_on_delete(index, eks, kubectl):
    assert index.on_event(stale_event("Delete", [])) == {
        "PhysicalResourceId": f"stale-routes/{CLUSTER}/{NAMESPACE}"
    }
    assert kubectl() == []


def test_a_listing_that_fails_fails_the_deployment(index, task_error, eks, kubectl, monkeypatch):
    # Stale routes would keep routing: the update must not pass silently.
    monkeypatch.setenv("FAKE_KUBECTL_EXIT", "1")
    with pytest.raises(task_error, match="kubectl get failed"):
        index.on_event(stale_event("Update", []))


@pytest.mark.parametrize("ingress_api", ["istio", "gateway-api"])
def test_the_handler_reads_the_plans_keep_list_as_the_objects_it_lists(
    index, eks, kubectl, monkeypatch, ingress_api
):
    # GIVEN the cluster holds exactly the routing objects a plan applies, as kubectl lists them
    routing = lab_plan(ingressApi=ingress_api).routing
    applied = [
        (o["apiVersion"], o["kind"], o["metadata"]["name"])
        for o in routing.objects
        if routing_key(o) is not None
    ]
    monkeypatch.setenv("FAKE_KUBECTL_STDOUT", listing(*applied))
    # WHEN the task runs with that plan's keep list
    index.on_event(stale_event("Update", routing.keep))
    # THEN the handler names them as the plan does: nothing is deleted
    assert [without_kubectl_options(c["args"])[0] for c in kubectl()] == ["get"]


def test_an_old_forms_route_without_its_label_is_deleted_by_name(index, eks, kubectl, monkeypatch):
    # GIVEN the old form's HTTPRoute, re-applied by hand (the prune label is gone), beside a
    # learner's own route of a name no form of the lab uses
    monkeypatch.setenv(
        "FAKE_KUBECTL_STDOUT",
        listing(
            ("networking.istio.io/v1", "VirtualService", "reviews", APPLIED),
            ("gateway.networking.k8s.io/v1", "HTTPRoute", "reviews"),
            ("gateway.networking.k8s.io/v1", "HTTPRoute", "my-route"),
        ),
    )
    # WHEN the task runs for the new form, which names the old form's routes
    index.on_event(
        stale_event(
            "Update",
            keep=["VirtualService.networking.istio.io/reviews"],
            names=["HTTPRoute.gateway.networking.k8s.io/reviews"],
            old_keep=["HTTPRoute.gateway.networking.k8s.io/reviews"],
        )
    )
    # THEN the old form's route goes and the learner's own stays
    calls = [without_kubectl_options(c["args"]) for c in kubectl()]
    assert calls == [
        GET,
        [
            "delete",
            "-n",
            NAMESPACE,
            "--ignore-not-found",
            "httproute.gateway.networking.k8s.io/reviews",
        ],
    ]


def test_an_update_that_keeps_the_routes_leaves_a_tasks_route_of_such_a_name(
    index, eks, kubectl, monkeypatch
):
    # GIVEN a Task's HTTPRoute `reviews` (no label) while the lab routes with VirtualServices
    monkeypatch.setenv(
        "FAKE_KUBECTL_STDOUT",
        listing(
            ("networking.istio.io/v1", "VirtualService", "reviews", APPLIED),
            ("gateway.networking.k8s.io/v1", "HTTPRoute", "reviews"),
        ),
    )
    keep = ["VirtualService.networking.istio.io/reviews"]
    # WHEN the task is updated with the same routes (make repair)
    index.on_event(
        stale_event(
            "Update",
            keep=keep,
            names=["HTTPRoute.gateway.networking.k8s.io/reviews"],
            old_keep=keep,
        )
    )
    # THEN nothing is deleted
    assert [without_kubectl_options(c["args"])[0] for c in kubectl()] == ["get"]


@pytest.mark.parametrize("ingress_api", ["istio", "gateway-api"])
@pytest.mark.parametrize("dataplane", ["sidecar", "ambient"])
def test_the_plan_names_every_other_forms_routes_and_never_its_own(ingress_api, dataplane):
    plan = lab_plan(ingressApi=ingress_api, dataplane=dataplane)
    others = set(plan.routing.other_forms)
    assert not others & set(plan.routing.keep)
    for other_ingress in ("istio", "gateway-api"):
        for other_plane in ("sidecar", "ambient"):
            other = lab_plan(ingressApi=other_ingress, dataplane=other_plane).routing.keep
            assert set(other) - set(plan.routing.keep) <= others
