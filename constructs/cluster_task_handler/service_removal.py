"""`Custom::ServiceRemoval`: on the stack's deletion, every LoadBalancer Service of the cluster
is deleted and waited for, whoever made it.

Does nothing on Create and Update (an Update keeps the physical ID, so CloudFormation never
sends this resource a Delete for a replaced one). On Delete, and only while CloudFormation is
deleting the stack or rolling back its creation (a Delete during an update's rollback or
cleanup must not touch a live lab), it lists the Services of type LoadBalancer in every
namespace (the lab's gateways that are still there, a Task's Gateway, a learner's own),
deletes them (a Gateway API Gateway's Service by deleting its Gateway too, which istiod
would otherwise serve again), and waits (up to ResourceProperties.TimeoutSeconds) until they
are gone: the load balancer controller, which CloudFormation uninstalls only after this
resource, removes each one's NLB before its finalizer lets it go. Best effort: past the
timeout, or on any error, it logs what is left and succeeds, and the destroy-time cleanup in
the network stack removes what remains.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import tasks_contract
from botocore.exceptions import BotoCoreError, ClientError
from cluster_kubectl import (
    MIN_CALL_S,
    Deadline,
    TaskError,
    cluster_kubeconfig,
    kubectl,
    time_left_s,
)

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

RESOURCE_TYPE = tasks_contract.SERVICE_REMOVAL_RESOURCE_TYPE
# The stack is going away: deleted, or rolled back after a failed create. (During an update's
# rollback or cleanup, UPDATE_ROLLBACK_IN_PROGRESS and the like, the lab stays.)
STACK_GOING = ("DELETE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS")
POLL_SECONDS = 10


def on_event(event: dict, context: object = None) -> dict:
    request_type = event["RequestType"]
    properties = event["ResourceProperties"]
    cluster = properties[tasks_contract.CLUSTER_NAME]
    if request_type == "Create":
        return {"PhysicalResourceId": f"load-balancer-services/{cluster}"}
    if request_type == "Update":
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    if request_type != "Delete":
        raise TaskError(f"unknown RequestType {request_type!r}")
    status = stack_status(event.get("StackId", ""))
    if status not in STACK_GOING:
        LOG.info("the stack is %s, not going away: no Service is touched", status)
    else:
        timeout_s = int(properties.get(tasks_contract.TIMEOUT_SECONDS, 480))
        # Never past the function's own time, less a margin to answer CloudFormation.
        timeout_s = max(MIN_CALL_S, min(timeout_s, int(time_left_s(context))))
        remove_load_balancer_services(cluster, timeout_s)
    return {"PhysicalResourceId": event["PhysicalResourceId"]}


def stack_status(stack_id: str) -> str:
    """The CloudFormation status of the stack, or a word saying why it is unknown."""
    try:
        stacks = boto3.client("cloudformation").describe_stacks(StackName=stack_id)["Stacks"]
    except (ClientError, BotoCoreError) as error:
        LOG.warning("cannot tell whether the stack is being deleted: %s", error)
        return "UNKNOWN"
    return stacks[0]["StackStatus"] if stacks else "UNKNOWN"


GATEWAY_API_GROUP = "gateway.networking.k8s.io"


def load_balancer_services(kubeconfig: Path, deadline: Deadline) -> list[dict]:
    """Every Service of type LoadBalancer, as the API server lists it."""
    listed = json.loads(
        kubectl(
            kubeconfig,
            ["get", "services", "--all-namespaces", "-o", "json"],
            timeout_s=deadline.call_timeout(),
        )
    )
    return [
        item
        for item in listed.get("items", [])
        if item.get("spec", {}).get("type") == "LoadBalancer"
    ]


def service_key(service: dict) -> tuple[str, str]:
    return service["metadata"]["namespace"], service["metadata"]["name"]


def owning_gateway(service: dict) -> str | None:
    """The Gateway API Gateway a Service was generated for (istiod would make it again if
    only the Service were deleted), or None."""
    for owner in service["metadata"].get("ownerReferences", []):
        group = owner.get("apiVersion", "").split("/")[0]
        if owner.get("kind") == "Gateway" and group == GATEWAY_API_GROUP:
            return owner["name"]
    return None


# The clock and the pause between rounds; tests replace them.
CLOCK: Callable[[], float] = time.monotonic
SLEEP: Callable[[float], None] = time.sleep


def delete_service(kubeconfig: Path, service: dict, deadline: Deadline) -> None:
    """Deletes the Service, and first the Gateway it was generated for; returns at once (the
    load balancer controller's finalizer holds the Service until its NLB is gone)."""
    namespace, name = service_key(service)
    gateway = owning_gateway(service)
    if gateway is not None:
        LOG.info("deleting gateway %s/%s, which owns service %s", namespace, gateway, name)
        try:
            kubectl(
                kubeconfig,
                [
                    "delete",
                    f"gateways.{GATEWAY_API_GROUP}",
                    gateway,
                    "-n",
                    namespace,
                    "--ignore-not-found",
                    "--wait=false",
                ],
                timeout_s=deadline.call_timeout(),
            )
        except TaskError as error:
            # E.g. the Gateway API's CRDs are already gone, and the Gateway with them.
            LOG.warning("could not delete gateway %s/%s: %s", namespace, gateway, error)
    LOG.info("deleting service %s/%s", namespace, name)
    kubectl(
        kubeconfig,
        ["delete", "service", name, "-n", namespace, "--ignore-not-found", "--wait=false"],
        timeout_s=deadline.call_timeout(),
    )


def remove_load_balancer_services(cluster: str, timeout_s: int) -> list[tuple[str, str]] | None:
    """Delete every LoadBalancer Service and wait until none is left; returns what is left
    when the time is up (empty when all are gone), or None when the Services could not be
    listed at all.

    Every round lists the Services again and deletes what is not already being deleted, so
    a Service that something made again meanwhile (istiod, for a Gateway whose delete it
    had not seen yet) goes too, and a delete or a listing that failed is tried again in the
    next round. No kubectl call runs past the deadline by more than MIN_CALL_S.
    """
    deadline = Deadline(timeout_s, CLOCK)
    left: list[tuple[str, str]] | None = None
    try:
        with cluster_kubeconfig(cluster) as kubeconfig:
            while True:
                try:
                    services = load_balancer_services(kubeconfig, deadline)
                except (TaskError, ValueError) as error:
                    LOG.warning("could not list the Services: %s", error)
                else:
                    left = sorted(service_key(s) for s in services)
                    if not left:
                        break
                    for service in services:
                        if deadline.passed():
                            break
                        if "deletionTimestamp" in service["metadata"]:
                            continue
                        try:
                            delete_service(kubeconfig, service, deadline)
                        except TaskError as error:
                            LOG.warning("will try again: %s", error)
                if deadline.passed():
                    break
                SLEEP(POLL_SECONDS)
    except Exception as error:  # noqa: BLE001 - best effort: a destroy must not fail here
        LOG.warning("stopped removing the LoadBalancer Services: %s", error)
    if left is None:
        LOG.warning(
            "could not tell which LoadBalancer Services are left; the destroy-time cleanup "
            "removes load balancers the controller did not"
        )
    elif left:
        LOG.warning(
            "still there: %s; the destroy-time cleanup removes their load balancers if the "
            "controller did not",
            ", ".join(f"{namespace}/{name}" for namespace, name in left),
        )
    else:
        LOG.info("no LoadBalancer Service is left")
    return left
