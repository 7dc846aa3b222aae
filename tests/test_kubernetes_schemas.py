"""Every core and apps object the lab applies validates strictly against the Kubernetes
schema of the selected version (unknown fields fail), as `kubectl apply` would check it."""

from __future__ import annotations

import json

import kubernetes_validate
import pytest

from tests.template_queries import MANIFEST

CORE_API_VERSIONS = {"v1", "apps/v1"}
# Stands in for CloudFormation values (role ARNs, names) that are only known at deploy time.
DEPLOY_TIME_VALUE = "deploy-time-value"


def manifest_text(manifest) -> str:
    """The manifest JSON, with deploy-time values replaced by a placeholder string."""
    if isinstance(manifest, str):
        return manifest
    separator, parts = manifest["Fn::Join"]
    return separator.join(p if isinstance(p, str) else DEPLOY_TIME_VALUE for p in parts)


def applied_core_objects(template) -> list[dict]:
    objects = []
    for resource in template.find_resources(MANIFEST).values():
        for obj in json.loads(manifest_text(resource["Properties"]["Manifest"])):
            if obj["apiVersion"] in CORE_API_VERSIONS:
                objects.append(obj)
    return objects


@pytest.fixture(scope="module")
def core_objects(cluster_template):
    return applied_core_objects(cluster_template)


def test_the_check_covers_bookinfo_and_the_cdk_made_objects(core_objects):
    kinds = {(o["kind"], o["metadata"]["name"]) for o in core_objects}
    assert ("Deployment", "reviews-v3") in kinds
    assert ("Service", "productpage") in kinds
    assert ("ServiceAccount", "bookinfo-ratings") in kinds
    assert ("ServiceAccount", "aws-load-balancer-controller") in kinds


def test_every_core_object_validates_strictly(core_objects, synthesized):
    version = synthesized.config.kubernetes_version
    failures = []
    for obj in core_objects:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(p) for p in error.path)
            failures.append(f"{obj['kind']}/{obj['metadata']['name']} at {path}: {error.message}")
    assert failures == []


def test_an_unknown_field_fails(core_objects, synthesized):
    deployment = next(o for o in core_objects if o["kind"] == "Deployment")
    broken = json.loads(json.dumps(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "IfNotPresent"
    broken["spec"]["template"]["spec"]["containers"][0]["imagepullpolicy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError, match="imagepullpolicy"):
        kubernetes_validate.validate(broken, synthesized.config.kubernetes_version, strict=True)


def test_a_wrong_type_fails(synthesized):
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "details"},
        "spec": {"ports": [{"name": "http", "port": "9080"}]},
    }
    with pytest.raises(kubernetes_validate.ValidationError, match="9080"):
        kubernetes_validate.validate(service, synthesized.config.kubernetes_version, strict=True)


def test_the_gateway_api_modes_own_objects_validate_too(synthesized_gateway_api):
    # The per-version Services its routes name exist only in that mode.
    objects = applied_core_objects(synthesized_gateway_api.cluster)
    names = {(o["kind"], o["metadata"]["name"]) for o in objects}
    assert ("Service", "reviews-v3") in names
    version = synthesized_gateway_api.config.kubernetes_version
    for obj in objects:
        kubernetes_validate.validate(obj, version, strict=True)


def test_the_ambient_modes_own_objects_validate_too(synthesized_ambient):
    # The reviews Service carries the use-waypoint label in this mode.
    objects = applied_core_objects(synthesized_ambient.cluster)
    reviews = [o for o in objects if (o["kind"], o["metadata"]["name"]) == ("Service", "reviews")]
    assert reviews[0]["metadata"]["labels"]["istio.io/use-waypoint"] == "waypoint"
    version = synthesized_ambient.config.kubernetes_version
    for obj in objects:
        kubernetes_validate.validate(obj, version, strict=True)
