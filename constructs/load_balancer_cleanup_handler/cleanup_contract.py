"""What the cleanup's construct and its Lambda handler agree on: the custom resource's type,
properties and setting, the tags that mark a cluster's resources, and the table of leftover
kinds with the IAM statements their deletion needs.

Plain Python on purpose: the construct imports this file at synth time as
constructs.load_balancer_cleanup_handler.cleanup_contract, the Lambda function as the
top-level module cleanup_contract (this folder is the function's code), so it imports
neither aws_cdk nor boto3.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

RESOURCE_TYPE = "Custom::LoadBalancerCleanup"
# The resource's properties: the one cluster and the one VPC the cleanup may touch.
CLUSTER_NAME_PROPERTY = "ClusterName"
VPC_ID_PROPERTY = "VpcId"
# Minutes after the Delete started at which is_complete gives up and names what is left.
TIMEOUT_ENV = "CLEANUP_TIMEOUT_MINUTES"
# The function's own scope, in its environment: every event must name it (handler.py).
ENV_CLUSTER_NAME = "LAB_CLUSTER_NAME"
ENV_VPC_ID = "LAB_VPC_ID"

# Stands for the cluster's name in tags and ARNs: the table is written once, before any
# cluster is known.
CLUSTER = "<cluster>"


@dataclass(frozen=True)
class ClusterTag:
    """A tag by which a controller or EKS marks what it made for a cluster."""

    key: str
    value: str

    def key_for(self, cluster: str) -> str:
        return self.key.replace(CLUSTER, cluster)

    def value_for(self, cluster: str) -> str:
        return self.value.replace(CLUSTER, cluster)

    def is_on(self, tags: dict[str, str], cluster: str) -> bool:
        return tags.get(self.key_for(cluster)) == self.value_for(cluster)

    def describe(self, cluster: str) -> str:
        return f"tag {self.key_for(cluster)}={self.value_for(cluster)}"


LB_CONTROLLER_TAG = ClusterTag("elbv2.k8s.aws/cluster", CLUSTER)
# The in-tree provider tags what it creates "owned"; "shared" marks what someone else owns
# and must outlive the cluster, so it is never a reason to delete.
IN_TREE_OWNED_TAG = ClusterTag(f"kubernetes.io/cluster/{CLUSTER}", "owned")
# Only EKS can set aws:* tags.
EKS_TAG = ClusterTag("aws:eks:cluster-name", CLUSTER)
# The VPC CNI tags its interfaces only when its CLUSTER_NAME is set, which EKS's aws-node
# does not set.
CNI_TAG = ClusterTag("cluster.k8s.amazonaws.com/name", CLUSTER)

# The IAM actions of the AWS operations the handler calls. DeleteLoadBalancer,
# DescribeLoadBalancers and DescribeTags are the same actions in the ELBv2 and classic APIs.
DESCRIBE_LOAD_BALANCERS = "elasticloadbalancing:DescribeLoadBalancers"
DESCRIBE_TARGET_GROUPS = "elasticloadbalancing:DescribeTargetGroups"
DESCRIBE_ELB_TAGS = "elasticloadbalancing:DescribeTags"
DESCRIBE_SECURITY_GROUPS = "ec2:DescribeSecurityGroups"
DESCRIBE_NETWORK_INTERFACES = "ec2:DescribeNetworkInterfaces"
DESCRIBE_VPC_ENDPOINTS = "ec2:DescribeVpcEndpoints"
DESCRIBE_CLUSTER = "eks:DescribeCluster"
DELETE_LOAD_BALANCER = "elasticloadbalancing:DeleteLoadBalancer"
DELETE_TARGET_GROUP = "elasticloadbalancing:DeleteTargetGroup"
DELETE_SECURITY_GROUP = "ec2:DeleteSecurityGroup"
REVOKE_INGRESS = "ec2:RevokeSecurityGroupIngress"
REVOKE_EGRESS = "ec2:RevokeSecurityGroupEgress"
DELETE_NETWORK_INTERFACE = "ec2:DeleteNetworkInterface"

# The condition key for a resource tag, by the service of the actions: EC2's own key, the
# global one for Elastic Load Balancing.
TAG_CONDITION_PREFIX = {"ec2": "ec2:ResourceTag/", "elasticloadbalancing": "aws:ResourceTag/"}


@dataclass(frozen=True)
class Arns:
    """Resources of one type in the stack's account and region, by the parts of their ARN."""

    service: str
    resource: str
    # None: the ARN ends with `resource` ("*": every resource of the service).
    name: str | None = "*"

    def name_for(self, cluster: str) -> str | None:
        return None if self.name is None else self.name.replace(CLUSTER, cluster)


@dataclass(frozen=True)
class Grant:
    """One statement of the handler role's policy.

    on: the resources it applies to; None for every resource ("*").
    tag: when set, only resources that carry this tag for the cluster.
    in_vpc: only resources inside the lab's VPC (EC2's ec2:Vpc condition).
    """

    sid: str
    actions: tuple[str, ...]
    on: Arns | None = None
    tag: ClusterTag | None = None
    in_vpc: bool = False

    def __post_init__(self) -> None:
        services = {action.split(":", 1)[0] for action in self.actions}
        if self.in_vpc and services != {"ec2"}:
            raise ValueError(f"{self.sid}: only EC2 actions can be held to a VPC")
        if self.tag and (len(services) != 1 or not services <= TAG_CONDITION_PREFIX.keys()):
            raise ValueError(f"{self.sid}: no known tag condition key for {sorted(services)}")

    def conditions(self, cluster: str, vpc_arn: str) -> dict[str, dict[str, str]]:
        conditions = {}
        if self.in_vpc:
            conditions["ArnEquals"] = {"ec2:Vpc": vpc_arn}
        if self.tag:
            service = self.actions[0].split(":", 1)[0]
            key = f"{TAG_CONDITION_PREFIX[service]}{self.tag.key_for(cluster)}"
            conditions["StringEquals"] = {key: self.tag.value_for(cluster)}
        return conditions


# The handler's guard: it deletes nothing while EKS still knows the cluster.
ASK_WHETHER_THE_CLUSTER_EXISTS = Grant(
    sid="AskWhetherTheClusterExists",
    actions=(DESCRIBE_CLUSTER,),
    on=Arns("eks", "cluster", CLUSTER),
)
# Every load balancer (classic, application, network) and target group of the stack's
# region and account; the tag narrows it to the cluster's.
LOAD_BALANCERS_HERE = Arns("elasticloadbalancing", "*", None)
# DeleteLoadBalancer deletes the listeners too; no listener permission is needed.
DELETE_LOAD_BALANCERS_OF_THE_LB_CONTROLLER = Grant(
    sid="DeleteLoadBalancersOfTheLbController",
    actions=(DELETE_LOAD_BALANCER, DELETE_TARGET_GROUP),
    on=LOAD_BALANCERS_HERE,
    tag=LB_CONTROLLER_TAG,
)
# Classic and v2 load balancers of the in-tree provider.
DELETE_LOAD_BALANCERS_OF_THE_IN_TREE_PROVIDER = Grant(
    sid="DeleteLoadBalancersOfTheInTreeProvider",
    actions=(DELETE_LOAD_BALANCER, DELETE_TARGET_GROUP),
    on=LOAD_BALANCERS_HERE,
    tag=IN_TREE_OWNED_TAG,
)
SECURITY_GROUPS = Arns("ec2", "security-group")
DELETE_CONTROLLER_SECURITY_GROUPS = Grant(
    sid="DeleteControllerSecurityGroups",
    actions=(DELETE_SECURITY_GROUP,),
    on=SECURITY_GROUPS,
    tag=LB_CONTROLLER_TAG,
    in_vpc=True,
)
# The handler additionally requires the k8s-elb- name prefix; IAM cannot test group names.
DELETE_IN_TREE_SECURITY_GROUPS = Grant(
    sid="DeleteInTreeSecurityGroups",
    actions=(DELETE_SECURITY_GROUP,),
    on=SECURITY_GROUPS,
    tag=IN_TREE_OWNED_TAG,
    in_vpc=True,
)
# The tag is one only EKS can set, and the handler asks EKS first that the cluster is gone.
DELETE_CLUSTER_SECURITY_GROUPS_EKS_LEFT = Grant(
    sid="DeleteClusterSecurityGroupsEksLeft",
    actions=(DELETE_SECURITY_GROUP,),
    on=SECURITY_GROUPS,
    tag=EKS_TAG,
    in_vpc=True,
)
# The rules live in node and cluster security groups, which carry no controller tag; the
# VPC condition keeps the revocation inside the lab's VPC.
REVOKE_RULES_REFERENCING_DELETED_GROUPS = Grant(
    sid="RevokeRulesReferencingDeletedGroups",
    actions=(REVOKE_INGRESS, REVOKE_EGRESS),
    on=SECURITY_GROUPS,
    in_vpc=True,
)
# The interfaces the VPC CNI leaks are often untagged (see CNI_TAG), so no tag condition can
# apply; the VPC, which the app creates for the lab alone, is the tightest scope EC2 offers.
# The handler deletes only detached ("available") interfaces tagged for the cluster or
# described aws-K8S-* in the cluster's security group.
DELETE_CNI_INTERFACES = Grant(
    sid="DeleteCniInterfaces",
    actions=(DELETE_NETWORK_INTERFACE,),
    on=Arns("ec2", "network-interface"),
    in_vpc=True,
)


class Handling(Enum):
    """What the cleanup does with a kind's resources."""

    DELETED = "deleted by every pass"
    WAITED_FOR = "only waited for: AWS releases them a while after their load balancer"
    NAMED = "not the lab's: never touched, only named, though they keep the VPC"


@dataclass(frozen=True)
class LeftoverKind:
    """One kind of resource that Kubernetes or EKS leaves in the VPC.

    label: how messages name resources of the kind ("target groups").
    reads: the IAM actions its finder needs.
    deletes: the IAM actions its deleter needs; grants: the statements that allow them on
        the kind's resources and no others.
    command: what a person runs for one resource of the kind (its ID in place of {id}), as
        `make leftovers` prints it after a destroy.
    """

    label: str
    handling: Handling
    reads: tuple[str, ...]
    deletes: tuple[str, ...] = ()
    grants: tuple[Grant, ...] = ()
    command: str = ""

    def __post_init__(self) -> None:
        deleted = self.handling is Handling.DELETED
        if deleted != bool(self.deletes) or deleted != bool(self.grants):
            raise ValueError(f"{self.label}: deletes and grants go with Handling.DELETED only")
        if not self.command:
            raise ValueError(f"{self.label}: say what a person runs for one of them")

    @property
    def is_the_labs(self) -> bool:
        """Whether the cleanup is done only once none of these is left."""
        return self.handling is not Handling.NAMED


# ELBv2 load balancers (NLB, ALB) of the load balancer controller and the in-tree provider.
LOAD_BALANCERS = LeftoverKind(
    label="load balancers",
    handling=Handling.DELETED,
    reads=(DESCRIBE_LOAD_BALANCERS, DESCRIBE_ELB_TAGS),
    deletes=(DELETE_LOAD_BALANCER,),
    grants=(
        DELETE_LOAD_BALANCERS_OF_THE_LB_CONTROLLER,
        DELETE_LOAD_BALANCERS_OF_THE_IN_TREE_PROVIDER,
    ),
    command="aws elbv2 delete-load-balancer --load-balancer-arn {id}",
)
TARGET_GROUPS = LeftoverKind(
    label="target groups",
    handling=Handling.DELETED,
    reads=(DESCRIBE_TARGET_GROUPS, DESCRIBE_ELB_TAGS),
    deletes=(DELETE_TARGET_GROUP,),
    grants=(
        DELETE_LOAD_BALANCERS_OF_THE_LB_CONTROLLER,
        DELETE_LOAD_BALANCERS_OF_THE_IN_TREE_PROVIDER,
    ),
    command="aws elbv2 delete-target-group --target-group-arn {id}",
)
CLASSIC_LOAD_BALANCERS = LeftoverKind(
    label="classic load balancers",
    handling=Handling.DELETED,
    reads=(DESCRIBE_LOAD_BALANCERS, DESCRIBE_ELB_TAGS),
    deletes=(DELETE_LOAD_BALANCER,),
    grants=(DELETE_LOAD_BALANCERS_OF_THE_IN_TREE_PROVIDER,),
    command="aws elb delete-load-balancer --load-balancer-name {id}",
)
# The load balancer controller's frontend and backend groups, the in-tree provider's
# k8s-elb-* groups; deleting one first revokes the rules in the VPC that reference it.
CONTROLLER_SECURITY_GROUPS = LeftoverKind(
    label="security groups",
    handling=Handling.DELETED,
    reads=(DESCRIBE_SECURITY_GROUPS,),
    deletes=(REVOKE_INGRESS, REVOKE_EGRESS, DELETE_SECURITY_GROUP),
    grants=(
        DELETE_CONTROLLER_SECURITY_GROUPS,
        DELETE_IN_TREE_SECURITY_GROUPS,
        REVOKE_RULES_REFERENCING_DELETED_GROUPS,
    ),
    command="aws ec2 delete-security-group --group-id {id}",
)
# Detached interfaces the VPC CNI left, found by their tag or by the cluster security group.
CNI_INTERFACES = LeftoverKind(
    label="CNI network interfaces",
    handling=Handling.DELETED,
    reads=(DESCRIBE_NETWORK_INTERFACES, DESCRIBE_SECURITY_GROUPS),
    deletes=(DELETE_NETWORK_INTERFACE,),
    grants=(DELETE_CNI_INTERFACES,),
    command="aws ec2 delete-network-interface --network-interface-id {id}",
)
# eks-cluster-sg-<cluster>-*, which EKS leaves when a CNI interface still used it.
CLUSTER_SECURITY_GROUPS = LeftoverKind(
    label="cluster security groups",
    handling=Handling.DELETED,
    reads=(DESCRIBE_SECURITY_GROUPS,),
    deletes=(REVOKE_INGRESS, REVOKE_EGRESS, DELETE_SECURITY_GROUP),
    grants=(DELETE_CLUSTER_SECURITY_GROUPS_EKS_LEFT, REVOKE_RULES_REFERENCING_DELETED_GROUPS),
    command="aws ec2 delete-security-group --group-id {id}",
)
# They block the deletion of subnets and security groups until AWS releases them.
LOAD_BALANCER_INTERFACES = LeftoverKind(
    label="load balancer network interfaces",
    handling=Handling.WAITED_FOR,
    reads=(DESCRIBE_NETWORK_INTERFACES, DESCRIBE_LOAD_BALANCERS),
    # AWS deletes them itself, minutes after their load balancer.
    command="aws ec2 describe-network-interfaces --network-interface-ids {id}",
)
# GuardDuty Runtime Monitoring's VPC endpoint and security group, where the account
# enables it.
GUARDDUTY_RESOURCES = LeftoverKind(
    label="GuardDuty's resources",
    handling=Handling.NAMED,
    reads=(DESCRIBE_VPC_ENDPOINTS, DESCRIBE_SECURITY_GROUPS),
    command="GuardDuty's own: turn off its VPC agent management, or delete it in its console",
)

# The order of every pass and of every list of leftovers. Load balancers before target
# groups, which their listeners hold; controller security groups once their load balancers
# are gone; CNI interfaces before the cluster security groups: such an interface is what
# usually kept EKS from deleting them.
KINDS: tuple[LeftoverKind, ...] = (
    LOAD_BALANCERS,
    TARGET_GROUPS,
    CLASSIC_LOAD_BALANCERS,
    CONTROLLER_SECURITY_GROUPS,
    CNI_INTERFACES,
    CLUSTER_SECURITY_GROUPS,
    LOAD_BALANCER_INTERFACES,
    GUARDDUTY_RESOURCES,
)


def policy() -> tuple[Grant, ...]:
    """The handler role's statements: every read the finders need (Describe calls support no
    resource-level scoping), the question to EKS, then each grant the deleters need, once.

    Grants on the same resources stand together, in the order the pass first reaches those
    resources, and a grant narrowed by a tag before one held by the VPC alone: so a resource's
    scope reads in one place.
    """
    reads = Grant(sid="ReadOnly", actions=tuple(dict.fromkeys(a for k in KINDS for a in k.reads)))
    grants = list(dict.fromkeys(grant for kind in KINDS for grant in kind.grants))
    reached = list(dict.fromkeys(grant.on for grant in grants))
    grants.sort(key=lambda grant: (reached.index(grant.on), grant.tag is None))
    return (reads, ASK_WHETHER_THE_CLUSTER_EXISTS, *grants)
