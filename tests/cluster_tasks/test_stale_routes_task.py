"""Custom::StaleRoutes: on every deploy, the routing objects the manifests applied earlier and
no longer list are deleted; a listing that fails fails the deployment."""

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


def listing(*objects: tuple[str, str, str]) -> str:
    return json.dumps(
        {
            "items": [
                {"apiVersion": api, "kind": kind, "metadata": {"name": name}}
                for api, kind, name in objects
            ]
        }
    )


IN_CLUSTER = listing(
    ("networking.istio.io/v1", "VirtualService", "bookinfo"),
    ("networking.istio.io/v1", "VirtualService", "reviews"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute", "reviews"),
)


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
    # THEN each label is listed in the namespace, and only the third object is deleted
    assert result == {"PhysicalResourceId": f"stale-routes/{CLUSTER}/{NAMESPACE}"}
    calls = [without_kubectl_options(c["args"]) for c in kubectl()]
    kinds = ",".join(STALE_KINDS)
    assert calls == [
        ["get", kinds, "-n", NAMESPACE, "-l", STALE_SELECTORS[0], "-o", "json"],
        ["get", kinds, "-n", NAMESPACE, "-l", STALE_SELECTORS[1], "-o", "json"],
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
    assert [without_kubectl_options(c["args"])[0] for c in kubectl()] == ["get", "get"]


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
    assert [without_kubectl_options(c["args"])[0] for c in kubectl()] == ["get", "get"]
