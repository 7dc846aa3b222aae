"""Remove what Kubernetes left in the VPC of a deleted EKS cluster, so the VPC can be deleted.

Kubernetes controllers create AWS resources that CloudFormation knows nothing about:

* the AWS Load Balancer Controller creates ELBv2 load balancers (NLB/ALB) with their
  listeners and target groups, a frontend security group per load balancer and one shared
  "backend" security group per cluster, and adds rules referencing the backend group to the
  node security groups;
* the in-tree cloud provider creates classic ELBs (and NLBs) plus a "k8s-elb-*" security
  group per classic ELB;
* the VPC CNI leaves detached ("available") network interfaces behind: tagged
  cluster.k8s.amazonaws.com/name=<cluster> when its CLUSTER_NAME is set, otherwise carrying
  only the description "aws-K8S-<instance id>" and the cluster security group;
* such an interface keeps EKS from deleting the cluster security group
  (eks-cluster-sg-<cluster>-*, tagged aws:eks:cluster-name=<cluster>), which is then left
  behind in the VPC.

When the cluster is deleted first, nothing removes these any more and the deletion of the VPC
(its subnets and security groups) fails on them. This module is the handler of a custom
resource (aws_cdk.custom_resources.Provider with on_event and is_complete) that runs on stack
deletion after the cluster is gone and before the VPC's subnets and internet gateway
attachment are deleted.

CloudFormation also sends Delete outside a stack deletion: when an update that added the
resource rolls back, or when the resource is replaced. Then the cluster and its load
balancers are live. So every Delete pass first asks EKS about the cluster: while it exists
and is not being deleted, nothing is deleted and the Delete succeeds; while it is being
deleted, the pass waits; only once EKS no longer knows it does the cleanup run. It deletes,
inside ResourceProperties.VpcId only and only what belongs to ResourceProperties.ClusterName:

* ELBv2 load balancers (which takes their listeners with them) and target groups tagged
  elbv2.k8s.aws/cluster=<cluster> or kubernetes.io/cluster/<cluster>=owned;
* classic ELBs tagged kubernetes.io/cluster/<cluster>=owned;
* security groups tagged elbv2.k8s.aws/cluster=<cluster>, or tagged
  kubernetes.io/cluster/<cluster>=owned with a name starting with "k8s-elb-", after revoking
  the rules of other security groups in the VPC that reference them;
* available network interfaces tagged cluster.k8s.amazonaws.com/name=<cluster>, and available
  ones described "aws-K8S-*" in a security group tagged aws:eks:cluster-name=<cluster>;
* then the security groups tagged aws:eks:cluster-name=<cluster> that EKS left, after
  revoking the rules elsewhere in the VPC that reference them.

"kubernetes.io/cluster/<cluster>=shared" marks what someone else owns and must outlive the
cluster: it is never a reason to delete.

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
at least TIME_MARGIN_SECONDS are left, and otherwise ends the pass early ("not complete";
the next is_complete goes on). What cannot be deleted yet (a group still in use, a throttled
call) is retried on the next pass. After CLEANUP_TIMEOUT_MINUTES (default 25) since the Delete
started, is_complete fails with an error naming every resource left; set the Provider's total
timeout above it, or the framework fails first with a bare "Operation timed out". Every error
message and the Data are capped so that the framework's response, with the stack trace and
log line it adds, stays within CloudFormation's 4096 bytes.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

LBC_CLUSTER_TAG = "elbv2.k8s.aws/cluster"
CNI_CLUSTER_TAG = "cluster.k8s.amazonaws.com/name"
LEGACY_CLUSTER_TAG_PREFIX = "kubernetes.io/cluster/"
# "shared" marks a resource the cluster uses but does not own.
OWNED = "owned"
EKS_CLUSTER_NAME_TAG = "aws:eks:cluster-name"
IN_TREE_SECURITY_GROUP_PREFIX = "k8s-elb-"
LB_INTERFACE_DESCRIPTION_PREFIX = "ELB "
CNI_INTERFACE_DESCRIPTION_PREFIX = "aws-K8S-"
GUARDDUTY_ENDPOINT_SERVICE_SUFFIX = ".guardduty-data"
GUARDDUTY_SECURITY_GROUP_PREFIX = "GuardDutyManagedSecurityGroup-"
PHYSICAL_ID_PREFIX = "lb-cleanup"

# DescribeTags of both ELB APIs rejects more than 20 resources per call.
TAG_BATCH_SIZE = 20

TIMEOUT_ENV = "CLEANUP_TIMEOUT_MINUTES"
DEFAULT_TIMEOUT_MINUTES = 25.0

# A request may take connect + read timeout per attempt, times the attempts, plus the
# back-off between them: at most 4 x 20 s + 22 s here. No request starts with less than
# TIME_MARGIN_SECONDS left of the invocation, so the Lambda never times out in one.
BOTO_CONFIG = Config(
    connect_timeout=5, read_timeout=15, retries={"mode": "adaptive", "max_attempts": 4}
)
TIME_MARGIN_SECONDS = 120

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

PERMISSION_ERRORS = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthFailure",
        "InvalidClientTokenId",
    }
)
IN_USE_ERRORS = frozenset(
    {
        "DependencyViolation",
        "InvalidGroup.InUse",
        "ResourceInUse",
        "InvalidNetworkInterface.InUse",
    }
)
NOT_FOUND_ERRORS = frozenset(
    {
        "LoadBalancerNotFound",
        "TargetGroupNotFound",
        "InvalidGroup.NotFound",
        "InvalidNetworkInterfaceID.NotFound",
        "InvalidPermission.NotFound",
    }
)
CLUSTER_NOT_FOUND = "ResourceNotFoundException"


class CleanupError(RuntimeError):
    """The Delete cannot complete; the message names what is left and what to do."""


class ScopeChangeRefused(CleanupError):
    """An Update tried to point the cleanup at another cluster or VPC."""


class OutOfTime(Exception):
    """Too little of this invocation is left to start another AWS request."""


@dataclass(frozen=True)
class Scope:
    cluster: str
    vpc_id: str

    @property
    def physical_id(self) -> str:
        return f"{PHYSICAL_ID_PREFIX}/{self.cluster}/{self.vpc_id}"


@dataclass(frozen=True)
class Clients:
    ec2: object
    elbv2: object
    elb: object
    eks: object


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


@dataclass
class Leftovers:
    """IDs of what still blocks the deletion of the VPC."""

    load_balancers: list[str] = field(default_factory=list)
    target_groups: list[str] = field(default_factory=list)
    classic_load_balancers: list[str] = field(default_factory=list)
    security_groups: list[str] = field(default_factory=list)
    cni_interfaces: list[str] = field(default_factory=list)
    cluster_security_groups: list[str] = field(default_factory=list)
    load_balancer_interfaces: list[str] = field(default_factory=list)
    # Not the lab's: never deleted, only named.
    guardduty: list[str] = field(default_factory=list)

    def by_kind(self) -> dict[str, list[str]]:
        return {
            "load balancers": self.load_balancers,
            "target groups": self.target_groups,
            "classic load balancers": self.classic_load_balancers,
            "security groups": self.security_groups,
            "CNI network interfaces": self.cni_interfaces,
            "cluster security groups": self.cluster_security_groups,
            "load balancer network interfaces": self.load_balancer_interfaces,
        }

    def is_empty(self) -> bool:
        """True when nothing of the lab's is left (GuardDuty's resources are not the lab's)."""
        return not any(self.by_kind().values())

    def describe(self) -> str:
        return "; ".join(f"{kind}: {', '.join(ids)}" for kind, ids in self.by_kind().items() if ids)


def _capped_errors(entry_point):
    """Re-raise any failure with a message short enough for CloudFormation's response."""

    @functools.wraps(entry_point)
    def wrapper(event: dict, context: object = None) -> dict:
        try:
            return entry_point(event, context)
        except CleanupError as error:
            raise type(error)(cap_message(str(error))) from None
        except Exception as error:
            # A boto error message can carry an encoded authorization failure of kilobytes.
            LOG.error("%s failed: %s", entry_point.__name__, error)
            raise CleanupError(cap_message(f"{type(error).__name__}: {error}")) from None

    return wrapper


# --- Provider framework entry points ---------------------------------------------------------


@_capped_errors
def on_event(event: dict, context: object = None) -> dict:
    request_type = event["RequestType"]
    scope = _scope(event.get("ResourceProperties"))
    if request_type == "Create":
        return {"PhysicalResourceId": scope.physical_id}
    if request_type == "Update":
        return {"PhysicalResourceId": _unchanged_scope(event, scope)}
    if request_type != "Delete":
        raise ValueError(f"unknown RequestType {request_type!r}")

    LOG.info("cleanup of cluster %s in %s requested", scope.cluster, scope.vpc_id)
    data = {DATA_STARTED_AT: _now().isoformat(timespec="seconds")}
    clients = _clients(context)
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
        _raise_if_permission_error(error)
        LOG.warning("first cleanup pass failed, is_complete will retry: %s", error)
    # The framework refuses a new PhysicalResourceId on Delete.
    return {"PhysicalResourceId": event["PhysicalResourceId"], "Data": data}


@_capped_errors
def is_complete(event: dict, context: object = None) -> dict:
    if event["RequestType"] != "Delete":
        return {"IsComplete": True}

    scope = _scope(event.get("ResourceProperties"))
    data = event.get("Data") or {}
    clients = _clients(context)
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
        _raise_if_permission_error(error)
        LOG.warning("cleanup pass failed, will retry: %s", error)
        failure = f"the last pass failed: {error}"

    if leftovers is not None and leftovers.is_empty():
        if leftovers.guardduty:
            raise CleanupError(_guardduty_message(scope, leftovers.guardduty))
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
    if current == scope.physical_id:
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
        if _error_code(error) == CLUSTER_NOT_FOUND:
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


# --- One pass: find what belongs to the cluster and delete it --------------------------------


def cleanup_pass(clients: Clients, scope: Scope) -> set[str]:
    """Delete what belongs to the deleted cluster; return the keys of the load balancers found."""
    found = set()
    for arn, name, reason in cluster_load_balancers(clients.elbv2, scope):
        found.add(_lb_key("elbv2", name))
        delete_load_balancer(clients.elbv2, arn, reason)
    # After the load balancers, so that their listeners no longer hold the target groups.
    for arn, reason in cluster_target_groups(clients.elbv2, scope):
        delete_target_group(clients.elbv2, arn, reason)
    for name, reason in cluster_classic_load_balancers(clients.elb, scope):
        found.add(_lb_key("elb", name))
        delete_classic_load_balancer(clients.elb, name, reason)

    vpc_groups = security_groups_in_vpc(clients.ec2, scope)
    selected = controller_security_groups(vpc_groups, scope)
    for group, reason in selected:
        revoke_references(clients.ec2, group["GroupId"], vpc_groups)
        delete_security_group(clients.ec2, group["GroupId"], reason)
    _log_kept_cluster_groups(vpc_groups, selected, scope)

    cluster_groups = cluster_security_groups(vpc_groups, scope)
    for interface_id, reason in cni_interfaces(clients.ec2, scope, cluster_groups):
        delete_network_interface(clients.ec2, interface_id, reason)
    # Last: the interfaces above are what usually keeps EKS from deleting these groups.
    for group in cluster_groups:
        revoke_references(clients.ec2, group["GroupId"], vpc_groups)
        delete_security_group(
            clients.ec2, group["GroupId"], f"tag {EKS_CLUSTER_NAME_TAG}={scope.cluster}"
        )
    return found


def inventory(clients: Clients, scope: Scope, waited_for: set[str] | None) -> Leftovers:
    """List what is still there after a pass; an empty result means the VPC can go."""
    vpc_groups = security_groups_in_vpc(clients.ec2, scope)
    cluster_groups = cluster_security_groups(vpc_groups, scope)
    return Leftovers(
        load_balancers=[arn for arn, _, _ in cluster_load_balancers(clients.elbv2, scope)],
        target_groups=[arn for arn, _ in cluster_target_groups(clients.elbv2, scope)],
        classic_load_balancers=[
            name for name, _ in cluster_classic_load_balancers(clients.elb, scope)
        ],
        security_groups=[g["GroupId"] for g, _ in controller_security_groups(vpc_groups, scope)],
        cni_interfaces=[i for i, _ in cni_interfaces(clients.ec2, scope, cluster_groups)],
        cluster_security_groups=[g["GroupId"] for g in cluster_groups],
        load_balancer_interfaces=load_balancer_interfaces(clients, scope, waited_for),
        guardduty=guardduty_resources(clients.ec2, scope, vpc_groups),
    )


# --- Finding the cluster's resources ---------------------------------------------------------


def cluster_load_balancers(elbv2, scope: Scope) -> list[tuple[str, str, str]]:
    """(arn, name, reason) of the ELBv2 load balancers of the cluster in the VPC."""
    in_vpc = {
        lb["LoadBalancerArn"]: lb["LoadBalancerName"]
        for lb in _v2_load_balancers_in_vpc(elbv2, scope)
    }
    tags = _elbv2_tags(elbv2, list(in_vpc))
    return [
        (arn, in_vpc[arn], reason)
        for arn in in_vpc
        if (reason := _elbv2_cluster_tag(tags.get(arn, {}), scope.cluster))
    ]


def cluster_target_groups(elbv2, scope: Scope) -> list[tuple[str, str]]:
    """(arn, reason) of the target groups of the cluster in the VPC, used or not."""
    arns = [
        group["TargetGroupArn"]
        for page in elbv2.get_paginator("describe_target_groups").paginate()
        for group in page["TargetGroups"]
        if group.get("VpcId") == scope.vpc_id
    ]
    tags = _elbv2_tags(elbv2, arns)
    return [
        (arn, reason)
        for arn in arns
        if (reason := _elbv2_cluster_tag(tags.get(arn, {}), scope.cluster))
    ]


def cluster_classic_load_balancers(elb, scope: Scope) -> list[tuple[str, str]]:
    """(name, reason) of the classic ELBs of the cluster in the VPC."""
    names = [lb["LoadBalancerName"] for lb in _classic_load_balancers_in_vpc(elb, scope)]
    tags = _classic_tags(elb, names)
    return [
        (name, reason)
        for name in names
        if (reason := _owned_cluster_tag(tags.get(name, {}), scope.cluster))
    ]


def security_groups_in_vpc(ec2, scope: Scope) -> list[dict]:
    paginator = ec2.get_paginator("describe_security_groups")
    pages = paginator.paginate(Filters=[{"Name": "vpc-id", "Values": [scope.vpc_id]}])
    # Checked again here so that a filter ignored by an endpoint cannot widen the scope.
    return [g for page in pages for g in page["SecurityGroups"] if g.get("VpcId") == scope.vpc_id]


def controller_security_groups(groups: list[dict], scope: Scope) -> list[tuple[dict, str]]:
    """(group, reason) of the security groups that the controllers created for the cluster."""
    selected = []
    for group in groups:
        tags = _tag_dict(group.get("Tags"))
        if tags.get(LBC_CLUSTER_TAG) == scope.cluster:
            selected.append((group, f"tag {LBC_CLUSTER_TAG}={scope.cluster}"))
            continue
        owned = _owned_cluster_tag(tags, scope.cluster)
        if owned and group.get("GroupName", "").startswith(IN_TREE_SECURITY_GROUP_PREFIX):
            selected.append((group, f"{owned} and name {IN_TREE_SECURITY_GROUP_PREFIX}*"))
    return selected


def cluster_security_groups(groups: list[dict], scope: Scope) -> list[dict]:
    """The security groups EKS made for the cluster (eks-cluster-sg-*), if it left any."""
    return [
        group
        for group in groups
        if _tag_dict(group.get("Tags")).get(EKS_CLUSTER_NAME_TAG) == scope.cluster
    ]


def _log_kept_cluster_groups(
    groups: list[dict], selected: list[tuple[dict, str]], scope: Scope
) -> None:
    # Tagged for the cluster yet kept: say why, since the tag alone suggests otherwise.
    deleted = {group["GroupId"] for group, _ in selected}
    key = f"{LEGACY_CLUSTER_TAG_PREFIX}{scope.cluster}"
    for group in groups:
        tags = _tag_dict(group.get("Tags"))
        if key not in tags or group["GroupId"] in deleted or EKS_CLUSTER_NAME_TAG in tags:
            continue
        if tags[key] != OWNED:
            why = f"tag {key}={tags[key]}: someone else's"
        else:
            why = (
                f"tag {key}={OWNED}, but name {group.get('GroupName')} does not start with "
                f"{IN_TREE_SECURITY_GROUP_PREFIX}: not a controller's"
            )
        LOG.info("skipped security group %s (%s)", group["GroupId"], why)


def cni_interfaces(ec2, scope: Scope, cluster_groups: list[dict]) -> list[tuple[str, str]]:
    """(id, reason) of the detached network interfaces that the VPC CNI left for the cluster."""
    cluster_group_ids = {group["GroupId"] for group in cluster_groups}
    filters = [
        {"Name": "vpc-id", "Values": [scope.vpc_id]},
        {"Name": "status", "Values": ["available"]},
    ]
    selected = []
    for interface in _network_interfaces(ec2, filters):
        if interface.get("VpcId") != scope.vpc_id or interface.get("Status") != "available":
            continue
        if _tag_dict(interface.get("TagSet")).get(CNI_CLUSTER_TAG) == scope.cluster:
            selected.append((interface["NetworkInterfaceId"], f"tag {CNI_CLUSTER_TAG}"))
            continue
        description = interface.get("Description") or ""
        groups = {group["GroupId"] for group in interface.get("Groups", [])}
        if description.startswith(CNI_INTERFACE_DESCRIPTION_PREFIX) and groups & cluster_group_ids:
            reason = f"description {CNI_INTERFACE_DESCRIPTION_PREFIX}* in a cluster security group"
            selected.append((interface["NetworkInterfaceId"], reason))
    return selected


def load_balancer_interfaces(
    clients: Clients, scope: Scope, waited_for: set[str] | None
) -> list[str]:
    """IDs of the VPC's network interfaces that belong to the cluster's deleted load balancers.

    Why this rule: the interfaces carry no tags, only a description naming their load
    balancer ("ELB net/<name>/<id>", "ELB app/<name>/<id>", "ELB <name>" for classic), and
    once the load balancer is deleted its tags are gone too. So on_event records the keys of
    the cluster's load balancers in Data, and we wait for the interfaces naming one of them.
    The cluster is already deleted when this runs, so no controller creates load balancers
    after that record is taken. Without a record (first pass failed, or too many load
    balancers to fit in the response), we wait for every load balancer interface in the VPC
    whose load balancer no longer exists: such an interface blocks the VPC deletion anyway,
    and we only wait for it, we never touch it.
    """
    filters = [
        {"Name": "vpc-id", "Values": [scope.vpc_id]},
        {"Name": "description", "Values": [f"{LB_INTERFACE_DESCRIPTION_PREFIX}*"]},
    ]
    interfaces = [
        interface
        for interface in _network_interfaces(clients.ec2, filters)
        if interface.get("VpcId") == scope.vpc_id
    ]
    if waited_for is None:
        live = _live_load_balancer_keys(clients, scope)
        return [
            i["NetworkInterfaceId"]
            for i in interfaces
            if (key := _interface_lb_key(i)) is not None and key not in live
        ]
    return [i["NetworkInterfaceId"] for i in interfaces if _interface_lb_key(i) in waited_for]


def guardduty_resources(ec2, scope: Scope, vpc_groups: list[dict]) -> list[str]:
    """IDs of GuardDuty's VPC endpoint and security group in the VPC, if it put them there."""
    pages = ec2.get_paginator("describe_vpc_endpoints").paginate(
        Filters=[{"Name": "vpc-id", "Values": [scope.vpc_id]}]
    )
    endpoints = [
        endpoint["VpcEndpointId"]
        for page in pages
        for endpoint in page["VpcEndpoints"]
        if endpoint.get("VpcId") == scope.vpc_id
        and endpoint.get("ServiceName", "").endswith(GUARDDUTY_ENDPOINT_SERVICE_SUFFIX)
        and endpoint.get("State", "").lower() not in ("deleted", "deleting")
    ]
    groups = [
        group["GroupId"]
        for group in vpc_groups
        if group.get("GroupName", "").startswith(GUARDDUTY_SECURITY_GROUP_PREFIX)
    ]
    return endpoints + groups


# --- Deleting, one logged line per deletion or skip ------------------------------------------


def delete_load_balancer(elbv2, arn: str, reason: str) -> None:
    # DeleteLoadBalancer deletes the load balancer's listeners too.
    if _attempt(f"load balancer {arn}", elbv2.delete_load_balancer, LoadBalancerArn=arn):
        LOG.info("deleted load balancer arn=%s reason=%s", arn, reason)


def delete_target_group(elbv2, arn: str, reason: str) -> None:
    if _attempt(f"target group {arn}", elbv2.delete_target_group, TargetGroupArn=arn):
        LOG.info("deleted target group arn=%s reason=%s", arn, reason)


def delete_classic_load_balancer(elb, name: str, reason: str) -> None:
    if _attempt(f"classic load balancer {name}", elb.delete_load_balancer, LoadBalancerName=name):
        LOG.info("deleted classic load balancer name=%s reason=%s", name, reason)


def delete_security_group(ec2, group_id: str, reason: str) -> None:
    if _attempt(f"security group {group_id}", ec2.delete_security_group, GroupId=group_id):
        LOG.info("deleted security group %s reason=%s", group_id, reason)


def delete_network_interface(ec2, interface_id: str, reason: str) -> None:
    what = f"network interface {interface_id}"
    if _attempt(what, ec2.delete_network_interface, NetworkInterfaceId=interface_id):
        LOG.info("deleted network interface %s reason=available, %s", interface_id, reason)


def revoke_references(ec2, group_id: str, vpc_groups: list[dict]) -> None:
    """Revoke the rules of other groups that name group_id: they make its deletion fail."""
    for other in vpc_groups:
        if other["GroupId"] == group_id:
            continue
        for direction, key, revoke in (
            ("ingress", "IpPermissions", ec2.revoke_security_group_ingress),
            ("egress", "IpPermissionsEgress", ec2.revoke_security_group_egress),
        ):
            for permission in _permissions_referencing(other.get(key, []), group_id):
                what = f"{direction} rule of {other['GroupId']} referencing {group_id}"
                if _attempt(what, revoke, GroupId=other["GroupId"], IpPermissions=[permission]):
                    LOG.info(
                        "revoked %s rule %s in security group %s referencing %s",
                        direction,
                        _describe_permission(permission),
                        other["GroupId"],
                        group_id,
                    )


def _permissions_referencing(permissions: list[dict], group_id: str) -> list[dict]:
    """The parts of the permissions that reference group_id, in the form revoke expects.

    Only the group pair is revoked: CIDR ranges sharing the same permission entry stay.
    """
    selected = []
    for permission in permissions:
        for pair in permission.get("UserIdGroupPairs", []):
            if pair.get("GroupId") != group_id:
                continue
            revoked = {"IpProtocol": permission["IpProtocol"]}
            for port in ("FromPort", "ToPort"):
                if port in permission:
                    revoked[port] = permission[port]
            revoked_pair = {"GroupId": group_id}
            if pair.get("UserId"):
                revoked_pair["UserId"] = pair["UserId"]
            revoked["UserIdGroupPairs"] = [revoked_pair]
            selected.append(revoked)
    return selected


def _describe_permission(permission: dict) -> str:
    ports = f"{permission.get('FromPort', 'all')}-{permission.get('ToPort', 'all')}"
    return f"{permission['IpProtocol']}/{ports}"


def _attempt(what: str, call, **params) -> bool:
    """Run one deletion; True if done. Failures other than permissions wait for a later pass."""
    try:
        call(**params)
        return True
    except ClientError as error:
        code = _error_code(error)
        if code in PERMISSION_ERRORS:
            raise
        if code in NOT_FOUND_ERRORS:
            LOG.info("skipped %s (already gone: %s)", what, code)
        elif code in IN_USE_ERRORS:
            LOG.info("skipped %s (in use: %s), will retry", what, code)
        else:
            LOG.warning("skipped %s (unexpected error %s: %s), will retry", what, code, error)
    except BotoCoreError as error:
        LOG.warning("skipped %s (%s), will retry", what, error)
    return False


# --- AWS reads ------------------------------------------------------------------------------


def _clients(context: object = None) -> Clients:
    # Built per invocation from the default session, with no endpoint given, so that
    # AWS_ENDPOINT_URL and hooks on boto3's default session apply.
    clients = Clients(
        ec2=boto3.client("ec2", config=BOTO_CONFIG),
        elbv2=boto3.client("elbv2", config=BOTO_CONFIG),
        elb=boto3.client("elb", config=BOTO_CONFIG),
        eks=boto3.client("eks", config=BOTO_CONFIG),
    )
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):

        def check_time_left(**_) -> None:
            # Before every request: end the pass rather than let the Lambda time out
            # in the middle of one.
            remaining_ms = context.get_remaining_time_in_millis()
            if remaining_ms < TIME_MARGIN_SECONDS * 1000:
                raise OutOfTime(f"{remaining_ms} ms left of the invocation")

        for client in (clients.ec2, clients.elbv2, clients.elb, clients.eks):
            client.meta.events.register("before-call", check_time_left)
    return clients


def _v2_load_balancers_in_vpc(elbv2, scope: Scope) -> list[dict]:
    pages = elbv2.get_paginator("describe_load_balancers").paginate()
    return [lb for page in pages for lb in page["LoadBalancers"] if lb.get("VpcId") == scope.vpc_id]


def _classic_load_balancers_in_vpc(elb, scope: Scope) -> list[dict]:
    pages = elb.get_paginator("describe_load_balancers").paginate()
    return [
        lb
        for page in pages
        for lb in page["LoadBalancerDescriptions"]
        if lb.get("VPCId") == scope.vpc_id
    ]


def _network_interfaces(ec2, filters: list[dict]) -> list[dict]:
    pages = ec2.get_paginator("describe_network_interfaces").paginate(Filters=filters)
    return [interface for page in pages for interface in page["NetworkInterfaces"]]


def _live_load_balancer_keys(clients: Clients, scope: Scope) -> set[str]:
    v2 = _v2_load_balancers_in_vpc(clients.elbv2, scope)
    classic = _classic_load_balancers_in_vpc(clients.elb, scope)
    return {_lb_key("elbv2", lb["LoadBalancerName"]) for lb in v2} | {
        _lb_key("elb", lb["LoadBalancerName"]) for lb in classic
    }


def _elbv2_tags(elbv2, arns: list[str]) -> dict[str, dict[str, str]]:
    def fetch(batch):
        response = elbv2.describe_tags(ResourceArns=batch)
        return {d["ResourceArn"]: _tag_dict(d.get("Tags")) for d in response["TagDescriptions"]}

    return _tags_in_batches(fetch, arns)


def _classic_tags(elb, names: list[str]) -> dict[str, dict[str, str]]:
    def fetch(batch):
        response = elb.describe_tags(LoadBalancerNames=batch)
        return {
            d["LoadBalancerName"]: _tag_dict(d.get("Tags")) for d in response["TagDescriptions"]
        }

    return _tags_in_batches(fetch, names)


def _tags_in_batches(fetch, keys: list[str]) -> dict[str, dict[str, str]]:
    tags = {}
    for start in range(0, len(keys), TAG_BATCH_SIZE):
        tags.update(_fetch_tags_tolerating_deletions(fetch, keys[start : start + TAG_BATCH_SIZE]))
    return tags


def _fetch_tags_tolerating_deletions(fetch, batch: list[str]) -> dict[str, dict[str, str]]:
    # One resource deleted since it was listed (by another cluster's controller, say) fails
    # the whole batch; asking one by one then leaves out only the one that is gone.
    try:
        return fetch(batch)
    except ClientError as error:
        if _error_code(error) not in NOT_FOUND_ERRORS:
            raise
        if len(batch) == 1:
            return {}
    tags = {}
    for key in batch:
        tags.update(_fetch_tags_tolerating_deletions(fetch, [key]))
    return tags


# --- Small helpers --------------------------------------------------------------------------


def _scope(properties: dict | None) -> Scope:
    properties = properties or {}
    cluster = properties.get("ClusterName")
    vpc_id = properties.get("VpcId")
    # An empty value would widen the tag and VPC matches; refuse rather than guess.
    if not cluster or not vpc_id:
        raise ValueError("ResourceProperties must contain non-empty ClusterName and VpcId")
    return Scope(cluster=cluster, vpc_id=vpc_id)


def _tag_dict(tags: list[dict] | None) -> dict[str, str]:
    return {tag["Key"]: tag.get("Value", "") for tag in tags or []}


def _elbv2_cluster_tag(tags: dict[str, str], cluster: str) -> str | None:
    """The tag that makes an ELBv2 resource the cluster's, as text for the log, or None."""
    if tags.get(LBC_CLUSTER_TAG) == cluster:
        return f"tag {LBC_CLUSTER_TAG}={cluster}"
    return _owned_cluster_tag(tags, cluster)


def _owned_cluster_tag(tags: dict[str, str], cluster: str) -> str | None:
    key = f"{LEGACY_CLUSTER_TAG_PREFIX}{cluster}"
    if tags.get(key) == OWNED:
        return f"tag {key}={OWNED}"
    return None


def _lb_key(api: str, name: str) -> str:
    # A classic ELB and an ELBv2 load balancer may share a name; the API tells them apart.
    return f"{api}/{name}"


def _interface_lb_key(interface: dict) -> str | None:
    description = interface.get("Description") or ""
    if not description.startswith(LB_INTERFACE_DESCRIPTION_PREFIX):
        return None
    parts = description[len(LB_INTERFACE_DESCRIPTION_PREFIX) :].split("/")
    if len(parts) == 3:  # "<type>/<name>/<id>"
        return _lb_key("elbv2", parts[1])
    if len(parts) == 1:
        return _lb_key("elb", parts[0])
    return None


def _recorded_load_balancers(data: dict) -> set[str] | None:
    recorded = data.get(DATA_LOAD_BALANCERS)
    if recorded is None:
        return None
    return {key for key in recorded.split(",") if key}


def _error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def _raise_if_permission_error(error: Exception) -> None:
    if isinstance(error, ClientError) and _error_code(error) in PERMISSION_ERRORS:
        raise error


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
        if leftovers.guardduty:
            message += (
                f"; also GuardDuty's {', '.join(leftovers.guardduty)} (not the lab's, left "
                "alone; see the README)"
            )
    LOG.error("%s", message)
    return message
