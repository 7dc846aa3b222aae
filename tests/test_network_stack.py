"""The VPC: subnets the controllers can discover, NAT gateways as configured."""

from aws_cdk.assertions import Match


def subnets_tagged(template, key):
    return {
        logical_id: resource
        for logical_id, resource in template.find_resources("AWS::EC2::Subnet").items()
        if {"Key": key, "Value": "1"} in resource["Properties"].get("Tags", [])
    }


def test_public_and_private_subnets_in_two_azs_carry_load_balancer_role_tags(network_template):
    public = subnets_tagged(network_template, "kubernetes.io/role/elb")
    private = subnets_tagged(network_template, "kubernetes.io/role/internal-elb")
    assert len(public) == 2 and len(private) == 2
    assert not set(public) & set(private)
    for resource in public.values():
        assert resource["Properties"]["MapPublicIpOnLaunch"] is True
    azs = [str(r["Properties"]["AvailabilityZone"]) for r in private.values()]
    assert len(set(azs)) == 2


def test_one_nat_gateway_by_default(network_template, synthesized):
    assert synthesized.config.nat_gateways == 1
    network_template.resource_count_is("AWS::EC2::NatGateway", 1)


def test_vpc_uses_the_configured_cidr(network_template, synthesized):
    network_template.has_resource_properties(
        "AWS::EC2::VPC", Match.object_like({"CidrBlock": synthesized.config.vpc_cidr})
    )
