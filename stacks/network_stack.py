"""The lab's network: a VPC whose subnets the load balancer controllers can discover, and the
cleanup that removes what those controllers leave in it."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack, Tags
from aws_cdk import aws_ec2 as ec2

from constructs import Construct
from constructs.load_balancer_cleanup import LoadBalancerCleanup, LoadBalancerCleanupProps
from plan.config import AVAILABILITY_ZONES
from plan.facts import CLEANUP_LOG_GROUP_OUTPUT
from plan.lab_plan import LabPlan


class NetworkStack(Stack):
    """A VPC with public and private subnets in two AZs.

    Public subnets carry kubernetes.io/role/elb=1 (where internet-facing load balancers go),
    private ones kubernetes.io/role/internal-elb=1; nodes run in the private subnets and
    reach the internet through the NAT gateways.

    The cleanup lives here, not beside the cluster: the cluster's stack depends on this one,
    so CloudFormation deletes the cleanup after the whole cluster stack and before the
    subnets and the internet gateway attachment, and creates its provider while the NAT
    gateways are created instead of making the cluster wait for it.
    """

    def __init__(self, scope: Construct, construct_id: str, *, plan: LabPlan, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        config = plan.config
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(config.vpc_cidr),
            max_azs=AVAILABILITY_ZONES,
            nat_gateways=config.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC),
                ec2.SubnetConfiguration(
                    name="Private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
                ),
            ],
        )
        for subnet in self.vpc.public_subnets:
            Tags.of(subnet).add("kubernetes.io/role/elb", "1")
        for subnet in self.vpc.private_subnets:
            Tags.of(subnet).add("kubernetes.io/role/internal-elb", "1")

        self.cleanup = LoadBalancerCleanup(
            self,
            "LoadBalancerCleanup",
            props=LoadBalancerCleanupProps(cluster_name=config.cluster_name, vpc=self.vpc),
        )
        CfnOutput(
            self,
            CLEANUP_LOG_GROUP_OUTPUT,
            description="What the destroy-time cleanup removed: aws logs tail <name> --follow",
            value=self.cleanup.log_group.log_group_name,
        )
