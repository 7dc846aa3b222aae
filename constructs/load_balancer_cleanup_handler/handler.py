"""Remove what Kubernetes left in the VPC of a deleted EKS cluster, so the VPC can be deleted.

Kubernetes controllers create AWS resources that CloudFormation knows nothing about: load
balancers with their target groups, security groups (and rules in the node groups that
reference them), network interfaces, and, behind one of those, the cluster security group
that EKS could not delete. When the cluster is deleted first, nothing removes these any more
and the deletion of the VPC (its subnets and security groups) fails on them. This module is
the handler of a custom resource (aws_cdk.custom_resources.Provider with on_event and
is_complete) that runs on stack deletion after the cluster is gone and before the VPC's
subnets and internet gateway attachment are deleted.

What it looks for, in which order, and what it may delete: the table of leftover kinds,
cleanup_contract.KINDS (the pure part, which the construct also reads for the IAM policy),
with the finders and deleters of leftover_kinds.py. It deletes only inside
ResourceProperties.VpcId and only what carries ResourceProperties.ClusterName's tag;
"kubernetes.io/cluster/<cluster>=shared" marks what someone else owns and must outlive the
cluster: it is never a reason to delete.

CloudFormation also sends Delete outside a stack deletion: when an update that added the
resource rolls back, or when the resource is replaced. Then the cluster and its load
balancers are live. So every Delete pass first asks EKS about the cluster: while it exists
and is not being deleted, nothing is deleted and the Delete succeeds; while it is being
deleted, the pass waits; only once EKS no longer knows it does the cleanup run.

Deleting a load balancer returns before AWS has released its network interfaces, and those
still block the deletion of subnets and security groups, so is_complete also waits until no
network interface of a deleted load balancer is left.

GuardDuty Runtime Monitoring, where the account enables it, puts a VPC endpoint
(com.amazonaws.<region>.guardduty-data) and a GuardDutyManagedSecurityGroup-* group into the
VPC. They are not the lab's and are never touched, but they too keep the VPC from being
deleted: once the lab's own leftovers are gone, the Delete fails naming them and saying what
to do, instead of letting the VPC's deletion fail with a bare "has dependencies".

Create does nothing. An Update that changes ClusterName or VpcId is refused: the old cluster's
load balancers would be orphaned (this function's permissions name only the new cluster), so
the lab must be destroyed before it is renamed or moved.

Each Lambda invocation watches its remaining time: before every AWS request it checks that
at least aws_calls.TIME_MARGIN_SECONDS are left, and otherwise ends the pass early ("not
complete"; the next is_complete goes on). What cannot be deleted yet (a group still in use, a
throttled call) is retried on the next pass. After CLEANUP_TIMEOUT_MINUTES (default 25) since
the Delete started, is_complete fails with an error naming every resource left; set the
Provider's total timeout above it, or the framework fails first with a bare "Operation timed
out". Every error message and the Data are capped so that the framework's response, with the
stack trace and log line it adds, stays within CloudFormation's 4096 bytes.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aws_calls import (
    LOG,
    DeletionProtected,
    OutOfTime,
    clients_for,
    error_code,
    raise_if_permission_error,
)
from botocore.exceptions import BotoCoreError, ClientError
from cleanup_contract import (
    CLUSTER_NAME_PROPERTY,
    ENV_CLUSTER_NAME,
    ENV_VPC_ID,
    GUARDDUTY_RESOURCES,
    TIMEOUT_ENV,
    VPC_ID_PROPERTY,
)
from leftover_kinds import Leftovers, Scope, cleanup_pass, inventory

PHYSICAL_ID_PREFIX = "lb-cleanup"
DEFAULT_TIMEOUT_MINUTES = 25.0

DATA_STARTED_AT = "StartedAt"
DATA_LOAD_BALANCERS = "LoadBalancers"
# CloudFormation drops a response over 4096 bytes, and the resource then hangs for an hour.
# When a handler raises, the provider framework answers with Reason = "Error: <message>",
# a "Logs: /aws/lambda/<function>" line and its own Node.js stack trace (up to 10 frames),
# plus StackId, RequestId, the IDs and the Data. FRAMEWORK_RESERVE_BYTES covers all of that
# but the message and the Data, which share the rest.
RESPONSE_LIMIT_BYTES = 4096
FRAMEWORK_RESERVE_BYTES = 1900
MAX_DATA_BYTES = 900
MAX_MESSAGE_BYTES = RESPONSE_LIMIT_BYTES - FRAMEWORK_RESERVE_BYTES - MAX_DATA_BYTES
TRUNCATION_NOTE = " ... (truncated; the full list is in the log)"

CLUSTER_NOT_FOUND = "ResourceNotFoundException"


class CleanupError(RuntimeError):
    """The Delete cannot complete; the message names what is left and what to do."""


class ScopeChangeRefused(CleanupError):
    """An Update tried to point the cleanup at another cluster or VPC."""


class OutOfScope(CleanupError):
    """The event names another cluster or VPC than the function's own (its environment)."""


@dataclass(frozen=True)
class ClusterState:
    """What EKS says about the cluster: `status` is None once EKS no longer knows it."""

    status: str | None

    @property
    def gone(self) -> bool:
        return self.status is None

    @property
    def deleting(self) -> bool:
        return self.status == "DELETING"


def _capped_errors(entry_point):
    """Re-raise any failure with a message short enough for CloudFormation's response."""

    @functools.wraps(entry_point)
    def wrapper(event: dict, context: object = None) -> dict:
        try:
            return entry_point(event, context)
        except CleanupError as error:
            raise type(error)(cap_message(str(error))) from None
        except DeletionProtected as error:
            # No later pass could delete it: say so at once, with the way out.
            LOG.error("%s", error)
            raise CleanupError(cap_message(str(error))) from None
        except Exception as error:
            # A boto error message can carry an encoded authorization failure of kilobytes.
            LOG.error("%s failed: %s", entry_point.__name__, error)
            raise CleanupError(cap_message(f"{type(error).__name__}: {error}")) from None

    return wrapper


# --- Provider framework entry points ---------------------------------------------------------


@_capped_errors
def on_event(event: dict, context: object = None) -> dict:
    request_type = event["RequestType"]
    scope = _checked_scope(event)
    if request_type == "Create":
        return {"PhysicalResourceId": _physical_id(scope)}
    if request_type == "Update":
        return {"PhysicalResourceId": _unchanged_scope(event, scope)}
    if request_type != "Delete":
        raise ValueError(f"unknown RequestType {request_type!r}")

    LOG.info("cleanup of cluster %s in %s requested", scope.cluster, scope.vpc_id)
    data = {DATA_STARTED_AT: _now().isoformat(timespec="seconds")}
    clients = clients_for(context)
    try:
        state = cluster_state(clients.eks, scope)
        if state.gone:
            found = cleanup_pass(clients, scope)
            recorded = ",".join(sorted(found))
            # Past this size the stateless rule of load_balancer_interfaces() takes over.
            if _json_bytes({**data, DATA_LOAD_BALANCERS: recorded}) <= MAX_DATA_BYTES:
                data[DATA_LOAD_BALANCERS] = recorded
        else:
            _log_cluster_exists(state, scope)
    except OutOfTime:
        LOG.info("first cleanup pass ran out of time; is_complete goes on")
    except (ClientError, BotoCoreError) as error:
        raise_if_permission_error(error)
        LOG.warning("first cleanup pass failed, is_complete will retry: %s", error)
    # The framework refuses a new PhysicalResourceId on Delete.
    return {"PhysicalResourceId": event["PhysicalResourceId"], "Data": data}


@_capped_errors
def is_complete(event: dict, context: object = None) -> dict:
    if event["RequestType"] != "Delete":
        return {"IsComplete": True}

    scope = _checked_scope(event)
    data = event.get("Data") or {}
    clients = clients_for(context)
    leftovers = failure = None
    try:
        state = cluster_state(clients.eks, scope)
        if not state.gone:
            _log_cluster_exists(state, scope)
            if not state.deleting:
                return {"IsComplete": True}
            failure = f"cluster {scope.cluster} is still being deleted"
        else:
            found = cleanup_pass(clients, scope)
            recorded = _recorded_load_balancers(data)
            waited_for = None if recorded is None else recorded | found
            leftovers = inventory(clients, scope, waited_for)
    except OutOfTime:
        LOG.info("cleanup pass ran out of time; the next one goes on")
        failure = "the last pass ran out of time before it could list them"
    except (ClientError, BotoCoreError) as error:
        raise_if_permission_error(error)
        LOG.warning("cleanup pass failed, will retry: %s", error)
        failure = f"the last pass failed: {error}"

    if leftovers is not None and leftovers.is_empty():
        if guardduty := leftovers.of(GUARDDUTY_RESOURCES):
            raise CleanupError(_guardduty_message(scope, guardduty))
        LOG.info("cleanup of cluster %s in %s complete", scope.cluster, scope.vpc_id)
        return {"IsComplete": True}
    if _deadline_passed(data):
        raise CleanupError(_timeout_message(scope, leftovers, failure))
    if leftovers is not None:
        LOG.info("waiting for %s", leftovers.describe())
    # The framework rejects Data when IsComplete is false.
    return {"IsComplete": False}


def _unchanged_scope(event: dict, scope: Scope) -> str:
    """The physical ID of an Update, which must not change the scope."""
    current = event["PhysicalResourceId"]
    if current == _physical_id(scope):
        return current
    try:
        old = _scope(event.get("OldResourceProperties"))
        was = f"cluster {old.cluster} in {old.vpc_id}"
    except ValueError:
        was = current
    raise ScopeChangeRefused(
        f"the lab's cleanup would move from {was} to cluster {scope.cluster} in "
        f"{scope.vpc_id}, leaving the old cluster's load balancers to nobody: run `make "
        "destroy` with the old settings first, then deploy with the new clusterName or VPC"
    )


# --- Is the cluster gone? ---------------------------------------------------------------------


def cluster_state(eks, scope: Scope) -> ClusterState:
    try:
        cluster = eks.describe_cluster(name=scope.cluster)["cluster"]
    except ClientError as error:
        if error_code(error) == CLUSTER_NOT_FOUND:
            return ClusterState(status=None)
        raise
    return ClusterState(status=cluster.get("status") or "UNKNOWN")


def _log_cluster_exists(state: ClusterState, scope: Scope) -> None:
    if state.deleting:
        LOG.info("cluster %s is being deleted; deleting nothing until it is gone", scope.cluster)
    else:
        LOG.info(
            "cluster %s exists (status %s), so this Delete is not the lab's removal (a rolled "
            "back or replaced resource): deleted nothing",
            scope.cluster,
            state.status,
        )


# --- Small helpers --------------------------------------------------------------------------


def _scope(properties: dict | None) -> Scope:
    properties = properties or {}
    cluster = properties.get(CLUSTER_NAME_PROPERTY)
    vpc_id = properties.get(VPC_ID_PROPERTY)
    # An empty value would widen the tag and VPC matches; refuse rather than guess.
    if not cluster or not vpc_id:
        raise ValueError(
            f"ResourceProperties must contain non-empty {CLUSTER_NAME_PROPERTY} and "
            f"{VPC_ID_PROPERTY}"
        )
    return Scope(cluster=cluster, vpc_id=vpc_id)


def _own_scope(environ=None) -> Scope:
    """The function's own scope, as the construct set it in its environment."""
    environ = os.environ if environ is None else environ
    cluster, vpc_id = environ.get(ENV_CLUSTER_NAME), environ.get(ENV_VPC_ID)
    if not cluster or not vpc_id:
        raise OutOfScope(f"the function has no {ENV_CLUSTER_NAME} and {ENV_VPC_ID}")
    return Scope(cluster=cluster, vpc_id=vpc_id)


def _checked_scope(event: dict, environ=None) -> Scope:
    """The event's scope, which must be the function's own: an event built by hand cannot
    point the cleanup at another cluster or VPC. An Update whose old properties are the
    function's is CloudFormation rolling back a refused change, and goes through (to
    _unchanged_scope)."""
    scope = _scope(event.get("ResourceProperties"))
    own = _own_scope(environ)
    if scope == own:
        return scope
    if event.get("RequestType") == "Update":
        try:
            if _scope(event.get("OldResourceProperties")) == own:
                return scope
        except ValueError:
            pass
    raise OutOfScope(
        f"the event names cluster {scope.cluster} in {scope.vpc_id}, and this function cleans "
        f"up for cluster {own.cluster} in {own.vpc_id} only"
    )


def _physical_id(scope: Scope) -> str:
    return f"{PHYSICAL_ID_PREFIX}/{scope.cluster}/{scope.vpc_id}"


def _recorded_load_balancers(data: dict) -> set[str] | None:
    recorded = data.get(DATA_LOAD_BALANCERS)
    if recorded is None:
        return None
    return {key for key in recorded.split(",") if key}


def _now() -> datetime:
    return datetime.now(UTC)


def _deadline_passed(data: dict) -> bool:
    started_at = data.get(DATA_STARTED_AT)
    if not started_at:
        LOG.warning("no %s in Data; only the framework's total timeout applies", DATA_STARTED_AT)
        return False
    deadline = datetime.fromisoformat(started_at) + timedelta(minutes=_timeout_minutes())
    return _now() >= deadline


def _timeout_minutes() -> float:
    value = os.environ.get(TIMEOUT_ENV, "")
    try:
        return float(value) if value else DEFAULT_TIMEOUT_MINUTES
    except ValueError:
        # A typo in the setting must not fail a stack deletion on its own.
        LOG.warning("%s=%r is no number, using %s", TIMEOUT_ENV, value, DEFAULT_TIMEOUT_MINUTES)
        return DEFAULT_TIMEOUT_MINUTES


def _json_bytes(value: object) -> int:
    return len(json.dumps(value).encode("utf-8"))


def cap_message(message: str) -> str:
    """`message`, cut so that it takes at most MAX_MESSAGE_BYTES in the JSON response."""
    if _json_bytes(message) <= MAX_MESSAGE_BYTES:
        return message
    room = MAX_MESSAGE_BYTES - _json_bytes(TRUNCATION_NOTE)
    cut = message
    while _json_bytes(cut) > room:
        cut = cut[: max(0, len(cut) - (_json_bytes(cut) - room))]
    return cut + TRUNCATION_NOTE


def _guardduty_message(scope: Scope, resources: list[str]) -> str:
    message = (
        f"cleanup of cluster {scope.cluster} done, but GuardDuty Runtime Monitoring's "
        f"{', '.join(resources)} in {scope.vpc_id} (not the lab's, left alone) keep the VPC "
        "from being deleted: delete that VPC endpoint and then that security group (or "
        "disable GuardDuty's automated agent for EKS), then run make destroy again"
    )
    LOG.error("%s", message)
    return message


def _timeout_message(scope: Scope, leftovers: Leftovers | None, failure: str | None) -> str:
    head = f"cleanup of cluster {scope.cluster} in {scope.vpc_id} timed out; "
    if leftovers is None:
        message = f"{head}nothing could be listed: {failure}"
    else:
        message = f"{head}remaining: {leftovers.describe()}"
        if guardduty := leftovers.of(GUARDDUTY_RESOURCES):
            message += (
                f"; also {GUARDDUTY_RESOURCES.label}: {', '.join(guardduty)} (not the lab's, "
                "left alone; see the lab's docs/teardown.md)"
            )
    LOG.error("%s", message)
    return message
