"""The load balancer cleanup handler, run against a real moto server.

moto creates no network interfaces for load balancers and enforces no dependency between
security groups, so the scenario creates the interfaces that AWS keeps for a while after
deleting a load balancer (description "ELB net/<name>/<id>", "ELB <name>"), and the tests
delete them, playing AWS releasing them, between is_complete calls. The cluster is created
with moto's EKS where a test needs it to exist. Refusals by AWS (in use, throttled, denied)
and answers moto cannot give (a cluster being deleted) are injected into the handler's own
requests with botocore event hooks.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

CLUSTER = "blue"
OTHER_CLUSTER = "green"
LBC_TAG = "elbv2.k8s.aws/cluster"
LEGACY_TAG = f"kubernetes.io/cluster/{CLUSTER}"
OTHER_LEGACY_TAG = f"kubernetes.io/cluster/{OTHER_CLUSTER}"
CNI_TAG = "cluster.k8s.amazonaws.com/name"
EKS_TAG = "aws:eks:cluster-name"
KINDS = ("load_balancers", "target_groups", "classic_load_balancers", "security_groups", "eni")
ANY_AMI = "ami-12c6146b"
# Service names in botocore's event names, for HandlerRequests.fail().
EC2 = "ec2"
ELBV2 = "elastic-load-balancing-v2"
ELB = "elastic-load-balancing"
EKS = "eks"


# --- Events as the Provider framework hands them over ---------------------------------------

# The function's environment as the construct sets it: the scope of the events the test
# makes (make_event), undone after each test.
_ENVIRONMENT: pytest.MonkeyPatch | None = None


@pytest.fixture(autouse=True)
def function_environment(monkeypatch):
    global _ENVIRONMENT
    _ENVIRONMENT = monkeypatch
    yield monkeypatch
    _ENVIRONMENT = None


def make_event(request_type: str, cluster: str = CLUSTER, vpc_id: str = "vpc-0") -> dict:
    """An event for the function of `cluster` and `vpc_id` (its environment says so)."""
    if _ENVIRONMENT is not None:
        _ENVIRONMENT.setenv("LAB_CLUSTER_NAME", cluster)
        _ENVIRONMENT.setenv("LAB_VPC_ID", vpc_id)
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
        event["PhysicalResourceId"] = f"lb-cleanup/{cluster}/{vpc_id}"
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


def create_interface(aws, net: Network, description: str = "", tags=None, groups=()) -> str:
    grouping = {"Groups": list(groups)} if groups else {}
    return aws.ec2.create_network_interface(
        SubnetId=net.subnets[0],
        Description=description,
        TagSpecifications=_tag_spec("network-interface", tags or {}),
        **grouping,
    )["NetworkInterface"]["NetworkInterfaceId"]


def create_cluster(aws, net: Network, name: str = CLUSTER) -> None:
    aws.eks.create_cluster(
        name=name,
        roleArn="arn:aws:iam::123456789012:role/eks-cluster",
        resourcesVpcConfig={"subnetIds": net.subnets},
    )


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

    # The cluster security group that EKS could not delete (an interface below used it).
    cluster_sg = create_security_group(
        aws, net, "eks-cluster-sg-blue-123", {LEGACY_TAG: "owned", EKS_TAG: CLUSTER}
    )
    owned["security_groups"].add(cluster_sg)

    # A group of the network stack, with the rules the controllers added and its own, and
    # one referencing the cluster security group.
    node = create_security_group(aws, net, "blue-nodes", {LEGACY_TAG: "owned"})
    aws.ec2.authorize_security_group_ingress(
        GroupId=node,
        IpPermissions=[
            group_rule(backend, "tcp", 0, 65535),
            group_rule(legacy_sg, "tcp", 30000, 32767),
            group_rule(cluster_sg, "tcp", 443, 443),
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
    decoys["security_groups"].add(node)
    s.groups.update(
        node=node, backend=backend, frontend=frontend, legacy=legacy_sg, cluster=cluster_sg
    )

    # Interfaces the VPC CNI left behind, detached: one tagged (CLUSTER_NAME set), one as
    # EKS's aws-node leaves them, untagged in the cluster security group.
    owned["eni"].add(create_interface(aws, net, "aws-K8S-i-0abc", {CNI_TAG: CLUSTER}))
    owned["eni"].add(create_interface(aws, net, "aws-K8S-i-0abc", groups=[cluster_sg]))
    # Untagged aws-K8S- interfaces in a group that is not the cluster's: not provably ours.
    decoys["eni"].add(create_interface(aws, net, "aws-K8S-i-0fed", groups=[node]))

    # What someone else owns and only shares with the cluster: must survive.
    shared = {LEGACY_TAG: "shared"}
    shared_nlb, shared_groups = create_nlb(aws, net, "shared-nlb", shared, listeners=1)
    decoys["load_balancers"].add(shared_nlb)
    decoys["target_groups"] |= shared_groups
    decoys["classic_load_balancers"].add(create_classic(aws, net, "shared-classic", shared))
    decoys["security_groups"].add(create_security_group(aws, net, "k8s-elb-shared", shared))

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
    green_sg = create_security_group(aws, net, "eks-cluster-sg-green-9", {EKS_TAG: OTHER_CLUSTER})
    decoys["security_groups"].add(green_sg)
    decoys["eni"].add(create_interface(aws, net, "aws-K8S-i-0green", groups=[green_sg]))
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
    other_cluster_sg = create_security_group(
        aws, other, "eks-cluster-sg-blue-x", {EKS_TAG: CLUSTER}
    )
    create_interface(aws, other, "aws-K8S-i-0other", groups=[other_cluster_sg])
    return s


def build_small_scenario(aws) -> Scenario:
    """One NLB of the cluster with a listener, its interface and a frontend group, a leaked
    CNI interface, and another cluster's NLB: enough where a test is about when and how
    much the handler does, not about which resources it picks."""
    s = Scenario(net=create_network(aws, 0), other_net=create_network(aws, 1))
    name = "k8s-default-web-0a1b2c3d4e"
    nlb, groups = create_nlb(aws, s.net, name, {LBC_TAG: CLUSTER}, listeners=1)
    s.owned["load_balancers"].add(nlb)
    s.owned["target_groups"] |= groups
    s.lb_interfaces.append(create_interface(aws, s.net, lb_interface_description(nlb, name)))
    frontend = create_security_group(aws, s.net, "k8s-default-web-5e6f7a8b9c", {LBC_TAG: CLUSTER})
    s.owned["security_groups"].add(frontend)
    s.owned["eni"].add(create_interface(aws, s.net, "aws-K8S-i-0abc", {CNI_TAG: CLUSTER}))
    green, green_groups = create_nlb(aws, s.net, "k8s-green-api-1a2b", {LBC_TAG: OTHER_CLUSTER}, 1)
    s.decoys["load_balancers"].add(green)
    s.decoys["target_groups"] |= green_groups
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
    for interface in s.owned["eni"]:
        assert f"deleted network interface {interface} reason=available, " in caplog.text
    assert f"deleted security group {s.groups['cluster']} reason=tag {EKS_TAG}={CLUSTER}" in (
        caplog.text
    )


def test_node_group_loses_only_the_rules_referencing_deleted_groups(cleanup_handler, aws):
    # GIVEN the node group, with rules referencing the backend, k8s-elb- and cluster groups
    s = build_scenario(aws)
    node, backend, legacy = s.groups["node"], s.groups["backend"], s.groups["legacy"]
    cluster_sg = s.groups["cluster"]
    ingress_before, egress_before = rules_of(aws, node)

    # WHEN the cleanup runs
    run_delete(cleanup_handler, aws, s.net.vpc_id, s.lb_interfaces)

    # THEN the rules referencing the deleted groups are revoked, and the others remain
    ingress, egress = rules_of(aws, node)
    assert references(ingress) == {("-1", None, None, node)}
    assert references(ingress_before) == references(ingress) | {
        ("tcp", 0, 65535, backend),
        ("tcp", 30000, 32767, legacy),
        ("tcp", 443, 443, cluster_sg),
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
    s = build_small_scenario(aws)
    before = vpc_state(aws, s.net.vpc_id)
    event = make_event(request_type, vpc_id=s.net.vpc_id)

    # WHEN the framework runs on_event and is_complete
    result = cleanup_handler.on_event(event, None)
    done = cleanup_handler.is_complete(framework_merge(event, result), None)

    # THEN the physical ID names the scope and stays, it is complete at once, and no request
    # was sent
    assert result == {"PhysicalResourceId": f"lb-cleanup/{CLUSTER}/{s.net.vpc_id}"}
    assert done == {"IsComplete": True}
    assert sum(handler_requests.sent.values()) == 0
    assert vpc_state(aws, s.net.vpc_id) == before


def test_a_group_still_in_use_is_retried_on_the_next_pass(
    cleanup_handler, aws, handler_requests, caplog
):
    # GIVEN AWS refuses the first security group deletion (an interface still uses the group)
    s = build_small_scenario(aws)
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
    s = build_small_scenario(aws)
    handler_requests.fail(EC2, "DeleteSecurityGroup", "UnauthorizedOperation", status=403)
    event = make_event("Delete", vpc_id=s.net.vpc_id)

    # WHEN on_event or is_complete runs THEN it raises
    with pytest.raises(cleanup_handler.CleanupError, match="UnauthorizedOperation"):
        cleanup_handler.on_event(event, None)
    event["Data"] = {"StartedAt": datetime.now(UTC).isoformat()}
    with pytest.raises(cleanup_handler.CleanupError, match="UnauthorizedOperation"):
        cleanup_handler.is_complete(event, None)


def test_past_the_deadline_the_error_names_every_remaining_resource(
    cleanup_handler, aws, handler_requests, monkeypatch, caplog
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
    with pytest.raises(cleanup_handler.CleanupError, match="timed out") as raised:
        cleanup_handler.is_complete(event, None)
    # AND the log names every remaining resource and no decoy (the error message itself is
    # capped to fit CloudFormation's response)
    (logged,) = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    remaining = {ident for kind in KINDS for ident in s.owned[kind]} | set(s.lb_interfaces)
    assert [i for i in remaining if i not in logged] == []
    decoys = {ident for kind in KINDS for ident in s.decoys[kind]}
    assert [i for i in decoys if i in logged] == []
    assert str(raised.value) == logged or "truncated" in str(raised.value)


def test_a_tiny_timeout_fails_on_interfaces_not_yet_released(cleanup_handler, aws, monkeypatch):
    # GIVEN a timeout of zero minutes, and load balancer interfaces AWS has not released
    s = build_small_scenario(aws)
    monkeypatch.setenv("CLEANUP_TIMEOUT_MINUTES", "0")
    event = make_event("Delete", vpc_id=s.net.vpc_id)
    event = framework_merge(event, cleanup_handler.on_event(event, None))

    # WHEN is_complete runs THEN its error names those interfaces
    with pytest.raises(cleanup_handler.CleanupError, match="load balancer network") as e:
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
    with pytest.raises(cleanup_handler.CleanupError, match="ClusterName and VpcId"):
        cleanup_handler.on_event(event, None)
    assert sum(handler_requests.sent.values()) == 0


def test_its_info_lines_pass_the_lambda_runtime_s_warning_level(cleanup_handler, aws, caplog):
    # GIVEN the root logger at WARNING, as the Lambda runtime sets it
    s = build_small_scenario(aws)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)
    try:
        # WHEN a Delete runs
        cleanup_handler.on_event(make_event("Delete", vpc_id=s.net.vpc_id), None)
    finally:
        root.setLevel(level)

    # THEN the INFO lines of the entry point and of the deletions are in the log
    assert f"cleanup of cluster {CLUSTER} in {s.net.vpc_id} requested" in caplog.text
    (load_balancer,) = s.owned["load_balancers"]
    assert f"deleted load balancer arn={load_balancer} " in caplog.text


# --- A Delete that is not the lab's removal --------------------------------------------------


@pytest.mark.parametrize("step", ["on_event", "is_complete"])
def test_a_delete_while_the_cluster_exists_deletes_nothing_and_completes(
    cleanup_handler, aws, handler_requests, caplog, step
):
    # GIVEN the scenario while its cluster still exists (an update that added the resource
    # rolled back, or the resource was replaced)
    s = build_small_scenario(aws)
    create_cluster(aws, s.net)
    before = vpc_state(aws, s.net.vpc_id)
    event = make_event("Delete", vpc_id=s.net.vpc_id)

    # WHEN the framework runs on_event, then is_complete
    event = framework_merge(event, cleanup_handler.on_event(event, None))
    done = cleanup_handler.is_complete(event, None)

    # THEN it is complete at once, asked EKS only, deleted nothing and said why
    assert done == {"IsComplete": True}
    assert set(handler_requests.sent) == {f"{EKS}.DescribeCluster"}
    assert vpc_state(aws, s.net.vpc_id) == before
    assert f"cluster {CLUSTER} exists (status ACTIVE)" in caplog.text
    assert "deleted nothing" in caplog.text


def test_while_the_cluster_is_being_deleted_it_waits_then_runs(
    cleanup_handler, aws, handler_requests, monkeypatch
):
    # GIVEN EKS reports the cluster DELETING for the first two questions, then not at all
    s = build_small_scenario(aws)
    deleting = {"cluster": {"name": CLUSTER, "status": "DELETING"}}
    handler_requests.respond(EKS, "DescribeCluster", deleting, times=2)
    before = vpc_state(aws, s.net.vpc_id)
    event = make_event("Delete", vpc_id=s.net.vpc_id)

    # WHEN on_event and the first is_complete run THEN nothing is deleted and it waits
    event = framework_merge(event, cleanup_handler.on_event(event, None))
    assert cleanup_handler.is_complete(event, None) == {"IsComplete": False}
    assert vpc_state(aws, s.net.vpc_id) == before

    # WHEN EKS no longer knows the cluster THEN the cleanup runs
    assert cleanup_handler.is_complete(event, None) == {"IsComplete": False}
    state = vpc_state(aws, s.net.vpc_id)
    assert not s.owned["load_balancers"] & state["load_balancers"]


def test_a_cluster_deleting_past_the_deadline_fails_naming_it(
    cleanup_handler, aws, handler_requests
):
    # GIVEN a Delete that started 26 minutes ago, the cluster still DELETING
    s = build_small_scenario(aws)
    handler_requests.respond(EKS, "DescribeCluster", {"cluster": {"status": "DELETING"}})
    event = make_event("Delete", vpc_id=s.net.vpc_id)
    started = datetime.now(UTC) - timedelta(minutes=26)
    event["Data"] = {"StartedAt": started.isoformat(timespec="seconds")}

    # WHEN is_complete runs THEN it fails, saying so
    with pytest.raises(cleanup_handler.CleanupError, match=f"cluster {CLUSTER} is still being"):
        cleanup_handler.is_complete(event, None)


def test_the_eks_question_is_scoped_to_the_cluster_and_a_denial_fails(
    cleanup_handler, aws, handler_requests
):
    # GIVEN the role may not describe the cluster
    s = build_small_scenario(aws)
    handler_requests.fail(EKS, "DescribeCluster", "AccessDeniedException", status=403)
    before = vpc_state(aws, s.net.vpc_id)

    # WHEN the Delete starts THEN it fails without deleting anything: a cluster it cannot see
    # may be live
    with pytest.raises(cleanup_handler.CleanupError, match="AccessDeniedException"):
        cleanup_handler.on_event(make_event("Delete", vpc_id=s.net.vpc_id), None)
    assert vpc_state(aws, s.net.vpc_id) == before


# --- Updates: the scope never moves ----------------------------------------------------------


@pytest.mark.parametrize(
    "changed", [{"ClusterName": "renamed"}, {"VpcId": "vpc-0another"}], ids=["cluster", "vpc"]
)
def test_an_update_that_moves_the_scope_is_refused(cleanup_handler, aws, handler_requests, changed):
    # GIVEN an Update whose new properties name another cluster or VPC
    event = make_event("Update", vpc_id="vpc-0lab")
    event["ResourceProperties"] = {**event["ResourceProperties"], **changed}

    # WHEN on_event runs THEN it refuses, naming both scopes and what to do, and asks no one
    with pytest.raises(cleanup_handler.ScopeChangeRefused) as refused:
        cleanup_handler.on_event(event, None)
    message = str(refused.value)
    assert f"cluster {CLUSTER} in vpc-0lab" in message
    assert "make destroy" in message
    assert sum(handler_requests.sent.values()) == 0


def test_the_rollback_of_a_refused_update_is_accepted(cleanup_handler, aws, handler_requests):
    # GIVEN the rollback of a refused rename: the physical ID still names the old scope, and
    # CloudFormation sends the old properties back
    event = make_event("Update", vpc_id="vpc-0lab")
    event["OldResourceProperties"] = {**event["ResourceProperties"], "ClusterName": "renamed"}

    # WHEN on_event runs THEN the physical ID stays
    result = cleanup_handler.on_event(event, None)
    assert result == {"PhysicalResourceId": f"lb-cleanup/{CLUSTER}/vpc-0lab"}


# --- Time and size budgets -------------------------------------------------------------------


def test_a_pass_that_runs_out_of_time_returns_not_complete_and_the_next_one_finishes(
    cleanup_handler, aws, handler_requests, context_for
):
    # GIVEN the scenario, on_event already run, and AWS having released the LB interfaces
    s = build_small_scenario(aws)
    event = make_event("Delete", vpc_id=s.net.vpc_id)
    event = framework_merge(event, cleanup_handler.on_event(event, None))
    handler_requests.sent.clear()

    # WHEN is_complete gets time for only 3 requests
    short = context_for(requests=3)
    assert cleanup_handler.is_complete(event, short) == {"IsComplete": False}

    # THEN it stopped before a fourth request instead of running into the Lambda's timeout
    assert sum(handler_requests.sent.values()) == 3
    # AND the next invocation, with time enough, finishes
    for interface in s.lb_interfaces:
        aws.ec2.delete_network_interface(NetworkInterfaceId=interface)
    assert cleanup_handler.is_complete(event, context_for(requests=10_000)) == {"IsComplete": True}
    state = vpc_state(aws, s.net.vpc_id)
    for kind in KINDS:
        assert not s.owned[kind] & state[kind]


def test_on_event_out_of_time_leaves_the_work_to_is_complete(cleanup_handler, aws, context_for):
    # GIVEN on_event with time for 2 requests only (the EKS question and one listing)
    s = build_small_scenario(aws)
    event = make_event("Delete", vpc_id=s.net.vpc_id)

    # WHEN it runs THEN it returns normally, with no record of load balancers
    result = cleanup_handler.on_event(event, context_for(requests=2))
    assert set(result["Data"]) == {"StartedAt"}
    # AND is_complete then does the work, waiting for the load balancers' interfaces
    event = framework_merge(event, result)
    assert cleanup_handler.is_complete(event, None) == {"IsComplete": False}
    for interface in s.lb_interfaces:
        aws.ec2.delete_network_interface(NetworkInterfaceId=interface)
    assert cleanup_handler.is_complete(event, None) == {"IsComplete": True}


def framework_failure_body(handler, event: dict, message: str) -> bytes:
    """The response the provider framework PUTs to CloudFormation when a handler raises
    (cfn-response.js submitResponse with safeHandler's reason = the error's stack; the stack
    of framework.js invokeUserFunction's Error is Node's: "Error: " + message, then up to
    Error.stackTraceLimit = 10 frames). Sizes are the largest the lab can produce."""
    function_name = "BookinfoLab-Network-LoadBalancerCleanupIsComple-" + "A" * 16  # 64 chars
    error_message = "\n".join([message, "", f"Logs: /aws/lambda/{function_name}", ""])
    frames = [
        f"    at async Runtime.handler (/var/task/framework.js:1:{12345 + i}) "
        "[/var/runtime/node_modules/runtime/index.mjs]"
        for i in range(10)
    ]
    reason = "\n".join([f"Error: {error_message}", *frames])
    body = {
        "Status": "FAILED",
        "Reason": reason,
        "StackId": "arn:aws-us-gov:cloudformation:ap-southeast-2:123456789012:stack/"
        + "S" * 128
        + "/01234567-89ab-cdef-0123-456789abcdef",
        "RequestId": "01234567-89ab-cdef-0123-456789abcdef",
        "PhysicalResourceId": event["PhysicalResourceId"],
        "LogicalResourceId": "LoadBalancerCleanup" + "L" * 36,
        "Data": event.get("Data"),
    }
    return json.dumps(body).encode()


def test_the_largest_failure_fits_cloudformation_s_response_limit(cleanup_asset):
    # GIVEN the longest cluster name, Data with the largest record of load balancers, and a
    # failure naming far more leftovers than fit
    cleanup_handler, kinds = cleanup_asset.handler, cleanup_asset.cleanup_contract
    cluster = "c" * 100
    event = make_event("Delete", cluster=cluster, vpc_id="vpc-0123456789abcdef0")
    names = [f"k8s-default-svc{i:05d}-{'x' * 10}" for i in range(200)]
    recorded = ""
    for name in names:
        candidate = f"{recorded},elbv2/{name}".lstrip(",")
        data = {"StartedAt": "2026-11-29T10:00:00+00:00", "LoadBalancers": candidate}
        if len(json.dumps(data)) > cleanup_handler.MAX_DATA_BYTES:
            break
        recorded = candidate
    event["Data"] = {"StartedAt": "2026-11-29T10:00:00+00:00", "LoadBalancers": recorded}
    arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/{}/0"
    leftovers = cleanup_asset.leftover_kinds.Leftovers(
        {
            kinds.LOAD_BALANCERS: [arn.format(name) for name in names],
            kinds.GUARDDUTY_RESOURCES: ["vpce-0123456789abcdef0", "sg-0123456789abcdef0"],
        }
    )
    scope = cleanup_handler.Scope(cluster=cluster, vpc_id="vpc-0123456789abcdef0")
    message = cleanup_handler.cap_message(cleanup_handler._timeout_message(scope, leftovers, None))

    # WHEN the framework answers CloudFormation THEN the response fits in 4096 bytes
    body = framework_failure_body(cleanup_handler, event, message)
    assert len(body) <= 4096, len(body)
    # AND the message says it was cut and where the rest is
    assert message.endswith("(truncated; the full list is in the log)")
    # AND a short message is left as it is
    assert cleanup_handler.cap_message("short") == "short"


def test_every_raised_error_is_capped(cleanup_handler, aws, handler_requests):
    # GIVEN an AWS refusal with a huge message (EC2 appends an encoded authorization message)
    s = build_small_scenario(aws)
    huge = "Encoded authorization failure message: " + "Z" * 5000
    handler_requests.fail(
        EC2, "DescribeSecurityGroups", "UnauthorizedOperation", status=403, message=huge
    )

    # WHEN on_event fails THEN its message fits the budget
    with pytest.raises(cleanup_handler.CleanupError) as raised:
        cleanup_handler.on_event(make_event("Delete", vpc_id=s.net.vpc_id), None)
    assert "UnauthorizedOperation" in str(raised.value)
    assert len(json.dumps(str(raised.value))) <= cleanup_handler.MAX_MESSAGE_BYTES


# --- What is not the lab's -------------------------------------------------------------------


def test_guardduty_resources_are_named_not_deleted(cleanup_handler, aws, handler_requests):
    # GIVEN GuardDuty Runtime Monitoring's endpoint and security group in the lab's VPC
    s = build_small_scenario(aws)
    group = create_security_group(aws, s.net, f"GuardDutyManagedSecurityGroup-{s.net.vpc_id}", {})
    endpoint = aws.ec2.create_vpc_endpoint(
        VpcId=s.net.vpc_id,
        ServiceName="com.amazonaws.us-east-1.guardduty-data",
        VpcEndpointType="Interface",
        SubnetIds=s.net.subnets[:1],
        SecurityGroupIds=[group],
    )["VpcEndpoint"]["VpcEndpointId"]

    # WHEN the cleanup has removed everything of the lab's THEN it fails, naming both
    event = make_event("Delete", vpc_id=s.net.vpc_id)
    event = framework_merge(event, cleanup_handler.on_event(event, None))
    for interface in s.lb_interfaces:
        aws.ec2.delete_network_interface(NetworkInterfaceId=interface)
    with pytest.raises(cleanup_handler.CleanupError) as raised:
        cleanup_handler.is_complete(event, None)
    assert endpoint in str(raised.value) and group in str(raised.value)
    assert "GuardDuty" in str(raised.value) and "make destroy" in str(raised.value)
    # AND they are still there, while the lab's resources are gone
    state = vpc_state(aws, s.net.vpc_id)
    assert group in state["security_groups"]
    endpoints = aws.ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint])["VpcEndpoints"]
    assert endpoints and endpoints[0]["State"].lower() == "available"
    for kind in KINDS:
        assert not s.owned[kind] & state[kind]


# --- The table of leftover kinds -------------------------------------------------------------

# How IAM names the actions of botocore's services.
IAM_SERVICE = {EC2: "ec2", ELBV2: "elasticloadbalancing", ELB: "elasticloadbalancing", EKS: "eks"}


def iam_actions(sent) -> set[str]:
    """The IAM actions of the requests HandlerRequests counted ("<service>.<Operation>")."""
    return {
        f"{IAM_SERVICE[service]}:{operation}"
        for service, operation in (key.split(".") for key in sent)
    }


def test_each_kind_sends_only_the_requests_its_table_entry_declares(
    cleanup_asset, aws, handler_requests
):
    # GIVEN the scenario, its cluster gone, and the handler's clients
    s = build_scenario(aws)
    kinds = cleanup_asset.leftover_kinds
    scope = kinds.Scope(cluster=CLUSTER, vpc_id=s.net.vpc_id)
    clients = cleanup_asset.aws_calls.clients_for(None)

    for kind, code in kinds.TABLE:
        # WHEN the kind's finder runs, on its own
        here = kinds.Pass(clients, scope)
        handler_requests.sent.clear()
        found = code.find(here)
        # THEN it sent exactly the reads its entry declares (and so the policy grants)
        assert iam_actions(handler_requests.sent) == set(kind.reads), kind.label
        if code.delete is None:
            continue
        # WHEN its deleter runs on what it found
        assert found, f"the scenario has no {kind.label}"
        handler_requests.sent.clear()
        for resource in found:
            code.delete(here, resource)
        # THEN it sent only what its entry declares
        sent = iam_actions(handler_requests.sent)
        assert sent and sent <= set(kind.deletes), kind.label


def test_the_inventory_lists_every_kind_of_the_table_and_names_the_labs(cleanup_asset, aws):
    # GIVEN the small scenario before any cleanup
    s = build_small_scenario(aws)
    kinds = cleanup_asset.leftover_kinds
    scope = kinds.Scope(cluster=CLUSTER, vpc_id=s.net.vpc_id)

    # WHEN the inventory is taken
    leftovers = kinds.inventory(cleanup_asset.aws_calls.clients_for(None), scope, None)

    # THEN it has an entry for every kind of the table, in the table's order
    assert list(leftovers.ids) == list(cleanup_asset.cleanup_contract.KINDS)
    # AND its description names the cluster's resources kind by kind, in the pass's order
    ((lb,), (tg,)) = s.owned["load_balancers"], s.owned["target_groups"]
    ((group,), (interface,)) = s.owned["security_groups"], s.owned["eni"]
    assert leftovers.describe() == (
        f"load balancers: {lb}; target groups: {tg}; security groups: {group}; "
        f"CNI network interfaces: {interface}"
    )


def test_a_load_balancer_with_deletion_protection_stops_the_cleanup_at_once(
    cleanup_handler, aws, handler_requests
):
    # GIVEN the cluster's NLB has deletion protection on (a learner's Service can set it)
    s = build_small_scenario(aws)
    (nlb,) = s.owned["load_balancers"]
    handler_requests.fail(
        ELBV2,
        "DeleteLoadBalancer",
        "OperationNotPermitted",
        message=f"Load balancer '{nlb}' cannot be deleted because deletion protection is enabled",
    )
    event = make_event("Delete", vpc_id=s.net.vpc_id)
    # WHEN the cleanup runs THEN it fails at once, naming the load balancer and the way out
    with pytest.raises(cleanup_handler.CleanupError) as raised:
        cleanup_handler.on_event(event, None)
    message = str(raised.value)
    assert message.startswith(f"load balancer {nlb} has deletion protection on")
    assert (
        f"aws elbv2 modify-load-balancer-attributes --load-balancer-arn {nlb} --attributes "
        "Key=deletion_protection.enabled,Value=false" in message
    )


def test_another_refusal_of_a_delete_is_still_retried(cleanup_handler, aws, handler_requests):
    s = build_small_scenario(aws)
    handler_requests.fail(ELBV2, "DeleteLoadBalancer", "OperationNotPermitted", times=1)
    event = make_event("Delete", vpc_id=s.net.vpc_id)
    cleanup_handler.on_event(event, None)  # no error: a later pass tries again


# --- The function's own scope ----------------------------------------------------------------


@pytest.mark.parametrize("request_type", ["Create", "Delete"])
@pytest.mark.parametrize(
    "names", [{"ClusterName": OTHER_CLUSTER}, {"VpcId": "vpc-0another"}], ids=["cluster", "vpc"]
)
def test_an_event_for_another_scope_is_refused_before_any_request(
    cleanup_handler, aws, handler_requests, request_type, names
):
    # GIVEN the function of cluster blue in vpc-0lab, and an event naming another scope
    event = make_event(request_type, vpc_id="vpc-0lab")
    event["ResourceProperties"] = {**event["ResourceProperties"], **names}
    # WHEN either entry point gets it THEN it is refused, naming both, and AWS is not asked
    for entry_point in (cleanup_handler.on_event, cleanup_handler.is_complete):
        if entry_point is cleanup_handler.is_complete and request_type != "Delete":
            continue
        with pytest.raises(cleanup_handler.OutOfScope) as refused:
            entry_point(event, None)
        assert f"cleans up for cluster {CLUSTER} in vpc-0lab only" in str(refused.value)
    assert sum(handler_requests.sent.values()) == 0


def test_a_function_without_its_scope_refuses(cleanup_handler, aws, function_environment):
    event = make_event("Delete", vpc_id="vpc-0lab")
    function_environment.delenv("LAB_VPC_ID")
    with pytest.raises(cleanup_handler.OutOfScope, match="has no LAB_CLUSTER_NAME and LAB_VPC_ID"):
        cleanup_handler.on_event(event, None)
