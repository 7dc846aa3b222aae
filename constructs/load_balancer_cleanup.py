"""LoadBalancerCleanup: on stack deletion, removes what Kubernetes controllers left in the VPC."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aws_cdk import CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr

from constructs import Construct

HANDLER_DIR = Path(__file__).resolve().parent / "load_balancer_cleanup_handler"
RESOURCE_TYPE = "Custom::LoadBalancerCleanup"

# Tags by which the controllers mark what they create for a cluster.
LB_CONTROLLER_CLUSTER_TAG = "elbv2.k8s.aws/cluster"
IN_TREE_CLUSTER_TAG_PREFIX = "kubernetes.io/cluster/"
VPC_CNI_CLUSTER_TAG = "cluster.k8s.amazonaws.com/name"


@dataclass(frozen=True)
class LoadBalancerCleanupProps:
    """
    cluster_name: the EKS cluster whose controllers' leftovers are removed; must be known at
        synth time because it is written into the IAM conditions.
    vpc: only resources inside this VPC are touched.
    total_timeout: how long a deletion may take before it fails and names what is left;
        NLB network interfaces can take several minutes to be released.
    query_interval: how often the completion check runs.
    """

    cluster_name: str
    vpc: ec2.IVpc
    total_timeout: Duration = field(default_factory=lambda: Duration.minutes(30))
    query_interval: Duration = field(default_factory=lambda: Duration.seconds(30))


class LoadBalancerCleanup(Construct):
    """A custom resource that does nothing on create and update, and on delete removes the
    load balancers, target groups, security groups and network interfaces that the AWS Load
    Balancer Controller, the in-tree cloud provider and the VPC CNI created for
    `cluster_name` in `vpc`, then waits until their network interfaces are gone.

    Make the cluster depend on it, so that on delete it runs after every Kubernetes object
    and the cluster are gone, and before the VPC is deleted.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, props: LoadBalancerCleanupProps
    ) -> None:
        super().__init__(scope, construct_id)
        if props.total_timeout.to_minutes() < 20:
            raise ValueError("total_timeout must leave NLB interfaces at least 20 minutes")

        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=logs.RetentionDays.ONE_WEEK,
            removal_policy=RemovalPolicy.DESTROY,
        )
        role = iam.Role(
            self,
            "HandlerRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Removes what Kubernetes controllers left for {props.cluster_name}",
        )
        self.log_group.grant_write(role)
        for statement in cleanup_policy_statements(
            stack=Stack.of(self), cluster_name=props.cluster_name, vpc=props.vpc
        ):
            role.add_to_policy(statement)

        # The handler reports the leftovers by name shortly before the framework's own
        # timeout, whose message would name nothing.
        handler_timeout_minutes = int(props.total_timeout.to_minutes()) - 3

        def handler(function_id: str, entry: str) -> lambda_.Function:
            return lambda_.Function(
                self,
                function_id,
                runtime=lambda_.Runtime.PYTHON_3_14,
                code=lambda_.Code.from_asset(str(HANDLER_DIR), exclude=["__pycache__"]),
                handler=f"handler.{entry}",
                timeout=Duration.minutes(5),
                memory_size=256,
                role=role,
                log_group=self.log_group,
                environment={"CLEANUP_TIMEOUT_MINUTES": str(handler_timeout_minutes)},
            )

        provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=handler("OnEvent", "on_event"),
            is_complete_handler=handler("IsComplete", "is_complete"),
            total_timeout=props.total_timeout,
            query_interval=props.query_interval,
        )
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type=RESOURCE_TYPE,
            properties={"ClusterName": props.cluster_name, "VpcId": props.vpc.vpc_id},
        )


def cleanup_policy_statements(
    *, stack: Stack, cluster_name: str, vpc: ec2.IVpc
) -> list[iam.PolicyStatement]:
    """What the handler may do: read anything it must inspect, delete only what carries
    this cluster's tag, and change security-group rules only inside this VPC."""
    in_tree_tag = f"{IN_TREE_CLUSTER_TAG_PREFIX}{cluster_name}"
    vpc_arn = stack.format_arn(service="ec2", resource="vpc", resource_name=vpc.vpc_id)
    return [
        iam.PolicyStatement(
            sid="ReadOnly",
            # Describe and DescribeTags calls support no resource-level scoping.
            actions=[
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeNetworkInterfaces",
                "elasticloadbalancing:DescribeLoadBalancers",
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeTags",
            ],
            resources=["*"],
        ),
        iam.PolicyStatement(
            sid="DeleteLoadBalancersOfTheLbController",
            actions=[
                "elasticloadbalancing:DeleteLoadBalancer",
                "elasticloadbalancing:DeleteTargetGroup",
            ],
            resources=["*"],
            conditions={
                "StringEquals": {f"aws:ResourceTag/{LB_CONTROLLER_CLUSTER_TAG}": cluster_name}
            },
        ),
        iam.PolicyStatement(
            # Classic and v2 load balancers of the in-tree provider (DeleteLoadBalancer is
            # the same action name in both APIs).
            sid="DeleteLoadBalancersOfTheInTreeProvider",
            actions=[
                "elasticloadbalancing:DeleteLoadBalancer",
                "elasticloadbalancing:DeleteTargetGroup",
            ],
            resources=["*"],
            conditions={"StringEquals": {f"aws:ResourceTag/{in_tree_tag}": ["owned", "shared"]}},
        ),
        iam.PolicyStatement(
            sid="DeleteListenersOfLoadBalancers",
            # The controllers do not reliably tag listeners, so no tag condition can be used;
            # the handler only deletes listeners of load balancers it found tagged for this
            # cluster, and the ARNs are limited to load-balancer listeners.
            actions=["elasticloadbalancing:DeleteListener"],
            resources=[
                stack.format_arn(
                    service="elasticloadbalancing", resource="listener", resource_name="net/*"
                ),
                stack.format_arn(
                    service="elasticloadbalancing", resource="listener", resource_name="app/*"
                ),
            ],
        ),
        iam.PolicyStatement(
            sid="DeleteControllerSecurityGroups",
            actions=["ec2:DeleteSecurityGroup"],
            resources=["*"],
            conditions={
                "StringEquals": {f"ec2:ResourceTag/{LB_CONTROLLER_CLUSTER_TAG}": cluster_name}
            },
        ),
        iam.PolicyStatement(
            sid="DeleteInTreeSecurityGroups",
            # The handler additionally requires the k8s-elb- name prefix; IAM cannot test
            # group names.
            actions=["ec2:DeleteSecurityGroup"],
            resources=["*"],
            conditions={"StringEquals": {f"ec2:ResourceTag/{in_tree_tag}": ["owned", "shared"]}},
        ),
        iam.PolicyStatement(
            sid="RevokeRulesReferencingControllerGroups",
            # The rules live in node and cluster security groups, which carry no controller
            # tag; the VPC condition keeps the revocation inside the lab's VPC.
            actions=[
                "ec2:RevokeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupEgress",
            ],
            resources=[
                stack.format_arn(service="ec2", resource="security-group", resource_name="*")
            ],
            conditions={"ArnEquals": {"ec2:Vpc": vpc_arn}},
        ),
        iam.PolicyStatement(
            sid="DeleteCniInterfaces",
            actions=["ec2:DeleteNetworkInterface"],
            resources=["*"],
            conditions={"StringEquals": {f"ec2:ResourceTag/{VPC_CNI_CLUSTER_TAG}": cluster_name}},
        ),
    ]
