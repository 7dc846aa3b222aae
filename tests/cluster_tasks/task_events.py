"""Events as the custom resource provider hands them to the kubectl task handler, one
factory per task, keyed by the contract the construct writes its properties with."""

from __future__ import annotations

from constructs.cluster_task_handler import tasks_contract

CLUSTER = "blue"
NAMESPACE = "default"


def task_event(resource_type: str, request_type: str, properties: dict, physical_id: str) -> dict:
    """The provider sends the physical ID on every request after Create."""
    result = {
        "RequestType": request_type,
        "ResourceType": resource_type,
        "ResourceProperties": {tasks_contract.CLUSTER_NAME: CLUSTER, **properties},
    }
    if request_type != "Create":
        result["PhysicalResourceId"] = physical_id
    return result


def crds_event(
    request_type: str, files: list[dict] = (), objects=(), *, replaces=(), old_objects=None
) -> dict:
    properties = {tasks_contract.FILES: list(files), tasks_contract.OBJECTS: list(objects)}
    if replaces:
        properties[tasks_contract.REPLACES] = list(replaces)
    event = task_event(
        tasks_contract.CRDS_RESOURCE_TYPE,
        request_type,
        properties,
        f"gateway-api-crds/{CLUSTER}",
    )
    if old_objects is not None:
        # CloudFormation sends every old property, the cluster's name among them.
        event["OldResourceProperties"] = {
            **event["ResourceProperties"],
            tasks_contract.OBJECTS: list(old_objects),
        }
    return event


def crd_removal_event(request_type: str, objects=()) -> dict:
    return task_event(
        tasks_contract.CRD_REMOVAL_RESOURCE_TYPE,
        request_type,
        {tasks_contract.OBJECTS: list(objects)},
        f"gateway-api-crd-removal/{CLUSTER}",
    )


def removal_event(request_type: str, stack_id: str = "", timeout_s: int = 480) -> dict:
    event = task_event(
        tasks_contract.SERVICE_REMOVAL_RESOURCE_TYPE,
        request_type,
        # CloudFormation passes every property value as a string.
        {tasks_contract.TIMEOUT_SECONDS: str(timeout_s)},
        f"load-balancer-services/{CLUSTER}",
    )
    # CloudFormation names the stack of the resource in every request.
    event["StackId"] = (
        stack_id or f"arn:aws:cloudformation:us-east-1:123456789012:stack/{CLUSTER}/1"
    )
    return event


STALE_KINDS = ["virtualservices.networking.istio.io", "httproutes.gateway.networking.k8s.io"]
STALE_SELECTORS = ["aws.cdk.eks/prune-c8aa", "aws.cdk.eks/prune-c8bb"]


def stale_event(
    request_type: str, keep: list[str] = (), names: list[str] = (), old_keep=None
) -> dict:
    event = task_event(
        tasks_contract.STALE_ROUTES_RESOURCE_TYPE,
        request_type,
        {
            tasks_contract.NAMESPACE: NAMESPACE,
            tasks_contract.KINDS: STALE_KINDS,
            tasks_contract.SELECTORS: STALE_SELECTORS,
            tasks_contract.KEEP: list(keep),
            tasks_contract.NAMES: list(names),
        },
        f"stale-routes/{CLUSTER}/{NAMESPACE}",
    )
    if old_keep is not None:
        event["OldResourceProperties"] = {
            **event["ResourceProperties"],
            tasks_contract.KEEP: list(old_keep),
        }
    return event


def without_kubectl_options(args: list[str]) -> list[str]:
    return [a for a in args if not a.startswith("--kubeconfig=")]
