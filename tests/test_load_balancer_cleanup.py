"""The cleanup custom resource in the template: wiring, ordering, timeouts and IAM."""

from __future__ import annotations

import ast
import json
import re

from aws_cdk.assertions import Match

from constructs.load_balancer_cleanup import HANDLER_DIR, RESOURCE_TYPE
from tests.template_queries import depends_on, helm_chart, only

SERVICE_PREFIX = {"ec2": "ec2", "elbv2": "elasticloadbalancing", "elb": "elasticloadbalancing"}


def handler_api_actions() -> set[str]:
    """IAM actions of every AWS operation handler.py calls, read from its source.

    Operations appear as attributes of the ec2/elbv2/elb clients (called directly or passed
    on to a retry helper) and as the operation names given to get_paginator.
    """
    tree = ast.parse((HANDLER_DIR / "handler.py").read_text(encoding="utf-8"))

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


def test_cleanup_resource_is_scoped_to_the_cluster_and_the_vpc(cluster_template, synthesized):
    _, resource = cleanup_resource(cluster_template)
    props = resource["Properties"]
    assert props["ClusterName"] == synthesized.config.cluster_name
    # The VPC of the network stack, through its export.
    assert "ExportsOutputRefVpc" in props["VpcId"]["Fn::ImportValue"]


def test_cluster_depends_on_the_cleanup_so_cleanup_runs_after_it_on_delete(cluster_template):
    cleanup_id, _ = cleanup_resource(cluster_template)
    _, cluster = only(cluster_template.find_resources("Custom::AWSCDK-EKS-Cluster"), "cluster")
    assert cleanup_id in depends_on(cluster)
    _, nodegroup = only(cluster_template.find_resources("AWS::EKS::Nodegroup"), "node group")
    assert cleanup_id in depends_on(nodegroup)


def test_gateway_is_deleted_while_the_controller_still_runs(cluster_template):
    controller_id, _ = helm_chart(cluster_template, "aws-load-balancer-controller")
    _, gateway = helm_chart(cluster_template, "istio-ingress")
    assert controller_id in depends_on(gateway)


def test_handlers_are_plain_python_from_the_handler_folder(cluster_template):
    functions = cluster_template.find_resources(
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
    # The asset is the folder itself: only the handler, nothing that would need bundling.
    assert sorted(p.name for p in HANDLER_DIR.iterdir() if p.name != "__pycache__") == [
        "handler.py"
    ]


def test_provider_waits_at_least_20_minutes_and_longer_than_the_handler(cluster_template):
    _, machine = only(cluster_template.find_resources("AWS::StepFunctions::StateMachine"), "waiter")
    definition = json.dumps(machine["Properties"]["DefinitionString"])
    interval = int(re.search(r'IntervalSeconds\\":(\d+)', definition).group(1))
    attempts = int(re.search(r'MaxAttempts\\":(\d+)', definition).group(1))
    total_minutes = interval * attempts / 60
    assert total_minutes >= 20
    functions = cluster_template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "handler.is_complete"}}
    )
    (is_complete,) = functions.values()
    handler_minutes = int(
        is_complete["Properties"]["Environment"]["Variables"]["CLEANUP_TIMEOUT_MINUTES"]
    )
    assert handler_minutes < total_minutes, (
        "the handler must name the leftovers before the framework gives up"
    )


def test_the_policy_grants_exactly_the_operations_the_handler_calls(cluster_template):
    granted = {
        action
        for statement in handler_policy_statements(cluster_template)
        for action in as_list(statement["Action"])
        if not action.startswith("logs:")
    }
    assert granted == handler_api_actions()


def test_every_mutating_action_is_conditioned_or_scoped(cluster_template, synthesized):
    cluster = synthesized.config.cluster_name
    for statement in handler_policy_statements(cluster_template):
        actions = as_list(statement["Action"])
        if all(a.split(":")[1].startswith("Describe") or a.startswith("logs:") for a in actions):
            continue
        condition = json.dumps(statement.get("Condition", {}))
        resources = json.dumps(statement["Resource"])
        if actions == ["elasticloadbalancing:DeleteListener"]:
            # Listeners are not reliably tagged: scoped to listener ARNs instead.
            assert ":listener/" in resources and "Condition" not in statement
        elif any(a.startswith("ec2:Revoke") for a in actions):
            assert "ec2:Vpc" in condition and ":security-group/" in resources
        else:
            assert statement["Resource"] == "*"
            assert (
                f'elbv2.k8s.aws/cluster": "{cluster}"' in condition
                or (f"kubernetes.io/cluster/{cluster}" in condition)
                or (f'cluster.k8s.amazonaws.com/name": "{cluster}"' in condition)
            ), statement


def test_handler_log_group_is_kept_a_week_and_removed_with_the_stack(cluster_template):
    cluster_template.has_resource(
        "AWS::Logs::LogGroup",
        {"Properties": {"RetentionInDays": 7}, "DeletionPolicy": "Delete"},
    )
    assert cluster_template.find_outputs("CleanupLogGroup")


def test_action_reader_finds_paginated_and_passed_on_operations():
    actions = handler_api_actions()
    assert "elasticloadbalancing:DescribeTargetGroups" in actions  # via get_paginator
    assert "ec2:RevokeSecurityGroupEgress" in actions  # passed to a helper, not called
    assert "elasticloadbalancing:DeleteListener" in actions
