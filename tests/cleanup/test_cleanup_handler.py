"""The load balancer cleanup handler, run against a real moto server.

moto creates no network interfaces for load balancers and enforces no dependency between
security groups, so the scenario creates the interfaces that AWS keeps for a while after
deleting a load balancer (description "ELB net/<name>/<id>", "ELB <name>"), and the tests
delete them, playing AWS releasing them, between is_complete calls. Refusals by AWS (in use,
throttled, denied) are injected into the handler's own requests with botocore event hooks.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

CLUSTER = "blue"
OTHER_CLUSTER = "green"
LBC_TAG = "elbv2.k8s.aws/cluster"
LEGACY_TAG = f"kubernetes.io/cluster/{CLUSTER}"
OTHER_LEGACY_TAG = f"kubernetes.io/cluster/{OTHER_CLUSTER}"
CNI_TAG = "cluster.k8s.amazonaws.com/name"
KINDS = ("load_balancers", "target_groups", "classic_load_balancers", "security_groups", "eni")
ANY_AMI = "ami-12c6146b"
# Service names in botocore's event names, for HandlerRequests.fail().
EC2 = "ec2"
ELBV2 = "elastic-load-balancing-v2"
ELB = "elastic-load-balancing"


# --- Events as the Provider framework hands them over ---------------------------------------


def make_event(request_type: str, cluster: str = CLUSTER, vpc_id: str = "vpc-0") -> dict:
    event = {
        "RequestType": request_type,
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider-onEvent",
        "ResponseURL": "https://cloudformation-response.invalid/",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/lab-cluster/1",
        "RequestId": "4d0c2f33-request",
        "LogicalResourceId": "LoadBalancerCleanup",
        "ResourceType": "Custom::LoadBalancerCleanup",
        "ResourceProperties": {"ServiceToken": "token", "ClusterName": cluster, "VpcId": vpc_id},
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = f"lb-cleanup-{cluster}"
    if request_type == "Update":
        event["OldResourceProperties"] = dict(event["ResourceProperties"])
    return event


def framework_merge(event: dict, on_event_result: dict) -> dict:
    """What the framework hands to is_complete: the event with on_event's result over it."""
    return {**event, **on_event_result}


def run_delete(
    handler, aws, vpc_id: str, lb_interfaces: list[str], one_at_a_time: bool = False
) -> int:
    """Delete as the framework would, AWS releasing the load balancer interfaces meanwhile.

    AWS releases them all after the first wait, or one per wait. Returns how many is_complete
    calls it took.
    """
    event = make_event("Delete", vpc_id=vpc_id)
    event = framework_merge(event, handler.on_event(event, None))
    pending = list(lb_interfaces)
    for call in range(1, len(pending) + 2):
        if handler.is_complete(event, None)["IsComplete"]:
            return call
        assert pending, "is_complete kept waiting though every interface was released"
        for interface in pending[-1:] if one_at_a_time else pending:
            aws.ec2.delete_network_interface(NetworkInterfaceId=interface)
        pending = pending[:-1] if one_at_a_time else []
    pytest.fail("cleanup not complete though every interface was released")


# --- Building AWS resources ------------------------------------------------------------------


def _tags(mapping: dict[str, str]) -> list[dict]:
    return [{"Key": key, "Value": value} for key, value in mapping.items()]


def _tag_spec(resource_type: str, mapping: dict[str, str]) -> list[dict]:
    return [{"ResourceType": resource_type, "Tags": _tags(mapping)}] if mapping else []


@dataclass(frozen=True)
class Network:
    vpc_id: str
    subnets: list[str]


def create_network(aws, second_octet: int) -> Network:
    vpc_id = aws.ec2.create_vpc(CidrBlock=f"10.{second_octet}.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        aws.ec2.create_subnet(
            VpcId=vpc_id, CidrBlock=f"10.{second_octet}.{i}.0/24", AvailabilityZone=zone
        )["Subnet"]["SubnetId"]
        for i, zone in enumerate(("us-east-1a", "us-east-1b"))
    ]
    return Network(vpc_id, subnets)


def create_target_group(aws, net: Network, name: str, tags: dict[str, str]) -> str:
    return aws.elbv2.create_target_group(
        Name=name, Protocol="TCP", Port=80, VpcId=net.vpc_id, TargetType="ip", Tags=_tags(tags)
    )["TargetGroups"][0]["TargetGroupArn"]


def create_nlb(aws, net: Network, name: str, tags: dict[str, str], listeners: int = 0):
    """An NLB with `listeners` listeners, each forwarding to a target group of its own."""
    tagging = {"Tags": _tags(tags)} if tags else {}
    arn = aws.elbv2.create_load_balancer(
        Name=name, Subnets=net.subnets, Type="network", Scheme="internal", **tagging
    )["LoadBalancers"][0]["LoadBalancerArn"]
    target_groups = set()
    for port in range(80, 80 + listeners):
        group = create_target_group(aws, net, f"{name[:20]}-tg{port}", tags)
        aws.elbv2.create_listener(
            LoadBalancerArn=arn,
            Protocol="TCP",
            Port=port,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": group}],
        )
        target_groups.add(group)
    return arn, target_groups


def create_classic(aws, net: Network, name: str, tags: dict[str, str], groups=()) -> str:
    aws.elb.create_load_balancer(
        LoadBalancerName=name,
        Listeners=[{"Protocol": "TCP", "LoadBalancerPort": 80, "InstancePort": 31080}],
        Subnets=net.subnets[:1],
        SecurityGroups=list(groups),
        Tags=_tags(tags),
    )
    return name


def create_security_group(aws, net: Network, name: str, tags: dict[str, str]) -> str:
    return aws.ec2.create_security_group(
        GroupName=name,
        Description=name,
        VpcId=net.vpc_id,
        TagSpecifications=_tag_spec("security-group", tags),
    )["GroupId"]


def create_interface(aws, net: Network, description: str = "", tags=None) -> str:
    return aws.ec2.create_network_interface(
        SubnetId=net.subnets[0],
        Description=description,
        TagSpecifications=_tag_spec("network-interface", tags or {}),
    )["NetworkInterface"]["NetworkInterfaceId"]


def lb_interface_description(arn: str, name: str) -> str:
    # As AWS writes it for an NLB; moto's ARN says app/ for every type, so the type comes
    # from the scenario and only the id from the ARN.
    return f"ELB net/{name}/{arn.rsplit('/', 1)[1]}"


def group_rule(group_id: str, protocol: str, low: int, high: int) -> dict:
    return {
        "IpProtocol": protocol,
        "FromPort": low,
        "ToPort": high,
        "UserIdGroupPairs": [{"GroupId": group_id}],
    }


def vpc_state(aws, vpc_id: str) -> dict[str, set[str]]:
    """Every ID of the kinds the handler deals with in the VPC, read by the test itself."""
    in_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
    return {
        "load_balancers": {
            lb["LoadBalancerArn"]
            for lb in aws.elbv2.describe_load_balancers()["LoadBalancers"]
            if lb["VpcId"] == vpc_id
        },
        "target_groups": {
            group["TargetGroupArn"]
            for group in aws.elbv2.describe_target_groups()["TargetGroups"]
            if group["VpcId"] == vpc_id
        },
        "classic_load_balancers": {
            lb["LoadBalancerName"]
            for lb in aws.elb.describe_load_balancers()["LoadBalancerDescriptions"]
            if lb["VPCId"] == vpc_id
        },
        "security_groups": {
            group["GroupId"]
            for group in aws.ec2.describe_security_groups(Filters=in_vpc)["SecurityGroups"]
        },
        "eni": {
            eni["NetworkInterfaceId"]
            for eni in aws.ec2.describe_network_interfaces(Filters=in_vpc)["NetworkInterfaces"]
        },
    }


def rules_of(aws, group_id: str) -> tuple[list[dict], list[dict]]:
    group = aws.ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    return group["IpPermissions"], group["IpPermissionsEgress"]


def references(permissions: list[dict]) -> set[tuple]:
    return {
        (p["IpProtocol"], p.get("FromPort"), p.get("ToPort"), pair["GroupId"])
        for p in permissions
        for pair in p.get("UserIdGroupPairs", [])
    }


# --- The scenario ----------------------------------------------------------------------------


@dataclass
class Scenario:
    net: Network
    other_net: Network
    # What the controllers created for the cluster in its VPC: the handler must delete it.
    owned: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    # What must survive.
    decoys: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    # Stand for the interfaces AWS keeps for a while after deleting the cluster's load balancers.
    lb_interfaces: list[str] = field(default_factory=list)
    groups: dict[str, str] = field(default_factory=dict)


def build_scenario(aws) -> Scenario:
    s = Scenario(net=create_network(aws, 0), other_net=create_network(aws, 1))
    net, owned, decoys = s.net, s.owned, s.decoys

    # The load balancer controller's NLB: two listeners, each forwarding to a target group.
    nlb_name = "k8s-default-web-0a1b2c3d4e"
    nlb, nlb_groups = create_nlb(aws, net, nlb_name, {LBC_TAG: CLUSTER}, listeners=2)
    owned["load_balancers"].add(nlb)
    owned["target_groups"] |= nlb_groups
    s.lb_interfaces += [
        create_interface(aws, net, lb_interface_description(nlb, nlb_name)) for _ in range(2)
    ]
    # An NLB of the in-tree provider, which tags the kubernetes.io way.
    tree_name = "a8f5f167f44f4964e6c998dee827110c"
    tree_nlb, tree_groups = create_nlb(aws, net, tree_name, {LEGACY_TAG: "owned"}, listeners=1)
    owned["load_balancers"].add(tree_nlb)
    owned["target_groups"] |= tree_groups
    s.lb_interfaces.append(
        create_interface(aws, net, lb_interface_description(tree_nlb, tree_name))
    )
    # A target group of the cluster that no load balancer uses any more.
    owned["target_groups"].add(create_target_group(aws, net, "k8s-default-old", {LBC_TAG: CLUSTER}))

    # A classic ELB of the in-tree provider and its k8s-elb- security group.
    classic_name = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    legacy_sg = create_security_group(aws, net, f"k8s-elb-{classic_name}", {LEGACY_TAG: "owned"})
    owned["classic_load_balancers"].add(
        create_classic(aws, net, classic_name, {LEGACY_TAG: "owned"}, [legacy_sg])
    )
    owned["security_groups"].add(legacy_sg)
    s.lb_interfaces.append(create_interface(aws, net, f"ELB {classic_name}"))

    # The load balancer controller's frontend group and its shared backend group.
    frontend = create_security_group(
        aws,
        net,
        "k8s-default-web-5e6f7a8b9c",
        {LBC_TAG: CLUSTER, "ingress.k8s.aws/resource": "ManagedLBSecurityGroup"},
    )
    backend = create_security_group(
        aws,
        net,
        "k8s-traffic-blue-1f2e3d4c5b",
        {LBC_TAG: CLUSTER, "elbv2.k8s.aws/resource": "backend-sg"},
    )
    owned["security_groups"] |= {frontend, backend}

    # The network stack's node group, with the rules the controllers added and its own.
    node = create_security_group(aws, net, "blue-nodes", {LEGACY_TAG: "owned"})
    aws.ec2.authorize_security_group_ingress(
        GroupId=node,
        IpPermissions=[
            group_rule(backend, "tcp", 0, 65535),
            group_rule(legacy_sg, "tcp", 30000, 32767),
            group_rule(node, "-1", -1, -1),
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [{"CidrIp": "10.0.0.0/16"}],
            },
        ],
    )
    aws.ec2.authorize_security_group_egress(
        GroupId=node, IpPermissions=[group_rule(backend, "tcp", 8080, 8080)]
    )
    # The EKS cluster security group: tagged for the cluster, but EKS's, not a controller's.
    eks_sg = create_security_group(aws, net, "eks-cluster-sg-blue-123", {LEGACY_TAG: "owned"})
    decoys["security_groups"] |= {node, eks_sg}
    s.groups.update(node=node, backend=backend, frontend=frontend, legacy=legacy_sg)

    # An interface the VPC CNI left behind, detached.
    owned["eni"].add(create_interface(aws, net, "aws-K8S-i-0abc", {CNI_TAG: CLUSTER}))

    # Another cluster in the same VPC, with its own load balancer, interfaces and groups.
    green, green_groups = create_nlb(aws, net, "k8s-green-api-1a2b", {LBC_TAG: OTHER_CLUSTER}, 1)
    decoys["load_balancers"].add(green)
    decoys["target_groups"] |= green_groups
    decoys["eni"].add(
        create_interface(aws, net, lb_interface_description(green, "k8s-green-api-1a2b"))
    )
    decoys["eni"].add(create_interface(aws, net, "aws-K8S-i-0def", {CNI_TAG: OTHER_CLUSTER}))
    decoys["security_groups"].add(
        create_security_group(aws, net, "k8s-green-api-1a2b", {LBC_TAG: OTHER_CLUSTER})
    )
    decoys["security_groups"].add(
        create_security_group(aws, net, "k8s-elb-green", {OTHER_LEGACY_TAG: "owned"})
    )
    decoys["classic_load_balancers"].add(
        create_classic(aws, net, "green-classic", {OTHER_LEGACY_TAG: "owned"})
    )
    # A load balancer nobody tagged.
    decoys["load_balancers"].add(create_nlb(aws, net, "hand-made", {})[0])
    # A CNI interface of the cluster still attached to an instance.
    instance = aws.ec2.run_instances(
        ImageId=ANY_AMI, MinCount=1, MaxCount=1, SubnetId=net.subnets[0]
    )["Instances"][0]["InstanceId"]
    attached = create_interface(aws, net, "aws-K8S-i-0abc", {CNI_TAG: CLUSTER})
    aws.ec2.attach_network_interface(
        NetworkInterfaceId=attached, InstanceId=instance, DeviceIndex=1
    )
    decoys["eni"].add(attached)

    # The same cluster's tags in another VPC.
    other = s.other_net
    create_nlb(aws, other, "k8s-default-web-other", {LBC_TAG: CLUSTER}, listeners=1)
    create_classic(aws, other, "other-classic", {LEGACY_TAG: "owned"})
    create_security_group(aws, other, "k8s-elb-other", {LEGACY_TAG: "owned"})
    create_security_group(aws, other, "k8s-other-frontend", {LBC_TAG: CLUSTER})
    create_interface(aws, other, "aws-K8S-i-0other", {CNI_TAG: CLUSTER})
    return s


# --- Tests -----------------------------------------------------------------------------------


def test_delete_leaves_exactly_the_decoys_and_the_network_stack(cleanup_handler, aws, caplog):
    # GIVEN the scenario, and the state of both VPCs as the test itself reads it
    s = build_scenario(aws)
    before = vpc_state(aws, s.net.vpc_id)
    other_before = vpc_state(aws, s.other_net.vpc_id)
    for kind in KINDS:
        assert s.owned[kind] <= before[kind] and s.decoys[kind] <= before[kind]

    # WHEN the stack deletion runs the handler, AWS releasing the load balancer interfaces
    calls = run_delete(cleanup_handler, aws, s.net.vpc_id, s.lb_interfaces, one_at_a_time=True)

    # THEN only the cluster's resources are gone from its VPC, and the other VPC is untouched
    after = vpc_state(aws, s.net.vpc_id)
    expected = {kind: before[kind] - s.owned[kind] for kind in KINDS}
    expected["eni"] -= set(s.lb_interfaces)
    assert after == expected
    for kind in KINDS:
        assert s.decoys[kind] <= after[kind]
    assert vpc_state(aws, s.other_net.vpc_id) == other_before
    # AND it waited once per released interface
    assert calls == len(s.lb_interfaces) + 1
    # AND each deletion was logged on a line of its own, with its reason
    for arn in s.owned["load_balancers"]:
        assert f"deleted load balancer arn={arn} reason=tag " in caplog.text
    for arn in s.owned["target_groups"]:
        assert f"deleted target group arn={arn} reason=tag " in caplog.text
    for group in s.owned["security_groups"]:
        assert f"deleted security group {group} reason=" in caplog.text
    assert caplog.text.count("deleted listener arn=") == 3


def test_node_group_loses_only_the_rules_referencing_deleted_groups(cleanup_handler, aws):
    # GIVEN the node group, with rules referencing the backend and k8s-elb- groups
    s = build_scenario(aws)
    node, backend, legacy = s.groups["node"], s.groups["backend"], s.groups["legacy"]
    ingress_before, egress_before = rules_of(aws, node)

    # WHEN the cleanup runs
    run_delete(cleanup_handler, aws, s.net.vpc_id, s.lb_interfaces)

    # THEN the rules referencing the deleted groups are revoked, and the others remain
    ingress, egress = rules_of(aws, node)
    assert references(ingress) == {("-1", None, None, node)}
    assert references(ingress_before) == references(ingress) | {
        ("tcp", 0, 65535, backend),
        ("tcp", 30000, 32767, legacy),
    }
    assert [r["CidrIp"] for p in ingress for r in p["IpRanges"]] == ["10.0.0.0/16"]
    assert references(egress) == set()
    assert [r["CidrIp"] for p in egress for r in p["IpRanges"]] == ["0.0.0.0/0"]
    assert references(egress_before) == {("tcp", 8080, 8080, backend)}


def test_is_complete_waits_for_the_interfaces_of_deleted_load_balancers(cleanup_handler, aws):
    # GIVEN the scenario after on_event's first pass
    s = build_scenario(aws)
    event = make_event("Delete", vpc_id=s.net.vpc_id)
    event = framework_merge(event, cleanup_handler.on_event(event, None))
    assert vpc_state(aws, s.net.vpc_id)["load_balancers"] == s.decoys["load_balancers"]

    # WHEN all interfaces but one are released THEN is_complete still waits
    for interface in s.lb_interfaces[:-1]:
        assert cleanup_handler.is_complete(event, None) == {"IsComplete": False}
        aws.ec2.delete_network_interface(NetworkInterfaceId=interface)
    assert cleanup_handler.is_complete(event, None) == {"IsComplete": False}

    # WHEN the last one goes THEN it is complete, though the other cluster's interface remains
    aws.ec2.delete_network_interface(NetworkInterfaceId=s.lb_interfaces[-1])
    assert cleanup_handler.is_complete(event, None) == {"IsComplete": True}
    assert s.decoys["eni"] <= vpc_state(aws, s.net.vpc_id)["eni"]


def test_without_a_record_it_waits_for_interfaces_of_any_vanished_load_balancer(
    cleanup_handler, aws
):
    # GIVEN on_event's Data without the record of the load balancers (first pass failed)
    s = build_scenario(aws)
    event = make_event("Delete", vpc_id=s.net.vpc_id)
    event = framework_merge(event, cleanup_handler.on_event(event, None))
    del event["Data"]["LoadBalancers"]

    # WHEN is_complete runs THEN it waits for the interfaces whose load balancer is gone
    assert cleanup_handler.is_complete(event, None) == {"IsComplete": False}
    for interface in s.lb_interfaces:
        aws.ec2.delete_network_interface(NetworkInterfaceId=interface)
    # AND not for those of the other cluster's load balancer, which still exists
    assert cleanup_handler.is_complete(event, None) == {"IsComplete": True}


def test_running_delete_twice_is_harmless(cleanup_handler, aws):
    # GIVEN a VPC already cleaned up
    s = build_scenario(aws)
    run_delete(cleanup_handler, aws, s.net.vpc_id, s.lb_interfaces)
    cleaned = vpc_state(aws, s.net.vpc_id)

    # WHEN Delete runs again THEN it completes at once and changes nothing
    assert run_delete(cleanup_handler, aws, s.net.vpc_id, []) == 1
    assert vpc_state(aws, s.net.vpc_id) == cleaned


def test_more_than_twenty_load_balancers_are_read_in_batches(
    cleanup_handler, aws, handler_requests
):
    # GIVEN 23 NLBs and 21 classic ELBs of the cluster, among decoys
    net = create_network(aws, 0)
    for i in range(23):
        create_nlb(aws, net, f"k8s-default-svc{i:02d}", {LBC_TAG: CLUSTER})
    for i in range(21):
        create_classic(aws, net, f"a{i:02d}cluster", {LEGACY_TAG: "owned"})
    decoy_nlbs = {
        create_nlb(aws, net, f"k8s-green-svc{i}", {LBC_TAG: OTHER_CLUSTER})[0] for i in range(3)
    }
    decoy_nlbs.add(create_nlb(aws, net, "hand-made", {})[0])
    decoy_classics = {
        create_classic(aws, net, f"green{i}", {OTHER_LEGACY_TAG: "owned"}) for i in range(2)
    }

    # WHEN the cleanup runs
    assert run_delete(cleanup_handler, aws, net.vpc_id, []) == 1

    # THEN only the decoys remain, and no DescribeTags call named more than 20 resources
    state = vpc_state(aws, net.vpc_id)
    assert state["load_balancers"] == decoy_nlbs
    assert state["classic_load_balancers"] == decoy_classics
    assert max(handler_requests.tag_batch_sizes) == 20


def test_a_tag_batch_naming_a_vanished_load_balancer_is_read_again_one_by_one(
    cleanup_handler, aws, handler_requests
):
    # GIVEN a batch tag read that fails because one classic ELB vanished meanwhile (another
    # cluster's controller deleting its own, say)
    net = create_network(aws, 0)
    ours = {create_classic(aws, net, f"a{i}blue", {LEGACY_TAG: "owned"}) for i in range(2)}
    theirs = create_classic(aws, net, "green-classic", {OTHER_LEGACY_TAG: "owned"})
    handler_requests.fail(ELB, "DescribeTags", "LoadBalancerNotFound", times=1)

    # WHEN the cleanup runs
    assert run_delete(cleanup_handler, aws, net.vpc_id, []) == 1

    # THEN the tags were read again one load balancer at a time, and only ours are gone
    assert handler_requests.tag_batch_sizes.count(1) >= 3
    assert ours and vpc_state(aws, net.vpc_id)["classic_load_balancers"] == {theirs}


def test_a_throttled_call_is_retried(cleanup_handler, aws, handler_requests):
    # GIVEN AWS throttles the handler's third DescribeTags of the classic ELB API, the one of
    # is_complete's final listing. (Adaptive retries slow a client down for a few seconds
    # after a throttle, so a late call keeps the test short; any call would do.)
    s = build_scenario(aws)
    handler_requests.fail(ELB, "DescribeTags", "Throttling", times=1, after=2)

    # WHEN the cleanup runs
    run_delete(cleanup_handler, aws, s.net.vpc_id, s.lb_interfaces)

    # THEN the throttled call was sent again, and the cluster's resources are gone all the same
    assert handler_requests.injected[f"{ELB}.DescribeTags"] == 1
    assert handler_requests.sent[f"{ELB}.DescribeTags"] >= 4
    state = vpc_state(aws, s.net.vpc_id)
    for kind in KINDS:
        assert not s.owned[kind] & state[kind]


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_create_and_update_touch_nothing(cleanup_handler, aws, handler_requests, request_type):
    # GIVEN the scenario's resources
    s = build_scenario(aws)
    before = vpc_state(aws, s.net.vpc_id)
    event = make_event(request_type, vpc_id=s.net.vpc_id)
    if request_type == "Update":
        event["PhysicalResourceId"] = "lb-cleanup-kept-from-create"

    # WHEN the framework runs on_event and is_complete
    result = cleanup_handler.on_event(event, None)
    done = cleanup_handler.is_complete(framework_merge(event, result), None)

    # THEN the physical ID is stable, it is complete at once, and no request was sent
    expected_id = "lb-cleanup-blue" if request_type == "Create" else "lb-cleanup-kept-from-create"
    assert result == {"PhysicalResourceId": expected_id}
    assert done == {"IsComplete": True}
    assert sum(handler_requests.sent.values()) == 0
    assert vpc_state(aws, s.net.vpc_id) == before


def test_a_group_still_in_use_is_retried_on_the_next_pass(
    cleanup_handler, aws, handler_requests, caplog
):
    # GIVEN AWS refuses the first security group deletion (an interface still uses the group)
    s = build_scenario(aws)
    handler_requests.fail(EC2, "DeleteSecurityGroup", "DependencyViolation", times=1)

    # WHEN on_event makes its first pass THEN one group is skipped, not fatally
    event = make_event("Delete", vpc_id=s.net.vpc_id)
    event = framework_merge(event, cleanup_handler.on_event(event, None))
    left = s.owned["security_groups"] & vpc_state(aws, s.net.vpc_id)["security_groups"]
    assert len(left) == 1
    assert f"skipped security group {left.pop()} (in use: DependencyViolation), will retry" in (
        caplog.text
    )

    # WHEN the load balancer interfaces are released THEN the next pass deletes it
    for interface in s.lb_interfaces:
        aws.ec2.delete_network_interface(NetworkInterfaceId=interface)
    assert cleanup_handler.is_complete(event, None) == {"IsComplete": True}
    assert not s.owned["security_groups"] & vpc_state(aws, s.net.vpc_id)["security_groups"]


def test_a_permission_error_fails_the_resource(cleanup_handler, aws, handler_requests):
    # GIVEN the handler's role may not delete security groups
    s = build_scenario(aws)
    handler_requests.fail(EC2, "DeleteSecurityGroup", "UnauthorizedOperation", status=403)
    event = make_event("Delete", vpc_id=s.net.vpc_id)

    # WHEN on_event or is_complete runs THEN it raises
    with pytest.raises(ClientError, match="UnauthorizedOperation"):
        cleanup_handler.on_event(event, None)
    event["Data"] = {"StartedAt": datetime.now(UTC).isoformat()}
    with pytest.raises(ClientError, match="UnauthorizedOperation"):
        cleanup_handler.is_complete(event, None)


def test_past_the_deadline_the_error_names_every_remaining_resource(
    cleanup_handler, aws, handler_requests, monkeypatch
):
    # GIVEN AWS refuses every deletion
    s = build_scenario(aws)
    handler_requests.fail(ELBV2, "DeleteLoadBalancer", "OperationNotPermitted")
    handler_requests.fail(ELBV2, "DeleteTargetGroup", "ResourceInUse")
    handler_requests.fail(ELB, "DeleteLoadBalancer", "OperationNotPermitted")
    handler_requests.fail(EC2, "DeleteSecurityGroup", "DependencyViolation")
    handler_requests.fail(EC2, "DeleteNetworkInterface", "InvalidNetworkInterface.InUse")
    monkeypatch.setenv("CLEANUP_TIMEOUT_MINUTES", "25")
    event = make_event("Delete", vpc_id=s.net.vpc_id)
    event = framework_merge(event, cleanup_handler.on_event(event, None))

    # WHEN is_complete runs before the deadline THEN it waits
    assert cleanup_handler.is_complete(event, None) == {"IsComplete": False}

    # WHEN it runs 26 minutes after the start THEN it raises, naming every remaining resource
    started = datetime.now(UTC) - timedelta(minutes=26)
    event["Data"]["StartedAt"] = started.isoformat(timespec="seconds")
    with pytest.raises(cleanup_handler.CleanupTimeoutError) as raised:
        cleanup_handler.is_complete(event, None)
    remaining = {ident for kind in KINDS for ident in s.owned[kind]} | set(s.lb_interfaces)
    assert [i for i in remaining if i not in str(raised.value)] == []
    decoys = {ident for kind in KINDS for ident in s.decoys[kind]}
    assert [i for i in decoys if i in str(raised.value)] == []


def test_a_tiny_timeout_fails_on_interfaces_not_yet_released(cleanup_handler, aws, monkeypatch):
    # GIVEN a timeout of zero minutes, and load balancer interfaces AWS has not released
    s = build_scenario(aws)
    monkeypatch.setenv("CLEANUP_TIMEOUT_MINUTES", "0")
    event = make_event("Delete", vpc_id=s.net.vpc_id)
    event = framework_merge(event, cleanup_handler.on_event(event, None))

    # WHEN is_complete runs THEN its error names those interfaces
    with pytest.raises(cleanup_handler.CleanupTimeoutError, match="load balancer network") as e:
        cleanup_handler.is_complete(event, None)
    assert all(interface in str(e.value) for interface in s.lb_interfaces)


@pytest.mark.parametrize(
    "properties", [{"ClusterName": "", "VpcId": "vpc-1"}, {"ClusterName": "x"}]
)
def test_missing_scope_is_refused_before_any_request(
    cleanup_handler, aws, handler_requests, properties
):
    # GIVEN a Delete without a cluster name or VPC, which would widen every match
    event = make_event("Delete")
    event["ResourceProperties"] = properties

    # WHEN on_event runs THEN it refuses without sending anything
    with pytest.raises(ValueError, match="ClusterName and VpcId"):
        cleanup_handler.on_event(event, None)
    assert sum(handler_requests.sent.values()) == 0


def test_handler_logs_at_info_level(cleanup_handler):
    # The Lambda runtime's root logger passes WARNING and up only; the handler's own logger
    # must let its INFO lines through.
    assert logging.getLogger(cleanup_handler.__name__).getEffectiveLevel() == logging.INFO
