"""The handler's own scope, from the function's environment (set by the construct), and the
check every event passes before any task runs: the cluster it names is this function's, the
files it would apply are the pinned ones, the kinds it would delete are the lab's routing
kinds, and the objects it would remove are the Gateway API's. So an event built by hand
cannot turn the function (a cluster admin) on another cluster or other objects.

An Update whose new files are not pinned is let through when its old properties are wholly
in scope: that is CloudFormation rolling back to what was deployed before the function's
environment changed (a new Gateway API pin, say), which must not fail. Nothing else is
relaxed for it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from cluster_kubectl import TaskError
from tasks_contract import (
    CLUSTER_NAME,
    CRD_REMOVAL_RESOURCE_TYPE,
    CRDS_RESOURCE_TYPE,
    ENV_CLUSTER_NAME,
    ENV_FILE_SHA256,
    ENV_FILE_SOURCE,
    ENV_ROUTING_KINDS,
    FILE_SHA256,
    FILE_URL,
    FILES,
    GATEWAY_API_GROUPS,
    KINDS,
    OBJECTS,
    REPLACES,
    STALE_ROUTES_RESOURCE_TYPE,
)


def problems(
    resource_type: str, properties: Mapping, environ: Mapping[str, str], *, pins: bool = True
) -> list[str]:
    """What in `properties` lies outside the function's scope; empty when nothing does.
    `pins`: whether each file's sha256 must be one the function pins."""
    found = []
    cluster = environ.get(ENV_CLUSTER_NAME, "")
    if not cluster:
        return [f"the function has no {ENV_CLUSTER_NAME} in its environment"]
    if properties.get(CLUSTER_NAME) != cluster:
        found.append(f"cluster {properties.get(CLUSTER_NAME)!r} is not this function's {cluster!r}")
    if resource_type == CRDS_RESOURCE_TYPE:
        pinned = set(environ.get(ENV_FILE_SHA256, "").split())
        source = environ.get(ENV_FILE_SOURCE, "")
        for file in properties.get(FILES) or []:
            url = str(file.get(FILE_URL))
            if not source or not url.startswith(source):
                found.append(f"file {url!r} is not from {source or 'the pinned source'}")
            elif pins and file.get(FILE_SHA256) not in pinned:
                found.append(f"file {url!r} is not one of the pinned files")
    if resource_type in (CRDS_RESOURCE_TYPE, CRD_REMOVAL_RESOURCE_TYPE):
        for name in [*(properties.get(OBJECTS) or []), *(properties.get(REPLACES) or [])]:
            if not str(name).endswith(GATEWAY_API_GROUPS):
                found.append(f"object {name!r} is not the Gateway API's")
    if resource_type == STALE_ROUTES_RESOURCE_TYPE:
        kinds = set(environ.get(ENV_ROUTING_KINDS, "").split(","))
        for kind in properties.get(KINDS) or []:
            if kind not in kinds:
                found.append(f"kind {kind!r} is not one of the lab's routing kinds")
    return found


def check(event: Mapping, environ: Mapping[str, str] | None = None) -> None:
    """Raise TaskError, naming what is out of scope, unless the event is within it.

    Everything but the files' pins is checked on the new properties, and on an Update on the
    old ones too (an Update deletes what only the old ones name). A Delete applies no file,
    so its pins are not checked: a resource left with older pins after a failed update can
    still be deleted. An Update whose new files are not pinned passes only if the old
    properties are wholly in scope: CloudFormation rolling back to what was deployed before
    the function's environment changed."""
    environ = os.environ if environ is None else environ
    resource_type = event.get("ResourceType", "")
    request_type = event.get("RequestType")
    new = event.get("ResourceProperties") or {}
    old = event.get("OldResourceProperties") if request_type == "Update" else None
    found = problems(resource_type, new, environ, pins=False)
    if old is not None:
        found += [f"old {p}" for p in problems(resource_type, old, environ, pins=False)]
    if not found and request_type != "Delete":
        pinned = problems(resource_type, new, environ)
        rollback = old is not None and not problems(resource_type, old, environ)
        if pinned and not rollback:
            found = pinned
    if found:
        raise TaskError(f"refused {resource_type} {request_type}: " + "; ".join(found))
