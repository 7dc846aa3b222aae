"""The leftover kinds at work: for each kind of cleanup_contract.KINDS, how to find the
cluster's resources of that kind in the VPC (with the reason each one matched) and how to
delete one; a pass and an inventory that go through the table in its order."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import cleanup_contract as contract
from aws_calls import (
    LOG,
    Clients,
    DeletionProtected,
    attempt,
    classic_load_balancers_in_vpc,
    classic_tags,
    elbv2_tags,
    is_deletion_protection,
    network_interfaces_in_vpc,
    security_groups_in_vpc,
    tag_dict,
    target_groups_in_vpc,
    v2_load_balancers_in_vpc,
    vpc_endpoints_in_vpc,
)
from botocore.exceptions import ClientError
from cleanup_contract import (
    CNI_TAG,
    EKS_TAG,
    IN_TREE_OWNED_TAG,
    LB_CONTROLLER_TAG,
    LeftoverKind,
)

IN_TREE_GROUP_PREFIX = "k8s-elb-"
LB_INTERFACE_DESCRIPTION_PREFIX = "ELB "
CNI_INTERFACE_DESCRIPTION_PREFIX = "aws-K8S-"
GUARDDUTY_ENDPOINT_SERVICE_SUFFIX = ".guardduty-data"
GUARDDUTY_SECURITY_GROUP_PREFIX = "GuardDutyManagedSecurityGroup-"


@dataclass(frozen=True)
class Scope:
    """The one cluster whose resources may go, and the one VPC they may go from."""

    cluster: str
    vpc_id: str


@dataclass(frozen=True)
class Found:
    """One resource of the cluster: its ID, why it is the cluster's, and for a load balancer
    the key its network interfaces name it by (see load_balancer_interfaces)."""

    id: str
    reason: str
    load_balancer: str | None = None


class Pass:
    """What one pass or inventory knows: its clients and scope, and the VPC's security groups,
    read once per pass and shared by the kinds that need them."""

    def __init__(self, clients: Clients, scope: Scope, waited_for: set[str] | None = None):
        self.clients = clients
        self.scope = scope
        # The keys of the load balancers whose interfaces are waited for; None: no record.
        self.waited_for = waited_for

    @functools.cached_property
    def vpc_groups(self) -> list[dict]:
        return security_groups_in_vpc(self.clients.ec2, self.scope.vpc_id)

    @functools.cached_property
    def cluster_groups(self) -> list[dict]:
        """The security groups EKS made for the cluster (eks-cluster-sg-*), if it left any."""
        return [
            group
            for group in self.vpc_groups
            if EKS_TAG.is_on(tag_dict(group.get("Tags")), self.scope.cluster)
        ]


@dataclass(frozen=True)
class Code:
    """How a pass finds the cluster's resources of a kind and deletes one (None: never).

    after_deleting: run once the pass has deleted what `find` found, to log what it kept.
    """

    find: Callable[[Pass], list[Found]]
    delete: Callable[[Pass, Found], None] | None = None
    after_deleting: Callable[[Pass, list[Found]], None] | None = None


# --- Finding the cluster's resources ---------------------------------------------------------


def cluster_load_balancers(here: Pass) -> list[Found]:
    """The ELBv2 load balancers of the cluster in the VPC."""
    in_vpc = {
        lb["LoadBalancerArn"]: lb["LoadBalancerName"]
        for lb in v2_load_balancers_in_vpc(here.clients.elbv2, here.scope.vpc_id)
    }
    tags = elbv2_tags(here.clients.elbv2, list(in_vpc))
    return [
        Found(arn, reason, load_balancer=lb_key("elbv2", in_vpc[arn]))
        for arn in in_vpc
        if (reason := _elbv2_cluster_tag(tags.get(arn, {}), here.scope.cluster))
    ]


def cluster_target_groups(here: Pass) -> list[Found]:
    """The target groups of the cluster in the VPC, used or not."""
    arns = [
        group["TargetGroupArn"]
        for group in target_groups_in_vpc(here.clients.elbv2, here.scope.vpc_id)
    ]
    tags = elbv2_tags(here.clients.elbv2, arns)
    return [
        Found(arn, reason)
        for arn in arns
        if (reason := _elbv2_cluster_tag(tags.get(arn, {}), here.scope.cluster))
    ]


def cluster_classic_load_balancers(here: Pass) -> list[Found]:
    """The classic ELBs of the cluster in the VPC."""
    names = [
        lb["LoadBalancerName"]
        for lb in classic_load_balancers_in_vpc(here.clients.elb, here.scope.vpc_id)
    ]
    tags = classic_tags(here.clients.elb, names)
    reason = IN_TREE_OWNED_TAG.describe(here.scope.cluster)
    return [
        Found(name, reason, load_balancer=lb_key("elb", name))
        for name in names
        if IN_TREE_OWNED_TAG.is_on(tags.get(name, {}), here.scope.cluster)
    ]


def controller_security_groups(here: Pass) -> list[Found]:
    """The security groups that the controllers created for the cluster."""
    cluster = here.scope.cluster
    in_tree_reason = f"{IN_TREE_OWNED_TAG.describe(cluster)} and name {IN_TREE_GROUP_PREFIX}*"
    selected = []
    for group in here.vpc_groups:
        tags = tag_dict(group.get("Tags"))
        if LB_CONTROLLER_TAG.is_on(tags, cluster):
            selected.append(Found(group["GroupId"], LB_CONTROLLER_TAG.describe(cluster)))
        elif IN_TREE_OWNED_TAG.is_on(tags, cluster) and _in_tree_named(group):
            selected.append(Found(group["GroupId"], in_tree_reason))
    return selected


def _in_tree_named(group: dict) -> bool:
    return group.get("GroupName", "").startswith(IN_TREE_GROUP_PREFIX)


def cni_interfaces(here: Pass) -> list[Found]:
    """The detached network interfaces that the VPC CNI left for the cluster."""
    cluster_group_ids = {group["GroupId"] for group in here.cluster_groups}
    available = [{"Name": "status", "Values": ["available"]}]
    selected = []
    for interface in network_interfaces_in_vpc(here.clients.ec2, here.scope.vpc_id, available):
        if interface.get("Status") != "available":
            continue
        if CNI_TAG.is_on(tag_dict(interface.get("TagSet")), here.scope.cluster):
            reason = CNI_TAG.describe(here.scope.cluster)
            selected.append(Found(interface["NetworkInterfaceId"], reason))
            continue
        description = interface.get("Description") or ""
        groups = {group["GroupId"] for group in interface.get("Groups", [])}
        if description.startswith(CNI_INTERFACE_DESCRIPTION_PREFIX) and groups & cluster_group_ids:
            reason = f"description {CNI_INTERFACE_DESCRIPTION_PREFIX}* in a cluster security group"
            selected.append(Found(interface["NetworkInterfaceId"], reason))
    return selected


def cluster_security_groups(here: Pass) -> list[Found]:
    reason = EKS_TAG.describe(here.scope.cluster)
    return [Found(group["GroupId"], reason) for group in here.cluster_groups]


def load_balancer_interfaces(here: Pass) -> list[Found]:
    """The VPC's network interfaces that belong to the cluster's deleted load balancers.

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
    described = [{"Name": "description", "Values": [f"{LB_INTERFACE_DESCRIPTION_PREFIX}*"]}]
    interfaces = [
        (interface["NetworkInterfaceId"], key)
        for interface in network_interfaces_in_vpc(here.clients.ec2, here.scope.vpc_id, described)
        if (key := _interface_lb_key(interface)) is not None
    ]
    if here.waited_for is None:
        live = _live_load_balancer_keys(here)
        return [Found(i, f"{key} is gone") for i, key in interfaces if key not in live]
    return [Found(i, f"{key} was deleted") for i, key in interfaces if key in here.waited_for]


def guardduty_resources(here: Pass) -> list[Found]:
    """GuardDuty's VPC endpoint and security group in the VPC, if it put them there."""
    endpoints = [
        Found(endpoint["VpcEndpointId"], "GuardDuty's endpoint")
        for endpoint in vpc_endpoints_in_vpc(here.clients.ec2, here.scope.vpc_id)
        if endpoint.get("ServiceName", "").endswith(GUARDDUTY_ENDPOINT_SERVICE_SUFFIX)
        and endpoint.get("State", "").lower() not in ("deleted", "deleting")
    ]
    groups = [
        Found(group["GroupId"], f"name {GUARDDUTY_SECURITY_GROUP_PREFIX}*")
        for group in here.vpc_groups
        if group.get("GroupName", "").startswith(GUARDDUTY_SECURITY_GROUP_PREFIX)
    ]
    return endpoints + groups


def log_kept_cluster_groups(here: Pass, deleted: list[Found]) -> None:
    # Tagged for the cluster yet kept: say why, since the tag alone suggests otherwise.
    deleted_ids = {found.id for found in deleted}
    cluster = here.scope.cluster
    key, owned = IN_TREE_OWNED_TAG.key_for(cluster), IN_TREE_OWNED_TAG.value_for(cluster)
    for group in here.vpc_groups:
        tags = tag_dict(group.get("Tags"))
        if key not in tags or group["GroupId"] in deleted_ids or EKS_TAG.key_for(cluster) in tags:
            continue
        if tags[key] != owned:
            why = f"tag {key}={tags[key]}: someone else's"
        else:
            why = (
                f"tag {key}={owned}, but name {group.get('GroupName')} does not start with "
                f"{IN_TREE_GROUP_PREFIX}: not a controller's"
            )
        LOG.info("skipped security group %s (%s)", group["GroupId"], why)


# --- Deleting, one logged line per deletion or skip ------------------------------------------


def delete_load_balancer(here: Pass, found: Found) -> None:
    # DeleteLoadBalancer deletes the load balancer's listeners too.
    elbv2 = here.clients.elbv2

    def delete(**params) -> None:
        try:
            elbv2.delete_load_balancer(**params)
        except ClientError as error:
            if is_deletion_protection(error):
                raise DeletionProtected(found.id) from None
            raise

    if attempt(f"load balancer {found.id}", delete, LoadBalancerArn=found.id):
        LOG.info("deleted load balancer arn=%s reason=%s", found.id, found.reason)


def delete_target_group(here: Pass, found: Found) -> None:
    elbv2 = here.clients.elbv2
    if attempt(f"target group {found.id}", elbv2.delete_target_group, TargetGroupArn=found.id):
        LOG.info("deleted target group arn=%s reason=%s", found.id, found.reason)


def delete_classic_load_balancer(here: Pass, found: Found) -> None:
    elb = here.clients.elb
    what = f"classic load balancer {found.id}"
    if attempt(what, elb.delete_load_balancer, LoadBalancerName=found.id):
        LOG.info("deleted classic load balancer name=%s reason=%s", found.id, found.reason)


def delete_security_group(here: Pass, found: Found) -> None:
    ec2 = here.clients.ec2
    # The rules of other groups that name this one make its deletion fail.
    _revoke_references(ec2, found.id, here.vpc_groups)
    if attempt(f"security group {found.id}", ec2.delete_security_group, GroupId=found.id):
        LOG.info("deleted security group %s reason=%s", found.id, found.reason)


def delete_network_interface(here: Pass, found: Found) -> None:
    ec2 = here.clients.ec2
    what = f"network interface {found.id}"
    if attempt(what, ec2.delete_network_interface, NetworkInterfaceId=found.id):
        LOG.info("deleted network interface %s reason=available, %s", found.id, found.reason)


def _revoke_references(ec2, group_id: str, vpc_groups: list[dict]) -> None:
    for other in vpc_groups:
        if other["GroupId"] == group_id:
            continue
        for direction, key, revoke in (
            ("ingress", "IpPermissions", ec2.revoke_security_group_ingress),
            ("egress", "IpPermissionsEgress", ec2.revoke_security_group_egress),
        ):
            for permission in _permissions_referencing(other.get(key, []), group_id):
                what = f"{direction} rule of {other['GroupId']} referencing {group_id}"
                if attempt(what, revoke, GroupId=other["GroupId"], IpPermissions=[permission]):
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


# --- The table ------------------------------------------------------------------------------

_CODE: dict[LeftoverKind, Code] = {
    contract.LOAD_BALANCERS: Code(cluster_load_balancers, delete_load_balancer),
    contract.TARGET_GROUPS: Code(cluster_target_groups, delete_target_group),
    contract.CLASSIC_LOAD_BALANCERS: Code(
        cluster_classic_load_balancers, delete_classic_load_balancer
    ),
    contract.CONTROLLER_SECURITY_GROUPS: Code(
        controller_security_groups, delete_security_group, after_deleting=log_kept_cluster_groups
    ),
    contract.CNI_INTERFACES: Code(cni_interfaces, delete_network_interface),
    contract.CLUSTER_SECURITY_GROUPS: Code(cluster_security_groups, delete_security_group),
    contract.LOAD_BALANCER_INTERFACES: Code(load_balancer_interfaces),
    contract.GUARDDUTY_RESOURCES: Code(guardduty_resources),
}
# The contract's kinds with their code, in the contract's order, which every pass follows.
TABLE: tuple[tuple[LeftoverKind, Code], ...] = tuple((kind, _CODE[kind]) for kind in contract.KINDS)


def cleanup_pass(clients: Clients, scope: Scope) -> set[str]:
    """Delete what belongs to the deleted cluster; return the keys of the load balancers found."""
    here = Pass(clients, scope)
    load_balancers = set()
    for _, code in TABLE:
        if code.delete is None:
            continue
        found = code.find(here)
        for resource in found:
            if resource.load_balancer:
                load_balancers.add(resource.load_balancer)
            code.delete(here, resource)
        if code.after_deleting:
            code.after_deleting(here, found)
    return load_balancers


@dataclass(frozen=True)
class Leftovers:
    """IDs of what is still in the VPC, by kind, in the table's order."""

    ids: dict[LeftoverKind, list[str]] = field(default_factory=dict)

    def of(self, kind: LeftoverKind) -> list[str]:
        return self.ids.get(kind, [])

    def is_empty(self) -> bool:
        """True when nothing of the lab's is left (what is only named is not the lab's)."""
        return not any(ids for kind, ids in self.ids.items() if kind.is_the_labs)

    def describe(self) -> str:
        return "; ".join(
            f"{kind.label}: {', '.join(ids)}"
            for kind, ids in self.ids.items()
            if kind.is_the_labs and ids
        )


def inventory(clients: Clients, scope: Scope, waited_for: set[str] | None) -> Leftovers:
    """List what is still there after a pass; an empty result means the VPC can go."""
    here = Pass(clients, scope, waited_for)
    return Leftovers({kind: [found.id for found in code.find(here)] for kind, code in TABLE})


# --- Load balancer keys ---------------------------------------------------------------------


def lb_key(api: str, name: str) -> str:
    # A classic ELB and an ELBv2 load balancer may share a name; the API tells them apart.
    return f"{api}/{name}"


def _interface_lb_key(interface: dict) -> str | None:
    description = interface.get("Description") or ""
    if not description.startswith(LB_INTERFACE_DESCRIPTION_PREFIX):
        return None
    parts = description[len(LB_INTERFACE_DESCRIPTION_PREFIX) :].split("/")
    if len(parts) == 3:  # "<type>/<name>/<id>"
        return lb_key("elbv2", parts[1])
    if len(parts) == 1:
        return lb_key("elb", parts[0])
    return None


def _live_load_balancer_keys(here: Pass) -> set[str]:
    v2 = v2_load_balancers_in_vpc(here.clients.elbv2, here.scope.vpc_id)
    classic = classic_load_balancers_in_vpc(here.clients.elb, here.scope.vpc_id)
    return {lb_key("elbv2", lb["LoadBalancerName"]) for lb in v2} | {
        lb_key("elb", lb["LoadBalancerName"]) for lb in classic
    }


def _elbv2_cluster_tag(tags: dict[str, str], cluster: str) -> str | None:
    """The tag that makes an ELBv2 resource the cluster's, as text for the log, or None."""
    for tag in (LB_CONTROLLER_TAG, IN_TREE_OWNED_TAG):
        if tag.is_on(tags, cluster):
            return tag.describe(cluster)
    return None
