"""FunctionLogGroups: every Lambda function of the lab logs into a log group of the lab's own
stacks, which is deleted with them.

A function without a log group of its own writes to /aws/lambda/<function name>, which
Lambda creates on its first log line and nothing ever deletes; and aws-cdk-lib's managed log
groups (the @aws-cdk/aws-lambda:useCdkManagedLogGroup flag, off in cdk.json) are kept for two
years after a destroy and are named after the function, so they are deleted before it and
recreated by its last invocations. Visited over the whole app, this visitor reaches the
functions that aws-cdk-lib generates (custom resource provider frameworks, the EKS handlers,
singleton providers such as CfnJson's and the VPC's default security group restriction) as
well as the lab's own, and any added later.
"""

from __future__ import annotations

import jsii
from aws_cdk import CfnResource, IAspect, RemovalPolicy, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from constructs import IConstruct

FUNCTION_TYPE = "AWS::Lambda::Function"
LOG_GROUP_TYPE = "AWS::Logs::LogGroup"
# Long enough to read what a deploy or destroy did; the group goes with the stack anyway.
RETENTION = logs.RetentionDays.ONE_WEEK
RETENTION_DAYS = 7
LOG_GROUP_ID = "Logs"


@jsii.implements(IAspect)
class FunctionLogGroups:
    """For every Lambda function that names no log group, a log group beside it that its
    LoggingConfig names: CloudFormation then creates the group before the function and
    deletes it after. Every log group gets a retention of at most a week and is deleted with
    its stack."""

    def visit(self, node: IConstruct) -> None:
        # isinstance is answered in Python; CfnResource.is_cfn_resource, or the resource
        # type, would ask jsii for every construct of the app. Typed L1 classes tell their
        # type by their class; only plain CfnResources (the CDK's singleton providers) are
        # asked.
        kind = _resource_type(node)
        if kind == LOG_GROUP_TYPE:
            _shorten_and_delete_with_stack(node)
        elif kind == FUNCTION_TYPE and not _names_a_log_group(node):
            _give_a_log_group(node)


def _resource_type(node: IConstruct) -> str | None:
    if isinstance(node, lambda_.CfnFunction):
        return FUNCTION_TYPE
    if isinstance(node, logs.CfnLogGroup):
        return LOG_GROUP_TYPE
    if type(node) is CfnResource:
        return node.cfn_resource_type
    return None


def _names_a_log_group(function: CfnResource) -> bool:
    # CDK's singleton providers are plain CfnResources that never set LoggingConfig.
    if not isinstance(function, lambda_.CfnFunction):
        return False
    config = function.logging_config
    if config is None:
        return False
    if isinstance(config, lambda_.CfnFunction.LoggingConfigProperty):
        # A struct: read here, without asking jsii to resolve it.
        return config.log_group is not None
    resolved = Stack.of(function).resolve(config)
    return bool(resolved.get("logGroup") or resolved.get("LogGroup"))


def _give_a_log_group(function: CfnResource) -> None:
    scope = function.node.scope
    if scope.node.try_find_child(LOG_GROUP_ID) is not None:
        raise ValueError(f"{scope.node.path} already has a child {LOG_GROUP_ID!r}")
    group = logs.LogGroup(
        scope, LOG_GROUP_ID, retention=RETENTION, removal_policy=RemovalPolicy.DESTROY
    )
    function.add_property_override("LoggingConfig.LogGroup", group.log_group_name)


def _shorten_and_delete_with_stack(group: CfnResource) -> None:
    if isinstance(group, logs.CfnLogGroup) and (
        group.retention_in_days is None or group.retention_in_days > RETENTION_DAYS
    ):
        group.retention_in_days = RETENTION_DAYS
    group.apply_removal_policy(RemovalPolicy.DESTROY)
