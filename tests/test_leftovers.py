"""`make leftovers` against a moto server: what a destroy left of the lab is listed with the
command that deletes it, by the cleanup's own table of kinds; another cluster's resources and
`shared`-tagged ones never are."""

from __future__ import annotations

import yaml

from plan import facts
from scripts import leftovers

LAB = "bookinfo-lab"
OTHER = "someone-else"
ACCOUNT = "123456789012"
REGION = "us-east-1"
LAB_ARN = f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{LAB}"
NETWORK, CLUSTER = facts.DEFAULT_STACKS.all()


def tags(**pairs: str) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in pairs.items()]


def lab_vpc(session, network_stack: str = NETWORK, second: int = 0) -> tuple[str, list[str]]:
    ec2 = session.client("ec2")
    vpc = ec2.create_vpc(
        CidrBlock=f"10.{second}.0.0/16",
        TagSpecifications=[
            {"ResourceType": "vpc", "Tags": tags(**{leftovers.STACK_NAME_TAG: network_stack})}
        ],
    )["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(
            VpcId=vpc, CidrBlock=f"10.{second}.{i}.0/24", AvailabilityZone=f"{REGION}{z}"
        )["Subnet"]["SubnetId"]
        for i, z in ((1, "a"), (2, "b"))
    ]
    return vpc, subnets


def nlb(session, name: str, subnets: list[str], cluster_tag: dict[str, str]) -> str:
    elbv2 = session.client("elbv2")
    return elbv2.create_load_balancer(
        Name=name, Subnets=subnets, Type="network", Tags=tags(**cluster_tag)
    )["LoadBalancers"][0]["LoadBalancerArn"]


def test_a_clean_account_has_nothing_left(moto_session, tmp_path):
    assert leftovers.scan(LAB, moto_session, [tmp_path / "config"]) == []


def test_what_a_failed_destroy_left_is_listed_with_its_command(moto_session, tmp_path):
    vpc, subnets = lab_vpc(moto_session)
    ours = nlb(moto_session, "k8s-istiosys-ingress", subnets, {"elbv2.k8s.aws/cluster": LAB})
    # Decoys: another cluster's load balancer, a group another owner shares with the lab.
    nlb(moto_session, "k8s-other-ingress", subnets, {"elbv2.k8s.aws/cluster": OTHER})
    moto_session.client("ec2").create_security_group(
        GroupName="k8s-elb-shared", Description="shared", VpcId=vpc,
        TagSpecifications=[{"ResourceType": "security-group",
                            "Tags": tags(**{f"kubernetes.io/cluster/{LAB}": "shared"})}],
    )  # fmt: skip
    logs = moto_session.client("logs")
    logs.create_log_group(logGroupName=f"{CLUSTER}-ClusterTasksLogs-ABC")
    logs.create_log_group(logGroupName="SomeOtherApp-Logs")
    moto_session.client("eks").create_cluster(
        name=LAB, roleArn=f"arn:aws:iam::{ACCOUNT}:role/eks",
        resourcesVpcConfig={"subnetIds": subnets},
    )  # fmt: skip
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(yaml.safe_dump({
        "contexts": [{"name": LAB_ARN, "context": {"cluster": LAB_ARN, "user": LAB_ARN}},
                     {"name": "kind-dev", "context": {"cluster": "kind-dev", "user": "kind"}}],
        "clusters": [{"name": LAB_ARN, "cluster": {"server": "https://x"}}],
        "users": [{"name": LAB_ARN, "user": {}}],
    }))  # fmt: skip

    lines = [f.line() for f in leftovers.scan(LAB, moto_session, [kubeconfig])]

    assert lines == [
        f"✗ EKS cluster {LAB} (ACTIVE): aws eks delete-cluster --name {LAB}",
        f"✗ load balancers: {ours} in {vpc}: aws elbv2 delete-load-balancer "
        f"--load-balancer-arn {ours}",
        f"✗ VPC {vpc} of stack {NETWORK}: once what is above is gone: aws ec2 "
        f"delete-vpc --vpc-id {vpc}",
        f"✗ log group {CLUSTER}-ClusterTasksLogs-ABC: aws logs "
        f"delete-log-group --log-group-name {CLUSTER}-ClusterTasksLogs-ABC",
        *(
            f"✗ kubeconfig {kind} {LAB_ARN} in {kubeconfig}: python -m scripts.lab_kubeconfig "
            f"forget {LAB_ARN}"
            for kind in ("context", "cluster", "user")
        ),
    ]


def test_a_stack_that_is_still_there_is_named(moto_session, tmp_path):
    cfn = moto_session.client("cloudformation")
    cfn.create_stack(
        StackName=CLUSTER,
        TemplateBody='{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}',
    )
    (line,) = [f.line() for f in leftovers.scan(LAB, moto_session, [])]
    assert line.startswith(f"✗ stack {CLUSTER} (CREATE_COMPLETE): make destroy CLUSTER={LAB}")


def test_every_kind_of_the_cleanups_table_says_what_to_run(moto_session):
    kinds, _ = leftovers.handler_modules()
    for kind, _code in kinds.TABLE:
        assert "{id}" in kind.command or not kind.is_the_labs, kind.label


def test_the_command_exits_1_when_something_is_left_and_0_when_not(
    moto_session, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    assert leftovers.main(["--cluster", LAB]) == 0
    assert capsys.readouterr().out.endswith("nothing left\n")
    moto_session.client("logs").create_log_group(logGroupName=f"/aws/eks/{LAB}/cluster")
    assert leftovers.main(["--cluster", LAB]) == 1
    out = capsys.readouterr().out
    assert f"/aws/eks/{LAB}/cluster" in out
    assert out.endswith(f"region {REGION}: 1 of the lab's resources left\n")


def a_failed_destroy(session, cluster: str, second: int) -> set[str]:
    """Everything a failed destroy of lab `cluster` can leave; the ids that name it."""
    stacks = facts.lab_stacks(cluster)
    vpc, subnets = lab_vpc(session, stacks.network, second)
    balancer = nlb(session, f"k8s-{second}-ingress", subnets, {"elbv2.k8s.aws/cluster": cluster})
    logs = session.client("logs")
    groups = [
        f"{stacks.cluster}-ClusterTasksLogs-A{second}",
        f"/aws/lambda/{stacks.network}-CleanupHandler-B{second}",
        f"/aws/eks/{cluster}/cluster",
    ]
    for group in groups:
        logs.create_log_group(logGroupName=group)
    session.client("eks").create_cluster(
        name=cluster, roleArn=f"arn:aws:iam::{ACCOUNT}:role/eks",
        resourcesVpcConfig={"subnetIds": subnets},
    )  # fmt: skip
    for stack in stacks.all():
        session.client("cloudformation").create_stack(
            StackName=stack, TemplateBody='{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}'
        )
    return {vpc, balancer, *groups, *stacks.all(), cluster}


def test_two_labs_of_two_names_have_disjoint_leftovers(moto_session):
    # GIVEN two labs whose names are chosen to share prefixes: "a"'s stacks, a-Network and
    # a-Cluster, begin the names of everything of "a-Cluster-x"'s stacks
    first, second = "a", "a-Cluster-x"
    ids = {first: a_failed_destroy(moto_session, first, 1),
           second: a_failed_destroy(moto_session, second, 2)}  # fmt: skip
    assert facts.lab_stacks(second).cluster.startswith(facts.lab_stacks(first).cluster + "-")
    for lab in (first, second):
        # WHEN one lab's leftovers are listed THEN they are exactly its own (every command
        # ends with the id of what it deletes)
        found = leftovers.scan(lab, moto_session, [])
        assert {f.command.split()[-1] for f in found} == ids[lab]
    assert not ids[first] & ids[second]
