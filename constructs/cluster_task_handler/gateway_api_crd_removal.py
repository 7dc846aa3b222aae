"""`Custom::GatewayApiCrdRemoval`: the Gateway API's CRDs deleted when the stack goes.

Nothing on Create and Update. On Delete, deletes the objects of ResourceProperties.Objects
(the CRDs and the admission policy) by kind and name, best effort: the cluster goes with the
stack anyway, and a stuck CRD must not keep the lab from being destroyed. A resource of its
own, so that it can depend on the load balancer controller and go before it: deleting the
CRDs deletes every Gateway (a Task's too), and their Services' NLBs are removed only while
the controller runs; and so that the CRDs' apply need not wait for the controller.
"""

from __future__ import annotations

import tasks_contract
from cluster_kubectl import TaskError
from gateway_api_crds import delete_objects

RESOURCE_TYPE = tasks_contract.CRD_REMOVAL_RESOURCE_TYPE


def on_event(event: dict, context: object = None) -> dict:
    request_type = event["RequestType"]
    properties = event["ResourceProperties"]
    cluster = properties[tasks_contract.CLUSTER_NAME]
    if request_type in ("Create", "Update"):
        return {"PhysicalResourceId": f"gateway-api-crd-removal/{cluster}"}
    if request_type == "Delete":
        delete_objects(cluster, properties.get(tasks_contract.OBJECTS, []))
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    raise TaskError(f"unknown RequestType {request_type!r}")
