"""LoadBalancerCleanup: when the lab is removed, removes what Kubernetes left in its VPC."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aws_cdk import CfnResource, CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr

from constructs import Construct, IConstruct
from constructs.load_balancer_cleanup_handler import cleanup_contract as contract

HANDLER_DIR = Path(__file__).resolve().parent / "load_balancer_cleanup_handler"

# One Lambda invocation: the handler stops starting AWS requests 2 minutes before this
# (TIME_MARGIN_SECONDS in aws_calls.py), which leaves about 3 minutes of work per pass.
HANDLER_TIMEOUT = Duration.minutes(5)
# The handler names the leftovers this long before the provider's own timeout, whose message
# would name nothing.
HANDLER_DEADLINE_BEFORE_PROVIDER_TIMEOUT_MINUTES = 3


@dataclass(frozen=True)
class LoadBalancerCleanupProps:
    """
    cluster_name: the EKS cluster whose controllers' leftovers are removed; must be known at
        synth time because it is written into the IAM policy.
    vpc: only resources inside this VPC are touched. The cleanup depends on the VPC's subnets
        and internet gateway attachment, so it runs before they are deleted.
    total_timeout: how long a deletion may take before it fails and names what is left;
        NLB network interfaces can take several minutes to be released.
    query_interval: how often the completion check runs.
    """

    cluster_name: str
    vpc: ec2.IVpc
    total_timeout: Duration = field(default_factory=lambda: Duration.minutes(30))
    query_interval: Duration = field(default_factory=lambda: Duration.seconds(30))


class LoadBalancerCleanup(Construct):
    """A custom resource that, on delete and once EKS no longer knows `cluster_name`, removes
    the load balancers, target groups, security groups and network interfaces that the AWS
    Load Balancer Controller, the in-tree cloud provider, the VPC CNI and EKS left for the
    cluster in `vpc`, then waits until their network interfaces are gone.

    While the cluster exists (a rolled-back update, a replaced resource) a Delete removes
    nothing. Create does nothing; an Update that changes the cluster or the VPC is refused.

    Put it in a stack that the cluster's stack depends on (the VPC's): CloudFormation then
    deletes it after the whole cluster stack and before the VPC's subnets and internet
    gateway attachment, which is exactly when it must run.
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

        handler_deadline_minutes = (
            int(props.total_timeout.to_minutes()) - HANDLER_DEADLINE_BEFORE_PROVIDER_TIMEOUT_MINUTES
        )

        def handler(function_id: str, entry: str) -> lambda_.Function:
            # Outside the VPC on purpose: its own network interfaces would block the VPC's
            # deletion, which is what this function exists to unblock.
            return lambda_.Function(
                self,
                function_id,
                runtime=lambda_.Runtime.PYTHON_3_14,
                code=lambda_.Code.from_asset(str(HANDLER_DIR), exclude=["__pycache__"]),
                handler=f"handler.{entry}",
                timeout=HANDLER_TIMEOUT,
                memory_size=256,
                role=role,
                log_group=self.log_group,
                environment={
                    contract.TIMEOUT_ENV: str(handler_deadline_minutes),
                    # Its own scope, which every event must name.
                    contract.ENV_CLUSTER_NAME: props.cluster_name,
                    contract.ENV_VPC_ID: props.vpc.vpc_id,
                },
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
            resource_type=contract.RESOURCE_TYPE,
            properties={
                contract.CLUSTER_NAME_PROPERTY: props.cluster_name,
                contract.VPC_ID_PROPERTY: props.vpc.vpc_id,
            },
        )
        # An internet-facing NLB's addresses keep the internet gateway from being detached,
        # and load balancer and CNI interfaces keep the subnets from being deleted: the
        # cleanup must run before either. Only the subnets themselves, not their NAT gateways,
        # so that the cleanup's provider is created while the NAT gateways are.
        for dependency in _subnets_and_gateway_attachment(props.vpc):
            self.resource.node.add_dependency(dependency)


def _subnets_and_gateway_attachment(vpc: ec2.IVpc) -> list[IConstruct]:
    subnets = [*vpc.public_subnets, *vpc.private_subnets, *vpc.isolated_subnets]
    found: list[IConstruct] = [s.node.default_child for s in subnets if s.node.default_child]
    found += [
        child
        for child in vpc.node.children
        if CfnResource.is_cfn_resource(child)
        and child.cfn_resource_type == "AWS::EC2::VPCGatewayAttachment"
    ]
    return found


def cleanup_policy_statements(
    *, stack: Stack, cluster_name: str, vpc: ec2.IVpc
) -> list[iam.PolicyStatement]:
    """What the handler may do, as the table of leftover kinds says (cleanup_contract.policy):
    read what it must inspect, ask EKS about this one cluster, delete only what carries this
    cluster's tag, and touch security groups and network interfaces only inside this VPC."""
    vpc_arn = stack.format_arn(service="ec2", resource="vpc", resource_name=vpc.vpc_id)

    def resources(grant: contract.Grant) -> list[str]:
        if grant.on is None:
            return ["*"]
        name = grant.on.name_for(cluster_name)
        return [
            stack.format_arn(
                service=grant.on.service, resource=grant.on.resource, resource_name=name
            )
        ]

    return [
        iam.PolicyStatement(
            sid=grant.sid,
            actions=list(grant.actions),
            resources=resources(grant),
            conditions=grant.conditions(cluster_name, vpc_arn) or None,
        )
        for grant in contract.policy()
    ]
