"""`Custom::StaleRoutes`: deletes the routing objects the lab's manifests no longer list.

On Create and Update, deletes the routing objects that the lab's manifests applied earlier and
no longer list. aws-cdk-lib updates a manifest with `kubectl apply --prune`, whose default
allowlist holds only built-in kinds, so a VirtualService, DestinationRule or Gateway API route
that a new form of the routing (another ingress API or data plane) drops would otherwise stay
and keep routing. Only objects of ResourceProperties.Kinds in ResourceProperties.Namespace
that are not in ResourceProperties.Keep are deleted, and only those that carry one of the
manifests' prune labels (ResourceProperties.Selectors) or are named in
ResourceProperties.Names (the lab's other forms: a copy a learner applied by hand has lost
the label), the latter only when Keep changed (a switch), not on an update that keeps the
same routes, such as `make repair`. Nothing on Delete: each manifest deletes its own objects.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import tasks_contract
from cluster_kubectl import MAX_MESSAGE_CHARS, TaskError, cluster_kubeconfig, kubectl

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

RESOURCE_TYPE = tasks_contract.STALE_ROUTES_RESOURCE_TYPE


def on_event(event: dict, context: object = None) -> dict:
    request_type = event["RequestType"]
    properties = event["ResourceProperties"]
    cluster = properties[tasks_contract.CLUSTER_NAME]
    namespace = properties[tasks_contract.NAMESPACE]
    physical_id = f"stale-routes/{cluster}/{namespace}"
    if request_type == "Delete":
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    if request_type not in ("Create", "Update"):
        raise TaskError(f"unknown RequestType {request_type!r}")
    try:
        with cluster_kubeconfig(cluster) as kubeconfig:
            delete_stale(
                kubeconfig,
                namespace,
                properties[tasks_contract.KINDS],
                properties[tasks_contract.SELECTORS],
                set(properties[tasks_contract.KEEP]),
                names_to_delete(event),
            )
    except TaskError as error:
        raise TaskError(str(error)[:MAX_MESSAGE_CHARS]) from None
    return {"PhysicalResourceId": physical_id}


def names_to_delete(event: dict) -> set[str]:
    """The other forms' routes are deleted by name only when the lab's routing changed (a
    switch of form, or the task's first run): an update that keeps the same routes (`make
    repair`, another setting) leaves a Task's route of such a name alone."""
    properties = event["ResourceProperties"]
    old = event.get("OldResourceProperties")
    kept_before = None if old is None else sorted(old.get(tasks_contract.KEEP, []))
    if event["RequestType"] == "Update" and kept_before == sorted(properties[tasks_contract.KEEP]):
        return set()
    return set(properties.get(tasks_contract.NAMES, []))


def delete_stale(
    kubeconfig: Path,
    namespace: str,
    kinds: list[str],
    selectors: list[str],
    keep: set[str],
    names: set[str] = frozenset(),
) -> list[str]:
    """Delete every object of `kinds` in `namespace` whose `Kind.group/name` is not in `keep`
    and that carries one of the `selectors` labels or is in `names`; returns what was
    deleted."""
    stale: dict[str, str] = {}  # key -> how kubectl names it (the type in lower case)
    listed = kubectl(kubeconfig, ["get", ",".join(kinds), "-n", namespace, "-o", "json"])
    for item in json.loads(listed).get("items", []):
        group = item["apiVersion"].rpartition("/")[0]
        name = f"{group}/{item['metadata']['name']}"
        key = f"{item['kind']}.{name}"
        labels = item["metadata"].get("labels") or {}
        applied = any(selector in labels for selector in selectors)
        if key not in keep and (applied or key in names):
            stale[key] = f"{item['kind'].lower()}.{name}"
    if stale:
        kubectl(kubeconfig, ["delete", "-n", namespace, "--ignore-not-found", *stale.values()])
        LOG.info("deleted the stale routing objects %s", ", ".join(stale))
    return list(stale)
