"""The entry point of the kubectl task handler (`index.on_event`): hands each event to the
module of its resource type, one module per task.

gateway_api_crds: Custom::GatewayApiCrds, the Gateway API's CRDs from pinned files.
gateway_api_crd_removal: Custom::GatewayApiCrdRemoval, their deletion with the stack.
service_removal: Custom::ServiceRemoval, on the stack's deletion every LoadBalancer Service
    deleted and waited for.
stale_routes: Custom::StaleRoutes, deletes the routing objects no manifest lists any more.
cluster_kubectl: what they share (the kubeconfig and its token, kubectl, TaskError);
tasks_contract: the names they share with the construct (constructs/cluster_tasks.py);
scope_guard: every event is checked against the function's own scope first.
"""

from __future__ import annotations

import gateway_api_crd_removal
import gateway_api_crds
import scope_guard
import service_removal
import stale_routes
from cluster_kubectl import TaskError

TASKS = {
    task.RESOURCE_TYPE: task
    for task in (gateway_api_crds, gateway_api_crd_removal, service_removal, stale_routes)
}


def on_event(event: dict, context: object = None) -> dict:
    resource_type = event.get("ResourceType")
    task = TASKS.get(resource_type)
    if task is None:
        raise TaskError(f"unknown resource type {resource_type!r}")
    scope_guard.check(event)
    return task.on_event(event, context)
