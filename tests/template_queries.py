"""Small queries over synthesized templates that the assertions library does not offer."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

HELM_CHART = "Custom::AWSCDK-EKS-HelmChart"
MANIFEST = "Custom::AWSCDK-EKS-KubernetesResource"
PATCH = "Custom::AWSCDK-EKS-KubernetesPatch"
OBJECT_VALUE = "Custom::AWSCDK-EKS-KubernetesObjectValue"


def resources_of_type(template: Template, resource_type: str) -> dict[str, dict[str, Any]]:
    return template.find_resources(resource_type)


def only(matches: dict[str, dict[str, Any]], what: str) -> tuple[str, dict[str, Any]]:
    assert len(matches) == 1, f"expected exactly one {what}, found {sorted(matches)}"
    return next(iter(matches.items()))


def helm_chart(template: Template, release: str) -> tuple[str, dict[str, Any]]:
    """(logical id, resource) of the Helm release named `release`."""
    charts = {
        logical_id: resource
        for logical_id, resource in resources_of_type(template, HELM_CHART).items()
        if resource["Properties"]["Release"] == release
    }
    return only(charts, f"Helm release {release!r}")


def chart_values(resource: dict[str, Any]) -> dict[str, Any]:
    values = resource["Properties"].get("Values", "{}")
    assert isinstance(values, str), "chart values contain unresolved tokens"
    return json.loads(values)


def literal_values(resource: dict[str, Any]) -> str:
    """A chart's values whose JSON holds tokens (an Fn::Join): the literal text around them."""
    return "".join(
        part for part in resource["Properties"]["Values"]["Fn::Join"][1] if isinstance(part, str)
    )


def manifest_objects(resource: dict[str, Any]) -> list[dict[str, Any]]:
    return json.loads(resource["Properties"]["Manifest"])


def manifest_with(template: Template, kind: str, name: str) -> tuple[str, dict[str, Any]]:
    """(logical id, resource) of the one manifest resource that applies object kind/name."""
    found = {
        logical_id: resource
        for logical_id, resource in resources_of_type(template, MANIFEST).items()
        if isinstance(resource["Properties"]["Manifest"], str)
        and any(
            obj["kind"] == kind and obj["metadata"]["name"] == name
            for obj in manifest_objects(resource)
        )
    }
    return only(found, f"manifest with {kind}/{name}")


def depends_on(resource: dict[str, Any]) -> set[str]:
    return set(resource.get("DependsOn", []))


def ancestors(graph: dict[str, set[str]], logical_id: str) -> set[str]:
    """Everything `logical_id` waits for on creation, directly or not, in a graph of
    bench.critical_path.dependencies."""
    seen: set[str] = set()
    pending = list(graph[logical_id])
    while pending:
        node = pending.pop()
        if node not in seen:
            seen.add(node)
            pending.extend(graph[node])
    return seen


def stack_with_imported_cluster(stack_id: str) -> tuple[cdk.Stack, eks.ICluster]:
    """A bare stack and an imported cluster: enough to synthesize one construct cheaply."""
    stack = cdk.Stack(cdk.App(), stack_id)
    provider = eks.KubectlProvider.from_kubectl_provider_attributes(
        stack,
        "KubectlProvider",
        service_token="arn:aws:lambda:us-east-1:123456789012:function:kubectl",
        role=iam.Role.from_role_arn(stack, "KubectlRole", "arn:aws:iam::123456789012:role/kubectl"),
    )
    cluster = eks.Cluster.from_cluster_attributes(
        stack, "Cluster", cluster_name="imported", kubectl_provider=provider
    )
    return stack, cluster


PRUNE_LABEL_PREFIX = "aws.cdk.eks/prune-"


def as_written(obj: dict[str, Any]) -> dict[str, Any]:
    """A manifest's object without the prune label aws-cdk-lib adds to every one."""
    labels = {
        key: value
        for key, value in obj["metadata"].get("labels", {}).items()
        if not key.startswith(PRUNE_LABEL_PREFIX)
    }
    metadata = {key: value for key, value in obj["metadata"].items() if key != "labels"}
    if labels:
        metadata["labels"] = labels
    return {**obj, "metadata": metadata}
