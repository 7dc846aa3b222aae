"""Before `make destroy`: a cluster deleted outside CloudFormation (the console, eksctl, an
account cleaner) must not leave the cluster stack stuck in DELETE_FAILED.

    python -m scripts.cluster_gone [--cluster NAME]

While the cluster stack exists and EKS still knows the cluster, this does nothing. When EKS
no longer knows it, every resource that acts on Kubernetes (charts, manifests, the lab's
cluster tasks) would fail its delete, as each needs the cluster. Then the cluster stack is
deleted here: once as usual, and again, after it ends in DELETE_FAILED, retaining exactly
those Kubernetes resources (CloudFormation takes RetainResources only for a stack in
DELETE_FAILED); what they managed went with the cluster. `cdk destroy` then deletes the rest.

Exit status: 0 nothing to do or the stack is gone, 1 it could not be deleted (one line why).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from constructs.kubernetes_resources import KUBERNETES_RESOURCE_TYPES
from plan import facts
from scripts.cdk_json import add_cluster_option, cluster_name

MAX_ROUNDS = 3


class CannotDelete(Exception):
    """The stack cannot be deleted this way; the message says why, in one line."""


def stack_status(cloudformation, stack: str) -> str | None:
    try:
        (found,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise
    return found["StackStatus"]


def cluster_exists(eks, cluster: str) -> bool:
    try:
        eks.describe_cluster(name=cluster)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            return False
        raise
    return True


def failed_resources(cloudformation, stack: str) -> list[tuple[str, str]]:
    """(logical ID, type) of every resource of the stack in DELETE_FAILED."""
    failed = []
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack):
        for resource in page["StackResourceSummaries"]:
            if resource["ResourceStatus"] == "DELETE_FAILED":
                failed.append((resource["LogicalResourceId"], resource["ResourceType"]))
    return failed


def delete_without_cluster(
    cloudformation,
    stack: str,
    *,
    wait: Callable[[str], None],
    say: Callable[[str], None] = print,
) -> None:
    """Deletes `stack`, retaining its Kubernetes resources that fail to delete."""
    retain: list[str] = []
    for _ in range(MAX_ROUNDS):
        if retain:
            say(f"retaining {len(retain)} Kubernetes resources: {', '.join(retain)}")
            cloudformation.delete_stack(StackName=stack, RetainResources=retain)
        else:
            cloudformation.delete_stack(StackName=stack)
        wait(stack)
        if stack_status(cloudformation, stack) in (None, "DELETE_COMPLETE"):
            say(f"stack {stack} deleted")
            return
        failed = failed_resources(cloudformation, stack)
        others = [f"{i} ({t})" for i, t in failed if t not in KUBERNETES_RESOURCE_TYPES]
        if others:
            raise CannotDelete(
                f"stack {stack}: {', '.join(others)} failed to delete, and it is not a "
                "Kubernetes resource: see its events in the CloudFormation console"
            )
        retain = sorted({*retain, *(i for i, _ in failed)})
    raise CannotDelete(f"stack {stack} is still there after {MAX_ROUNDS} attempts")


def run(session: Any, cluster: str, say=print) -> int:
    """Delete the cluster stack of the lab `cluster` when EKS no longer knows its cluster."""
    stack = facts.lab_stacks(cluster).cluster
    cloudformation = session.client("cloudformation")
    status = stack_status(cloudformation, stack)
    if status is None or status == "DELETE_COMPLETE":
        return 0
    if cluster_exists(session.client("eks"), cluster):
        return 0
    say(
        f"EKS has no cluster {cluster}, but stack {stack} ({status}) still manages it: "
        "deleting the stack without its Kubernetes resources"
    )

    def wait(name: str) -> None:
        # A WaiterError is DELETE_FAILED: the caller looks at what failed.
        with contextlib.suppress(WaiterError):
            cloudformation.get_waiter("stack_delete_complete").wait(
                StackName=name, WaiterConfig={"Delay": 15, "MaxAttempts": 240}
            )

    try:
        delete_without_cluster(cloudformation, stack, wait=wait, say=say)
    except CannotDelete as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.cluster_gone", description=__doc__)
    add_cluster_option(parser)
    args = parser.parse_args(argv)
    try:
        return run(boto3.session.Session(), args.cluster or cluster_name())
    except (BotoCoreError, ClientError) as error:
        print(f"error: could not tell whether the cluster still exists: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
