"""The cleanup custom resource in the network stack's template: wiring, ordering, timeouts and
IAM."""

from __future__ import annotations

import ast
import json
import re
import sys

import pytest
from aws_cdk.assertions import Match

from bench.critical_path import dependencies
from constructs.load_balancer_cleanup import HANDLER_DIR
from constructs.load_balancer_cleanup_handler import cleanup_contract as contract
from constructs.load_balancer_cleanup_handler.cleanup_contract import RESOURCE_TYPE
from tests.cleanup.lambda_asset import lambda_asset, module_names
from tests.template_queries import ancestors, depends_on, helm_chart, only

SERVICE_PREFIX = {
    "ec2": "ec2",
    "elbv2": "elasticloadbalancing",
    "elb": "elasticloadbalancing",
    "eks": "eks",
}


def handler_trees() -> list[ast.Module]:
    return [
        ast.parse((HANDLER_DIR / f"{name}.py").read_text(encoding="utf-8"))
        for name in module_names(HANDLER_DIR)
    ]


def handler_api_actions() -> set[str]:
    """IAM actions of every AWS operation the handler's modules call, read from their source.

    Operations appear as attributes of the ec2/elbv2/elb/eks clients (called directly or
    passed on to a retry helper) and as the operation names given to get_paginator.
    """
    return {action for tree in handler_trees() for action in _api_actions(tree)}


def _api_actions(tree: ast.Module) -> set[str]:
    def client_of(node: ast.expr) -> str | None:
        name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
        return name if name in SERVICE_PREFIX else None

    def action(client: str, operation: str) -> str:
        return f"{SERVICE_PREFIX[client]}:" + "".join(p.title() for p in operation.split("_"))

    actions = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not (client := client_of(node.value)):
            continue
        if node.attr != "get_paginator":
            actions.add(action(client, node.attr))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get_paginator"
            and (client := client_of(node.func.value))
        ):
            actions.add(action(client, node.args[0].value))
    return actions


# What the Lambda Python runtime brings besides the standard library.
RUNTIME_PROVIDED = {"boto3", "botocore"}


def imported_top_level_names() -> set[str]:
    names = set()
    for tree in handler_trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module.split(".")[0])
    return names


@pytest.fixture(scope="module")
def cleanup_aws_calls():
    with lambda_asset(HANDLER_DIR) as modules:
        yield modules.aws_calls


def cleanup_resource(template):
    return only(template.find_resources(RESOURCE_TYPE), "cleanup resource")


def handler_policy_statements(template):
    role_id, _ = only(
        template.find_resources(
            "AWS::IAM::Role",
            {"Properties": {"Description": Match.string_like_regexp("Removes what Kubernetes")}},
        ),
        "cleanup handler role",
    )
    policies = [
        policy
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if policy["Properties"]["Roles"] == [{"Ref": role_id}]
    ]
    return [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]


def as_list(value):
    return value if isinstance(value, list) else [value]


def test_cleanup_resource_is_scoped_to_the_cluster_and_the_vpc(network_template, synthesized):
    _, resource = cleanup_resource(network_template)
    props = resource["Properties"]
    assert props["ClusterName"] == synthesized.config.cluster_name
    (vpc_id,) = network_template.find_resources("AWS::EC2::VPC")
    assert props["VpcId"] == {"Ref": vpc_id}


def test_the_cluster_stack_has_no_cleanup_and_depends_on_the_network_stack(
    cluster_template, synthesized
):
    # The cluster stack imports the network stack's exports, so CloudFormation deletes the
    # whole cluster stack before anything of the network stack, the cleanup included.
    assert not cluster_template.find_resources(RESOURCE_TYPE)
    assert synthesized.lab.network in synthesized.lab.cluster.dependencies


def test_cleanup_runs_before_the_subnets_and_the_gateway_attachment_are_deleted(
    network_template,
):
    cleanup_id, cleanup = cleanup_resource(network_template)
    subnets = set(network_template.find_resources("AWS::EC2::Subnet"))
    (attachment,) = network_template.find_resources("AWS::EC2::VPCGatewayAttachment")
    assert subnets | {attachment} <= depends_on(cleanup)
    # AND not on the NAT gateways: its provider is created while they are
    graph = dependencies(network_template.to_json())
    nat_gateways = set(network_template.find_resources("AWS::EC2::NatGateway"))
    assert not ancestors(graph, cleanup_id) & nat_gateways


def test_gateway_is_deleted_while_the_controller_still_runs(cluster_template):
    controller_id, _ = helm_chart(cluster_template, "aws-load-balancer-controller")
    gateway_id, _ = helm_chart(cluster_template, "istio-ingressgateway")
    assert controller_id in ancestors(dependencies(cluster_template.to_json()), gateway_id)


def test_handlers_are_plain_python_from_the_handler_folder(network_template):
    functions = network_template.find_resources(
        "AWS::Lambda::Function",
        {"Properties": {"Handler": Match.string_like_regexp(r"^handler\.")}},
    )
    handlers = sorted(f["Properties"]["Handler"] for f in functions.values())
    assert handlers == ["handler.is_complete", "handler.on_event"]
    for function in functions.values():
        props = function["Properties"]
        assert props["Runtime"] == "python3.14"
        assert "S3Key" in props["Code"], "code is an asset of the handler folder"
        assert int(props["Environment"]["Variables"]["CLEANUP_TIMEOUT_MINUTES"]) >= 20
        # Outside the VPC: its own interfaces would block the VPC's deletion.
        assert "VpcConfig" not in props
    # The asset is the folder itself: Python modules that import only each other, the
    # standard library and what the Lambda runtime provides, so nothing needs bundling.
    files = [p for p in HANDLER_DIR.iterdir() if p.name != "__pycache__"]
    assert files and all(p.suffix == ".py" and p.is_file() for p in files), files
    available = set(module_names(HANDLER_DIR)) | set(sys.stdlib_module_names) | RUNTIME_PROVIDED
    assert imported_top_level_names() <= available


def test_provider_waits_at_least_20_minutes_and_longer_than_the_handler(network_template):
    _, machine = only(network_template.find_resources("AWS::StepFunctions::StateMachine"), "waiter")
    definition = json.dumps(machine["Properties"]["DefinitionString"])
    interval = int(re.search(r'IntervalSeconds\\":(\d+)', definition).group(1))
    attempts = int(re.search(r'MaxAttempts\\":(\d+)', definition).group(1))
    total_minutes = interval * attempts / 60
    assert total_minutes >= 20
    functions = network_template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "handler.is_complete"}}
    )
    (is_complete,) = functions.values()
    handler_minutes = int(
        is_complete["Properties"]["Environment"]["Variables"]["CLEANUP_TIMEOUT_MINUTES"]
    )
    assert handler_minutes < total_minutes, (
        "the handler must name the leftovers before the framework gives up"
    )


def test_one_pass_fits_in_one_invocation(network_template, cleanup_aws_calls):
    # The handler stops starting requests TIME_MARGIN_SECONDS before the Lambda's timeout;
    # that margin must cover one request with all its retries, and leave time for work.
    config = cleanup_aws_calls.BOTO_CONFIG
    attempts = config.retries["max_attempts"]
    per_attempt = config.connect_timeout + config.read_timeout
    # botocore's back-off before attempt i+1 is at most min(2**(i-1), 20) s, plus up to 5 s
    # more when AWS asks for it (botocore/retries/standard.py ExponentialBackoff).
    backoff = sum(min(2 ** (i - 1), 20) + 5 for i in range(1, attempts))
    longest_request = attempts * per_attempt + backoff
    assert longest_request <= cleanup_aws_calls.TIME_MARGIN_SECONDS
    functions = network_template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": Match.string_like_regexp("^handler")}}
    )
    for function in functions.values():
        timeout = function["Properties"]["Timeout"]
        assert timeout - cleanup_aws_calls.TIME_MARGIN_SECONDS >= 120
        # The provider framework's functions wait for it synchronously, for 15 minutes.
        assert timeout < 15 * 60


def test_the_policy_grants_exactly_the_operations_the_handler_calls(network_template):
    granted = {
        action
        for statement in handler_policy_statements(network_template)
        for action in as_list(statement["Action"])
        if not action.startswith("logs:")
    }
    assert granted == handler_api_actions()


def test_describe_cluster_is_granted_on_this_cluster_only(network_template, synthesized):
    (statement,) = [
        s
        for s in handler_policy_statements(network_template)
        if as_list(s["Action"]) == ["eks:DescribeCluster"]
    ]
    resource = json.dumps(statement["Resource"])
    assert resource.endswith(f':cluster/{synthesized.config.cluster_name}"]]}}')
    assert "*" not in resource


def test_every_mutating_action_is_conditioned_or_scoped(network_template, synthesized):
    cluster = synthesized.config.cluster_name
    for statement in handler_policy_statements(network_template):
        actions = as_list(statement["Action"])
        if all(a.split(":")[1].startswith("Describe") or a.startswith("logs:") for a in actions):
            continue
        condition = statement.get("Condition", {})
        resources = json.dumps(statement["Resource"])
        tags = condition.get("StringEquals", {})
        if any(a.startswith("ec2:") for a in actions):
            # Only inside the lab's VPC, on security groups or network interfaces.
            assert "ec2:Vpc" in condition.get("ArnEquals", {}), statement
            assert ":security-group/" in resources or ":network-interface/" in resources
        else:
            # Load balancers and target groups of this region and account only.
            assert (
                '{"Ref": "AWS::Region"}' in resources and '{"Ref": "AWS::AccountId"}' in resources
            )
            assert resources.endswith(':*"]]}') and ":elasticloadbalancing:" in resources
            assert tags, statement
        for key, value in tags.items():
            # Tagged for this cluster, and never merely "shared" with it.
            if key.endswith(f"kubernetes.io/cluster/{cluster}"):
                assert value == "owned", statement
            else:
                assert value == cluster, statement


def test_handler_log_group_is_kept_a_week_and_removed_with_the_stack(network_template):
    network_template.has_resource(
        "AWS::Logs::LogGroup",
        {"Properties": {"RetentionInDays": 7}, "DeletionPolicy": "Delete"},
    )
    assert network_template.find_outputs("CleanupLogGroup")


def test_action_reader_finds_paginated_and_passed_on_operations():
    actions = handler_api_actions()
    assert "elasticloadbalancing:DescribeTargetGroups" in actions  # via get_paginator
    assert "ec2:RevokeSecurityGroupEgress" in actions  # passed to a helper, not called
    assert "eks:DescribeCluster" in actions
    # DeleteLoadBalancer takes the listeners with it
    assert "elasticloadbalancing:DeleteListener" not in actions


# --- The table of leftover kinds and the policy ----------------------------------------------


def test_every_deleting_kind_is_granted_its_deletes_by_its_own_statements(network_template):
    granted = {
        statement["Sid"]: set(as_list(statement["Action"]))
        for statement in handler_policy_statements(network_template)
        if "Sid" in statement
    }
    deleting = [k for k in contract.KINDS if k.handling is contract.Handling.DELETED]
    assert deleting
    for kind in deleting:
        # THEN each statement the kind names is in the policy, as the kind names it
        for grant in kind.grants:
            assert granted.get(grant.sid) == set(grant.actions), (kind.label, grant.sid)
        # AND together they allow every action its deleter calls
        allowed = {action for grant in kind.grants for action in grant.actions}
        assert set(kind.deletes) <= allowed, kind.label


def test_no_statement_grants_an_action_no_kind_uses(network_template):
    used = {action for kind in contract.KINDS for action in (*kind.reads, *kind.deletes)}
    # The one action outside the table: the question whether the cluster still exists.
    used |= set(contract.ASK_WHETHER_THE_CLUSTER_EXISTS.actions)
    for statement in handler_policy_statements(network_template):
        actions = set(as_list(statement["Action"]))
        if statement.get("Sid"):
            assert actions <= used, statement["Sid"]
        else:
            # aws-cdk-lib's own grant for writing to the function's log group
            assert all(action.startswith("logs:") for action in actions), statement


def test_both_handlers_know_their_own_scope(network_template, synthesized):
    # The cleanup refuses an event for another cluster or VPC (handler.py _checked_scope):
    # its functions carry the lab's cluster and VPC in their environment.
    handlers = [
        f
        for logical_id, f in network_template.find_resources("AWS::Lambda::Function").items()
        if logical_id.startswith(("LoadBalancerCleanupOnEvent", "LoadBalancerCleanupIsComplete"))
    ]
    assert len(handlers) == 2
    (vpc_id,) = network_template.find_resources("AWS::EC2::VPC")
    for function in handlers:
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["LAB_CLUSTER_NAME"] == synthesized.config.cluster_name
        assert variables["LAB_VPC_ID"] == {"Ref": vpc_id}
