"""Remove what Kubernetes left in the VPC of a deleted EKS cluster, so the VPC can be deleted.

Kubernetes controllers create AWS resources that CloudFormation knows nothing about:

* the AWS Load Balancer Controller creates ELBv2 load balancers (NLB/ALB) with their
  listeners and target groups, a frontend security group per load balancer and one shared
  "backend" security group per cluster, and adds rules referencing the backend group to the
  node security groups;
* the in-tree cloud provider creates classic ELBs (and NLBs) plus a "k8s-elb-*" security
  group per classic ELB;
* the VPC CNI leaves detached ("available") network interfaces behind.

When the cluster is deleted first, nothing removes these any more and the deletion of the VPC
(its subnets and security groups) fails on them. This module is the handler of a custom
resource (aws_cdk.custom_resources.Provider with on_event and is_complete) that runs on stack
deletion after the cluster is gone and before the VPC is deleted. It deletes, inside
ResourceProperties.VpcId only and only what is tagged for ResourceProperties.ClusterName:

* ELBv2 load balancers (listeners first) and target groups tagged
  elbv2.k8s.aws/cluster=<cluster> or kubernetes.io/cluster/<cluster>=owned|shared;
* classic ELBs tagged kubernetes.io/cluster/<cluster>=owned|shared;
* security groups tagged elbv2.k8s.aws/cluster=<cluster>, or tagged
  kubernetes.io/cluster/<cluster> with a name starting with "k8s-elb-", after revoking the
  rules of other security groups that reference them. Other security groups tagged for the
  cluster (such as the EKS cluster security group) belong to CloudFormation/EKS and are kept;
* available network interfaces tagged cluster.k8s.amazonaws.com/name=<cluster>.

Deleting a load balancer returns before AWS has released its network interfaces, and those
still block the deletion of subnets and security groups, so is_complete also waits until no
network interface of a deleted load balancer is left. Create and Update do nothing.

What cannot be deleted yet (a group still in use, a throttled call) is retried on the next
pass. After CLEANUP_TIMEOUT_MINUTES (default 25) since the Delete started, is_complete fails
with an error naming every resource left; set the Provider's total timeout above it (30 min),
or the framework fails first with a bare "Operation timed out".
"""

from __future__ import annotations

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
CLUSTER_TAG_OWNERSHIP = ("owned", "shared")
IN_TREE_SECURITY_GROUP_PREFIX = "k8s-elb-"
LB_INTERFACE_DESCRIPTION_PREFIX = "ELB "

# DescribeTags of both ELB APIs rejects more than 20 resources per call.
TAG_BATCH_SIZE = 20

TIMEOUT_ENV = "CLEANUP_TIMEOUT_MINUTES"
DEFAULT_TIMEOUT_MINUTES = 25.0

DATA_STARTED_AT = "StartedAt"
DATA_LOAD_BALANCERS = "LoadBalancers"
# Data and the failure reason travel in the one response to CloudFormation, which must stay
# under 4 KiB; past these sizes we fall back to a stateless rule or shorten the message.
MAX_RECORDED_LOAD_BALANCER_CHARS = 1500
MAX_ERROR_MESSAGE_CHARS = 2000

BOTO_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 10})

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
        "ListenerNotFound",
        "InvalidGroup.NotFound",
        "InvalidNetworkInterfaceID.NotFound",
        "InvalidPermission.NotFound",
    }
)


class CleanupTimeoutError(RuntimeError):
    """The deadline passed while resources of the cluster were still in the VPC."""


@dataclass(frozen=True)
class Scope:
    cluster: str
    vpc_id: str


@dataclass(frozen=True)
class Clients:
    ec2: object
    elbv2: object
    elb: object


@dataclass
class Leftovers:
    """IDs of what still blocks the deletion of the VPC."""

    load_balancers: list[str] = field(default_factory=list)
    target_groups: list[str] = field(default_factory=list)
    classic_load_balancers: list[str] = field(default_factory=list)
    security_groups: list[str] = field(default_factory=list)
    cni_interfaces: list[str] = field(default_factory=list)
    load_balancer_interfaces: list[str] = field(default_factory=list)

    def by_kind(self) -> dict[str, list[str]]:
        return {
            "load balancers": self.load_balancers,
            "target groups": self.target_groups,
            "classic load balancers": self.classic_load_balancers,
            "security groups": self.security_groups,
            "CNI network interfaces": self.cni_interfaces,
            "load balancer network interfaces": self.load_balancer_interfaces,
        }

    def is_empty(self) -> bool:
        return not any(self.by_kind().values())

    def describe(self) -> str:
        return "; ".join(f"{kind}: {', '.join(ids)}" for kind, ids in self.by_kind().items() if ids)


# --- Provider framework entry points ---------------------------------------------------------


def on_event(event: dict, context: object = None) -> dict:
    request_type = event["RequestType"]
    scope = _scope(event)
    if request_type == "Create":
        return {"PhysicalResourceId": f"lb-cleanup-{scope.cluster}"}
    if request_type == "Update":
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    if request_type != "Delete":
        raise ValueError(f"unknown RequestType {request_type!r}")

    started_at = _now()
    LOG.info("cleanup of cluster %s in %s started", scope.cluster, scope.vpc_id)
    data = {DATA_STARTED_AT: started_at.isoformat(timespec="seconds")}
    try:
        found = cleanup_pass(_clients(), scope)
    except (ClientError, BotoCoreError) as error:
        _raise_if_permission_error(error)
        LOG.warning("first cleanup pass failed, is_complete will retry: %s", error)
    else:
        recorded = ",".join(sorted(found))
        # Past this size the stateless rule of load_balancer_interfaces() takes over.
        if len(recorded) <= MAX_RECORDED_LOAD_BALANCER_CHARS:
            data[DATA_LOAD_BALANCERS] = recorded
    # The framework refuses a new PhysicalResourceId on Delete.
    return {"PhysicalResourceId": event["PhysicalResourceId"], "Data": data}


def is_complete(event: dict, context: object = None) -> dict:
    if event["RequestType"] != "Delete":
        return {"IsComplete": True}

    scope = _scope(event)
    data = event.get("Data") or {}
    clients = _clients()
    leftovers = failure = None
    try:
        found = cleanup_pass(clients, scope)
        recorded = _recorded_load_balancers(data)
        waited_for = None if recorded is None else recorded | found
        leftovers = inventory(clients, scope, waited_for)
    except (ClientError, BotoCoreError) as error:
        _raise_if_permission_error(error)
        LOG.warning("cleanup pass failed, will retry: %s", error)
        failure = error

    if leftovers is not None and leftovers.is_empty():
        LOG.info("cleanup of cluster %s in %s complete", scope.cluster, scope.vpc_id)
        return {"IsComplete": True}
    if _deadline_passed(data):
        raise CleanupTimeoutError(_timeout_message(scope, leftovers, failure))
    if leftovers is not None:
        LOG.info("waiting for %s", leftovers.describe())
    # The framework rejects Data when IsComplete is false.
    return {"IsComplete": False}


# --- One pass: find what belongs to the cluster and delete it --------------------------------


def cleanup_pass(clients: Clients, scope: Scope) -> set[str]:
    """Delete what is tagged for the cluster; return the keys of the load balancers found."""
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

    for interface_id in cni_interfaces(clients.ec2, scope):
        delete_network_interface(clients.ec2, interface_id)
    return found


def inventory(clients: Clients, scope: Scope, waited_for: set[str] | None) -> Leftovers:
    """List what is still there after a pass; an empty result means the VPC can go."""
    vpc_groups = security_groups_in_vpc(clients.ec2, scope)
    return Leftovers(
        load_balancers=[arn for arn, _, _ in cluster_load_balancers(clients.elbv2, scope)],
        target_groups=[arn for arn, _ in cluster_target_groups(clients.elbv2, scope)],
        classic_load_balancers=[
            name for name, _ in cluster_classic_load_balancers(clients.elb, scope)
        ],
        security_groups=[g["GroupId"] for g, _ in controller_security_groups(vpc_groups, scope)],
        cni_interfaces=cni_interfaces(clients.ec2, scope),
        load_balancer_interfaces=load_balancer_interfaces(clients, scope, waited_for),
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
        if (reason := _legacy_cluster_tag(tags.get(name, {}), scope.cluster))
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
        legacy = _legacy_cluster_tag(tags, scope.cluster)
        if legacy and group.get("GroupName", "").startswith(IN_TREE_SECURITY_GROUP_PREFIX):
            selected.append((group, f"{legacy} and name {IN_TREE_SECURITY_GROUP_PREFIX}*"))
    return selected


def _log_kept_cluster_groups(
    groups: list[dict], selected: list[tuple[dict, str]], scope: Scope
) -> None:
    # Tagged for the cluster yet kept: say why, since the tag alone suggests otherwise.
    deleted = {group["GroupId"] for group, _ in selected}
    for group in groups:
        tag = _legacy_cluster_tag(_tag_dict(group.get("Tags")), scope.cluster)
        if tag and group["GroupId"] not in deleted:
            LOG.info(
                "skipped security group %s (%s, but name %s does not start with %s: "
                "not a controller's)",
                group["GroupId"],
                tag,
                group.get("GroupName"),
                IN_TREE_SECURITY_GROUP_PREFIX,
            )


def cni_interfaces(ec2, scope: Scope) -> list[str]:
    """IDs of the detached network interfaces that the VPC CNI left for the cluster."""
    filters = [
        {"Name": "vpc-id", "Values": [scope.vpc_id]},
        {"Name": "status", "Values": ["available"]},
        {"Name": f"tag:{CNI_CLUSTER_TAG}", "Values": [scope.cluster]},
    ]
    return [
        interface["NetworkInterfaceId"]
        for interface in _network_interfaces(ec2, filters)
        if interface.get("VpcId") == scope.vpc_id
        and interface.get("Status") == "available"
        and _tag_dict(interface.get("TagSet")).get(CNI_CLUSTER_TAG) == scope.cluster
    ]


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


# --- Deleting, one logged line per deletion or skip ------------------------------------------


def delete_load_balancer(elbv2, arn: str, reason: str) -> None:
    for page in elbv2.get_paginator("describe_listeners").paginate(LoadBalancerArn=arn):
        for listener in page["Listeners"]:
            listener = listener["ListenerArn"]
            if _attempt(f"listener {listener}", elbv2.delete_listener, ListenerArn=listener):
                LOG.info("deleted listener arn=%s of load balancer %s", listener, arn)
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


def delete_network_interface(ec2, interface_id: str) -> None:
    what = f"network interface {interface_id}"
    if _attempt(what, ec2.delete_network_interface, NetworkInterfaceId=interface_id):
        LOG.info(
            "deleted network interface %s reason=available, tag %s", interface_id, CNI_CLUSTER_TAG
        )


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


def _clients() -> Clients:
    # Built per invocation from the default session, with no endpoint given, so that
    # AWS_ENDPOINT_URL and hooks on boto3's default session apply.
    return Clients(
        ec2=boto3.client("ec2", config=BOTO_CONFIG),
        elbv2=boto3.client("elbv2", config=BOTO_CONFIG),
        elb=boto3.client("elb", config=BOTO_CONFIG),
    )


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


def _scope(event: dict) -> Scope:
    properties = event.get("ResourceProperties") or {}
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
    return _legacy_cluster_tag(tags, cluster)


def _legacy_cluster_tag(tags: dict[str, str], cluster: str) -> str | None:
    key = f"{LEGACY_CLUSTER_TAG_PREFIX}{cluster}"
    if tags.get(key) in CLUSTER_TAG_OWNERSHIP:
        return f"tag {key}={tags[key]}"
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


def _timeout_message(scope: Scope, leftovers: Leftovers | None, failure: Exception | None) -> str:
    head = f"cleanup of cluster {scope.cluster} in {scope.vpc_id} timed out; "
    if leftovers is None:
        message = f"{head}the remaining resources could not be listed: {failure}"
        return message[:MAX_ERROR_MESSAGE_CHARS]
    remaining = leftovers.describe()
    LOG.error("%sremaining: %s", head, remaining)
    message = f"{head}remaining: {remaining}"
    if len(message) > MAX_ERROR_MESSAGE_CHARS:
        # CloudFormation drops a response over 4 KiB and would then hang for an hour.
        return message[:MAX_ERROR_MESSAGE_CHARS] + " ... (truncated, full list in the log)"
    return message
