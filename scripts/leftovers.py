"""`make leftovers`: after a destroy, everything of the lab still in the account and region.

    python -m scripts.leftovers [--cluster NAME]

Read-only. It looks for the lab's CloudFormation stacks, its EKS cluster, the network stack's
VPC and in it every kind of resource the destroy-time cleanup deletes (the same table,
constructs/load_balancer_cleanup_handler/cleanup_contract.py, found by the same tags), the
log groups of the lab's stacks and of its cluster, and the kubeconfig entries the
KubeconfigCommand output adds. It prints one line per leftover with the command that deletes
it, in the account and region of your AWS credentials.

Exit status: 0 nothing of the lab's is left, 1 something is, 2 the scan could not run.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import yaml
from botocore.exceptions import BotoCoreError, ClientError

from plan import facts
from scripts.cdk_json import add_cluster_option, cluster_name
from scripts.lab_kubeconfig import SECTIONS, kubeconfig_paths

HANDLER_DIR = (
    Path(__file__).resolve().parent.parent / "constructs" / "load_balancer_cleanup_handler"
)
# The tag CloudFormation puts on what a stack creates, e.g. the network stack's VPC.
STACK_NAME_TAG = "aws:cloudformation:stack-name"


@dataclass(frozen=True)
class Leftover:
    what: str
    command: str
    # False for what the VPC holds but is not the lab's (e.g. GuardDuty's endpoint).
    the_labs: bool = True

    def line(self) -> str:
        mark = "✗" if self.the_labs else "·"
        return f"{mark} {self.what}: {self.command}"


@functools.cache
def handler_modules() -> tuple[ModuleType, ModuleType]:
    """The cleanup handler's leftover kinds and AWS calls, imported as the Lambda imports
    them (its folder is the function's code; its modules import each other by bare name),
    then taken out of sys.path and sys.modules again, so nothing else sees those names."""
    names = [path.stem for path in HANDLER_DIR.glob("*.py")]
    set_aside = {name: sys.modules.pop(name) for name in names if name in sys.modules}
    sys.path.insert(0, str(HANDLER_DIR))
    # No __pycache__ beside the handler: the folder is the Lambda function's asset.
    writes_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        return importlib.import_module("leftover_kinds"), importlib.import_module("aws_calls")
    finally:
        sys.dont_write_bytecode = writes_bytecode
        sys.path.remove(str(HANDLER_DIR))
        for name in names:
            sys.modules.pop(name, None)
        sys.modules.update(set_aside)


def scan(cluster: str, session: Any, kubeconfigs: Sequence[Path]) -> list[Leftover]:
    """What is left of the lab named `cluster`: its own stacks, cluster, VPC and log groups,
    never another lab's (each has stacks named after its own clusterName)."""
    stacks = facts.lab_stacks(cluster)
    return [
        *_stacks(session, cluster, stacks),
        *_cluster(session, cluster),
        *_vpcs(session, cluster, stacks.network),
        *_log_groups(session, cluster, stacks),
        *_kubeconfig_entries(session, cluster, kubeconfigs),
    ]


def _stacks(session, cluster: str, stacks: facts.LabStacks) -> Iterator[Leftover]:
    cfn = session.client("cloudformation")
    for name in reversed(stacks.all()):
        try:
            (stack,) = cfn.describe_stacks(StackName=name)["Stacks"]
        except ClientError as error:
            if "does not exist" in str(error):
                continue
            raise
        if stack["StackStatus"] != "DELETE_COMPLETE":
            yield Leftover(
                f"stack {name} ({stack['StackStatus']})",
                f"make destroy CLUSTER={cluster}, or aws cloudformation delete-stack "
                f"--stack-name {name}",
            )


def _cluster(session, cluster: str) -> Iterator[Leftover]:
    try:
        status = session.client("eks").describe_cluster(name=cluster)["cluster"]["status"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            return
        raise
    yield Leftover(f"EKS cluster {cluster} ({status})", f"aws eks delete-cluster --name {cluster}")


def _vpcs(session, cluster: str, network_stack: str) -> Iterator[Leftover]:
    kinds, aws_calls = handler_modules()
    ec2 = session.client("ec2")
    vpcs = ec2.describe_vpcs(
        Filters=[{"Name": f"tag:{STACK_NAME_TAG}", "Values": [network_stack]}]
    )["Vpcs"]
    clients = aws_calls.Clients(
        ec2=ec2,
        elbv2=session.client("elbv2"),
        elb=session.client("elb"),
        eks=session.client("eks"),
    )
    for vpc in vpcs:
        vpc_id = vpc["VpcId"]
        found = kinds.inventory(clients, kinds.Scope(cluster, vpc_id), None)
        for kind, ids in found.ids.items():
            for resource in ids:
                yield Leftover(
                    f"{kind.label}: {resource} in {vpc_id}",
                    kind.command.format(id=resource),
                    kind.is_the_labs,
                )
        yield Leftover(
            f"VPC {vpc_id} of stack {network_stack}",
            f"once what is above is gone: aws ec2 delete-vpc --vpc-id {vpc_id}",
        )


def _log_groups(session, cluster: str, stacks: facts.LabStacks) -> Iterator[Leftover]:
    """The groups CloudFormation named for the lab's stacks (`<stack>-<logical ID>-<suffix>`,
    neither part with a '-': so lab `a` does not claim lab `a-Cluster-x`'s), those Lambda made
    for their functions, and EKS's for the cluster (a name has no '/')."""
    logs = session.client("logs")
    generated = r"-[A-Za-z0-9]+-[A-Za-z0-9]+"
    patterns = {
        **{f"{s}-": rf"{re.escape(s)}{generated}" for s in stacks.all()},
        **{f"/aws/lambda/{s}-": rf"/aws/lambda/{re.escape(s)}{generated}" for s in stacks.all()},
        f"/aws/eks/{cluster}/": rf"/aws/eks/{re.escape(cluster)}/.*",
    }
    for prefix, pattern in patterns.items():
        for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=prefix):
            for group in page["logGroups"]:
                name = group["logGroupName"]
                if not re.fullmatch(pattern, name):
                    continue
                yield Leftover(
                    f"log group {name}", f"aws logs delete-log-group --log-group-name {name}"
                )


def _kubeconfig_entries(session, cluster: str, paths: Sequence[Path]) -> Iterator[Leftover]:
    identity = session.client("sts").get_caller_identity()
    partition = identity["Arn"].split(":")[1]
    arn = f"arn:{partition}:eks:{session.region_name}:{identity['Account']}:cluster/{cluster}"
    for path in paths:
        if not path.is_file():
            continue
        try:
            config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError:
            yield Leftover(f"kubeconfig {path} is not YAML", "look at it by hand")
            continue
        for section, kind in SECTIONS.items():
            for entry in config.get(section) or []:
                if isinstance(entry, dict) and entry.get("name") == arn:
                    yield Leftover(
                        f"kubeconfig {kind} {arn} in {path}",
                        f"python -m scripts.lab_kubeconfig forget {arn}",
                    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.leftovers", description=__doc__)
    add_cluster_option(parser)
    parser.add_argument("--json", action="store_true", help="print the leftovers as JSON")
    args = parser.parse_args(argv)
    cluster = args.cluster or cluster_name()
    session = boto3.session.Session()
    if not session.region_name:
        print("leftovers: no AWS region configured (AWS_REGION or your profile)", file=sys.stderr)
        return 2
    try:
        found = scan(cluster, session, kubeconfig_paths())
    except (BotoCoreError, ClientError) as error:
        print(f"leftovers: the scan could not run: {error}", file=sys.stderr)
        return 2
    the_labs = [f for f in found if f.the_labs]
    if args.json:
        print(json.dumps([f.__dict__ for f in found], indent=1))
    else:
        for leftover in found:
            print(leftover.line())
        where = f"account {session.client('sts').get_caller_identity()['Account']}, " + (
            f"region {session.region_name}"
        )
        summary = f"{len(the_labs)} of the lab's resources left" if the_labs else "nothing left"
        print(f"leftovers of lab {cluster} in {where}: {summary}")
    return 1 if the_labs else 0


if __name__ == "__main__":
    sys.exit(main())
