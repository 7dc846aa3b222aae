"""Bookinfo's workloads, its namespace label, and its routing resources."""

from __future__ import annotations

import json

import pytest

from plan.routing import RESERVED_SUBSETS
from tests.template_queries import (
    MANIFEST,
    PATCH,
    depends_on,
    helm_chart,
    manifest_objects,
    manifest_with,
    only,
)

SERVICES = ("details", "ratings", "reviews", "productpage")
DEPLOYMENTS = {
    "details-v1": ("details", "v1"),
    "ratings-v1": ("ratings", "v1"),
    "reviews-v1": ("reviews", "v1"),
    "reviews-v2": ("reviews", "v2"),
    "reviews-v3": ("reviews", "v3"),
    "productpage-v1": ("productpage", "v1"),
}


@pytest.fixture(scope="module")
def bookinfo_objects(cluster_template):
    _, app = manifest_with(cluster_template, "Deployment", "productpage-v1")
    return manifest_objects(app)


@pytest.fixture(scope="module")
def routing_objects(cluster_template):
    _, routing = manifest_with(cluster_template, "VirtualService", "bookinfo")
    return manifest_objects(routing)


def by_kind(objects, kind):
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_services_expose_9080_named_http(bookinfo_objects):
    services = by_kind(bookinfo_objects, "Service")
    assert sorted(services) == sorted(SERVICES)
    for name, service in services.items():
        assert service["spec"]["ports"] == [{"name": "http", "port": 9080}]
        assert service["spec"]["selector"] == {"app": name}


def test_each_service_has_its_service_account(bookinfo_objects):
    accounts = by_kind(bookinfo_objects, "ServiceAccount")
    assert sorted(accounts) == sorted(f"bookinfo-{s}" for s in SERVICES)


def test_deployments_carry_app_and_version_labels_and_pinned_images(bookinfo_objects):
    deployments = by_kind(bookinfo_objects, "Deployment")
    assert sorted(deployments) == sorted(DEPLOYMENTS)
    for name, (app, version) in DEPLOYMENTS.items():
        spec = deployments[name]["spec"]
        assert spec["template"]["metadata"]["labels"] == {"app": app, "version": version}
        assert spec["selector"]["matchLabels"] == {"app": app, "version": version}
        pod = spec["template"]["spec"]
        assert pod["serviceAccountName"] == f"bookinfo-{app}"
        (container,) = pod["containers"]
        assert container["image"] == f"docker.io/istio/examples-bookinfo-{app}-{version}:1.20.3"
        assert container["ports"] == [{"containerPort": 9080}]


def test_every_object_is_in_the_configured_namespace(
    bookinfo_objects, routing_objects, synthesized
):
    for obj in bookinfo_objects + routing_objects:
        assert obj["metadata"]["namespace"] == synthesized.config.bookinfo_namespace


def test_default_namespace_is_labelled_in_place_after_istiod(cluster_template, synthesized):
    assert synthesized.config.bookinfo_namespace == "default"
    label_id, label = only(cluster_template.find_resources(PATCH), "namespace patch")
    props = label["Properties"]
    assert props["ResourceName"] == "namespace/default"
    # Both data planes' labels, so that a switch of data plane overwrites both.
    assert json.loads(props["ApplyPatchJson"]) == {
        "metadata": {"labels": {"istio-injection": "enabled", "istio.io/dataplane-mode": "none"}}
    }
    assert json.loads(props["RestorePatchJson"]) == {
        "metadata": {"labels": {"istio-injection": "disabled", "istio.io/dataplane-mode": "none"}}
    }
    # No manifest creates (and so, on delete, removes) a Namespace.
    for resource in cluster_template.find_resources(MANIFEST).values():
        manifest = resource["Properties"]["Manifest"]
        if isinstance(manifest, str):
            assert all(o["kind"] != "Namespace" for o in manifest_objects(resource))

    istiod_id, _ = helm_chart(cluster_template, "istiod")
    assert istiod_id in depends_on(label)
    _, app = manifest_with(cluster_template, "Deployment", "productpage-v1")
    assert {label_id, istiod_id} <= depends_on(app)


def test_routing_waits_for_istio_webhook_and_namespace(cluster_template):
    istiod_id, _ = helm_chart(cluster_template, "istiod")
    label_id, _ = only(cluster_template.find_resources(PATCH), "namespace patch")
    _, routing = manifest_with(cluster_template, "VirtualService", "bookinfo")
    assert {istiod_id, label_id} <= depends_on(routing)


def test_virtual_service_routes_the_productpage_paths(routing_objects):
    service = by_kind(routing_objects, "VirtualService")["bookinfo"]["spec"]
    assert service["hosts"] == ["*"]
    assert service["gateways"] == ["bookinfo-gateway"]
    assert set(by_kind(routing_objects, "Gateway")) == {"bookinfo-gateway"}
    (route,) = service["http"]
    matches = {(kind, value) for m in route["match"] for kind, value in m["uri"].items()}
    assert matches == {
        ("exact", "/productpage"),
        ("exact", "/login"),
        ("exact", "/logout"),
        ("prefix", "/static"),
        ("prefix", "/api/v1/products"),
    }
    assert route["route"] == [{"destination": {"host": "productpage", "port": {"number": 9080}}}]


def test_destination_rule_subsets(routing_objects):
    rules = by_kind(routing_objects, "DestinationRule")
    subsets = {name: [s["name"] for s in rule["spec"]["subsets"]] for name, rule in rules.items()}
    assert subsets == {
        "productpage": ["v1"],
        "reviews": ["v1", "v2", "v3"],
        "ratings": ["v1", "v2", "v2-mysql", "v2-mysql-vm"],
        "details": ["v1", "v2"],
    }
    for name, rule in rules.items():
        assert rule["spec"]["host"] == name
        for subset in rule["spec"]["subsets"]:
            assert subset["labels"] == {"version": subset["name"]}


def test_every_subset_selects_a_deployment_or_is_reserved(bookinfo_objects, routing_objects):
    pod_labels = [
        d["spec"]["template"]["metadata"]["labels"]
        for d in by_kind(bookinfo_objects, "Deployment").values()
    ]
    for rule in by_kind(routing_objects, "DestinationRule").values():
        host = rule["spec"]["host"]
        for subset in rule["spec"]["subsets"]:
            selector = {"app": host, **subset["labels"]}
            selected = any(selector.items() <= labels.items() for labels in pod_labels)
            reserved = subset["name"] in RESERVED_SUBSETS.get(host, ())
            assert selected != reserved, f"{host}/{subset['name']}: selected={selected}"


def test_a_new_namespace_is_created_labelled_and_deleted_with_the_lab(
    synthesized_ambient_gateway_api,
):
    """GIVEN bookinfoNamespace=bookinfo THEN Bookinfo owns its Namespace, labelled for the
    data plane, created once the mesh is ready and before the app."""
    template = synthesized_ambient_gateway_api.cluster
    plan = synthesized_ambient_gateway_api.plan
    assert plan.bookinfo.namespace == "bookinfo"
    template.resource_count_is(PATCH, 0)
    namespace_id, namespace = manifest_with(template, "Namespace", "bookinfo")
    (obj,) = manifest_objects(namespace)
    assert {k: v for k, v in obj["metadata"]["labels"].items() if "prune" not in k} == dict(
        plan.bookinfo.labels
    )
    istiod_id, _ = helm_chart(template, "istiod")
    assert istiod_id in depends_on(namespace)
    _, app_resource = manifest_with(template, "Deployment", "reviews-v3")
    assert namespace_id in depends_on(app_resource)
    assert all(o["metadata"]["namespace"] == "bookinfo" for o in manifest_objects(app_resource))
