"""The lab's network: a VPC whose subnets the load balancer controllers can discover."""

from __future__ import annotations

from aws_cdk import Stack, Tags
from aws_cdk import aws_ec2 as ec2

from constructs import Construct
from stacks.config import AVAILABILITY_ZONES, LabConfig


class NetworkStack(Stack):
    """A VPC with public and private subnets in two AZs.

    Public subnets carry kubernetes.io/role/elb=1 (where internet-facing load balancers go),
    private ones kubernetes.io/role/internal-elb=1; nodes run in the private subnets and
    reach the internet through the NAT gateways.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: LabConfig, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
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
