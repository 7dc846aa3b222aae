"""The handler's way with AWS: clients that check the invocation's time left before every
request, listings held to the VPC, tags read in batches, and deletions that let only a
permission error fail the pass."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# One logger for all the handler's modules. The Lambda runtime's root logger passes WARNING
# and up only; the cleanup's own INFO lines (one per deletion or skip) must get through.
LOG = logging.getLogger("load_balancer_cleanup")
LOG.setLevel(logging.INFO)

# A request may take connect + read timeout per attempt, times the attempts, plus the
# back-off between them: at most 4 x 20 s + 22 s here. No request starts with less than
# TIME_MARGIN_SECONDS left of the invocation, so the Lambda never times out in one.
BOTO_CONFIG = Config(
    connect_timeout=5, read_timeout=15, retries={"mode": "adaptive", "max_attempts": 4}
)
TIME_MARGIN_SECONDS = 120

# DescribeTags of both ELB APIs rejects more than 20 resources per call.
TAG_BATCH_SIZE = 20

PERMISSION_ERRORS = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthFailure",
        "InvalidClientTokenId",
    }
)
IN_USE_ERRORS = frozenset(
    {
        "DependencyViolation",
        "InvalidGroup.InUse",
        "ResourceInUse",
        "InvalidNetworkInterface.InUse",
    }
)
NOT_FOUND_ERRORS = frozenset(
    {
        "LoadBalancerNotFound",
        "TargetGroupNotFound",
        "InvalidGroup.NotFound",
        "InvalidNetworkInterfaceID.NotFound",
        "InvalidPermission.NotFound",
    }
)


class DeletionProtected(Exception):
    """A load balancer of the cluster has deletion protection on (a Service or Gateway can
    turn it on through the controller's attributes annotation): no pass will ever delete
    it, so the cleanup stops at once and says how to turn it off."""

    def __init__(self, arn: str):
        super().__init__(
            f"load balancer {arn} has deletion protection on, so the cleanup cannot delete "
            "it; turn it off with `aws elbv2 modify-load-balancer-attributes "
            f"--load-balancer-arn {arn} --attributes "
            "Key=deletion_protection.enabled,Value=false`, then run `make destroy` again"
        )


def is_deletion_protection(error: ClientError) -> bool:
    return (
        error_code(error) == "OperationNotPermitted" and "deletion protection" in str(error).lower()
    )


class OutOfTime(Exception):
    """Too little of this invocation is left to start another AWS request."""


@dataclass(frozen=True)
class Clients:
    ec2: object
    elbv2: object
    elb: object
    eks: object


def clients_for(context: object = None) -> Clients:
    # Built per invocation from the default session, with no endpoint given, so that
    # AWS_ENDPOINT_URL and hooks on boto3's default session apply.
    made = Clients(
        ec2=boto3.client("ec2", config=BOTO_CONFIG),
        elbv2=boto3.client("elbv2", config=BOTO_CONFIG),
        elb=boto3.client("elb", config=BOTO_CONFIG),
        eks=boto3.client("eks", config=BOTO_CONFIG),
    )
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):

        def check_time_left(**_) -> None:
            # Before every request: end the pass rather than let the Lambda time out
            # in the middle of one.
            remaining_ms = context.get_remaining_time_in_millis()
            if remaining_ms < TIME_MARGIN_SECONDS * 1000:
                raise OutOfTime(f"{remaining_ms} ms left of the invocation")

        for client in (made.ec2, made.elbv2, made.elb, made.eks):
            client.meta.events.register("before-call", check_time_left)
    return made


# --- Errors ---------------------------------------------------------------------------------


def error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def raise_if_permission_error(error: Exception) -> None:
    if isinstance(error, ClientError) and error_code(error) in PERMISSION_ERRORS:
        raise error


def attempt(what: str, call, **params) -> bool:
    """Run one deletion; True if done. Failures other than permissions wait for a later pass."""
    try:
        call(**params)
        return True
    except ClientError as error:
        code = error_code(error)
        if code in PERMISSION_ERRORS:
            raise
        if code in NOT_FOUND_ERRORS:
            LOG.info("skipped %s (already gone: %s)", what, code)
        elif code in IN_USE_ERRORS:
            LOG.info("skipped %s (in use: %s), will retry", what, code)
        else:
            LOG.warning("skipped %s (unexpected error %s: %s), will retry", what, code, error)
    except BotoCoreError as error:
        LOG.warning("skipped %s (%s), will retry", what, error)
    return False


# --- Listings, held to the VPC --------------------------------------------------------------
# Each is checked against the VPC again after any filter, so that a filter ignored by an
# endpoint cannot widen the scope.


def v2_load_balancers_in_vpc(elbv2, vpc_id: str) -> list[dict]:
    pages = elbv2.get_paginator("describe_load_balancers").paginate()
    return [lb for page in pages for lb in page["LoadBalancers"] if lb.get("VpcId") == vpc_id]


def classic_load_balancers_in_vpc(elb, vpc_id: str) -> list[dict]:
    pages = elb.get_paginator("describe_load_balancers").paginate()
    return [
        lb for page in pages for lb in page["LoadBalancerDescriptions"] if lb.get("VPCId") == vpc_id
    ]


def target_groups_in_vpc(elbv2, vpc_id: str) -> list[dict]:
    pages = elbv2.get_paginator("describe_target_groups").paginate()
    return [
        group for page in pages for group in page["TargetGroups"] if group.get("VpcId") == vpc_id
    ]


def security_groups_in_vpc(ec2, vpc_id: str) -> list[dict]:
    pages = ec2.get_paginator("describe_security_groups").paginate(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]
    )
    return [g for page in pages for g in page["SecurityGroups"] if g.get("VpcId") == vpc_id]


def network_interfaces_in_vpc(ec2, vpc_id: str, filters: list[dict]) -> list[dict]:
    pages = ec2.get_paginator("describe_network_interfaces").paginate(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, *filters]
    )
    return [i for page in pages for i in page["NetworkInterfaces"] if i.get("VpcId") == vpc_id]


def vpc_endpoints_in_vpc(ec2, vpc_id: str) -> list[dict]:
    pages = ec2.get_paginator("describe_vpc_endpoints").paginate(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]
    )
    return [e for page in pages for e in page["VpcEndpoints"] if e.get("VpcId") == vpc_id]


# --- Tags -----------------------------------------------------------------------------------


def tag_dict(tags: list[dict] | None) -> dict[str, str]:
    return {tag["Key"]: tag.get("Value", "") for tag in tags or []}


def elbv2_tags(elbv2, arns: list[str]) -> dict[str, dict[str, str]]:
    def fetch(batch):
        response = elbv2.describe_tags(ResourceArns=batch)
        return {d["ResourceArn"]: tag_dict(d.get("Tags")) for d in response["TagDescriptions"]}

    return _tags_in_batches(fetch, arns)


def classic_tags(elb, names: list[str]) -> dict[str, dict[str, str]]:
    def fetch(batch):
        response = elb.describe_tags(LoadBalancerNames=batch)
        return {d["LoadBalancerName"]: tag_dict(d.get("Tags")) for d in response["TagDescriptions"]}

    return _tags_in_batches(fetch, names)


def _tags_in_batches(fetch, keys: list[str]) -> dict[str, dict[str, str]]:
    tags = {}
    for start in range(0, len(keys), TAG_BATCH_SIZE):
        tags.update(_fetch_tags_tolerating_deletions(fetch, keys[start : start + TAG_BATCH_SIZE]))
    return tags


def _fetch_tags_tolerating_deletions(fetch, batch: list[str]) -> dict[str, dict[str, str]]:
    # One resource deleted since it was listed (by another cluster's controller, say) fails
    # the whole batch; asking one by one then leaves out only the one that is gone.
    try:
        return fetch(batch)
    except ClientError as error:
        if error_code(error) not in NOT_FOUND_ERRORS:
            raise
        if len(batch) == 1:
            return {}
    tags = {}
    for key in batch:
        tags.update(_fetch_tags_tolerating_deletions(fetch, [key]))
    return tags
