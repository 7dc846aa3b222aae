"""`Custom::ServiceRemoval`: on delete, a wait until a Service is gone.

Does nothing on Create and Update. On Delete, waits (up to ResourceProperties.TimeoutSeconds)
until the Service ResourceProperties.Service is gone from ResourceProperties.Namespace: a
Service that istiod generated for a Gateway API Gateway is deleted by the garbage collector
after the Gateway, and only once the load balancer controller has removed its NLB; whatever
depends on this resource is deleted before it and the controller after it. Best effort: past
the timeout it logs and succeeds, and the destroy-time cleanup removes what the controller
left.
"""

from __future__ import annotations

import logging

import tasks_contract
from botocore.exceptions import ClientError
from cluster_kubectl import TaskError, cluster_kubeconfig, kubectl

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

RESOURCE_TYPE = tasks_contract.SERVICE_REMOVAL_RESOURCE_TYPE


def on_event(event: dict) -> dict:
    request_type = event["RequestType"]
    properties = event["ResourceProperties"]
    cluster, namespace, service = (
        properties[tasks_contract.CLUSTER_NAME],
        properties[tasks_contract.NAMESPACE],
        properties[tasks_contract.SERVICE],
    )
    physical_id = f"service-removal/{cluster}/{namespace}/{service}"
    if request_type in ("Create", "Update"):
        return {"PhysicalResourceId": physical_id}
    if request_type != "Delete":
        raise TaskError(f"unknown RequestType {request_type!r}")
    timeout_s = int(properties.get(tasks_contract.TIMEOUT_SECONDS, 600))
    wait_until_gone(cluster, namespace, service, timeout_s)
    return {"PhysicalResourceId": event["PhysicalResourceId"]}


def wait_until_gone(cluster: str, namespace: str, service: str, timeout_s: int) -> None:
    target = f"service/{service}"
    try:
        with cluster_kubeconfig(cluster) as kubeconfig:
            present = kubectl(
                kubeconfig, ["get", target, "-n", namespace, "--ignore-not-found", "-o", "name"]
            ).strip()
            if not present:
                LOG.info("%s/%s is gone", namespace, service)
                return
            kubectl(
                kubeconfig,
                ["wait", "--for=delete", target, "-n", namespace, f"--timeout={timeout_s}s"],
                timeout_s=timeout_s + 30,
            )
            LOG.info("%s/%s is gone", namespace, service)
    except (TaskError, ClientError) as error:
        LOG.warning(
            "%s/%s may still be there (%s); the destroy-time cleanup removes its load "
            "balancer if the controller did not",
            namespace,
            service,
            error,
        )
