"""The load balancer controller's policy: upstream's actions for v3.2.2, statement by
statement, each held to this cluster's tag, this region and account, and the lab's VPC where
the controller's code allows it (constructs/load_balancer_controller_policy.py)."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import aws_cdk
import pytest
from aws_cdk import App, Stack

from constructs.load_balancer_controller_policy import CLUSTER_TAG, controller_policy

UPSTREAM = "package/aws-eks-v2/lib/addons/alb-iam_policy-v3.2.2.json"


@pytest.fixture(scope="module")
def upstream() -> list[dict]:
    """The controller's own policy for v3.2.2, as aws-cdk-lib ships it."""
    (bundle,) = (Path(aws_cdk.__file__).parent / "_jsii").glob("aws-cdk-lib@*.jsii.tgz")
    with tarfile.open(bundle) as archive:
        return json.load(archive.extractfile(UPSTREAM))["Statement"]


@pytest.fixture(scope="module")
def ours() -> list[dict]:
    stack = Stack(App(), "Policy")
    document = controller_policy(stack, "lab-one", "vpc-0123")
    return stack.resolve(document)["Statement"]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_the_same_actions_statement_by_statement(upstream, ours):
    assert [as_list(s["Action"]) for s in ours] == [as_list(s["Action"]) for s in upstream]
    assert all(s["Effect"] == "Allow" for s in ours)


def test_where_upstream_asks_for_a_cluster_tag_this_clusters_name_is_required(upstream, ours):
    for theirs, mine in zip(upstream, ours, strict=True):
        wanted = {
            key: value
            for key, value in theirs.get("Condition", {}).get("Null", {}).items()
            if key.endswith(CLUSTER_TAG) and value == "false"
        }
        for key in wanted:
            assert mine["Condition"]["StringEquals"][key] == "lab-one", mine
        # Every other condition upstream sets is kept.
        for operator, conditions in theirs.get("Condition", {}).items():
            for key, value in conditions.items():
                if key in wanted:
                    continue
                assert mine["Condition"][operator][key] == value, (operator, key)


def resources(statement: dict) -> list[str]:
    return [json.dumps(r) for r in as_list(statement["Resource"])]


def test_every_named_resource_is_in_this_region_and_account(ours):
    for statement in ours:
        for resource in resources(statement):
            if resource == '"*"':
                continue
            assert '{"Ref": "AWS::Region"}' in resource, resource
            assert '{"Ref": "AWS::AccountId"}' in resource, resource
            assert ":*:*:" not in resource


def test_only_reads_the_alb_features_and_the_service_linked_role_keep_every_resource(
    upstream, ours
):
    everywhere = [i for i, s in enumerate(ours) if s["Resource"] == "*"]
    # 0: iam:CreateServiceLinkedRole (held by its condition), 1: Describe and Get calls,
    # 2: WAF, Shield, Cognito, ACM (features of ALBs, which the lab makes none of)
    assert everywhere == [0, 1, 2]
    assert ours[0]["Condition"] == upstream[0]["Condition"]
    assert all(a.split(":")[1].startswith(("Describe", "Get")) for a in ours[1]["Action"])


def test_security_groups_are_made_and_changed_in_the_labs_vpc_only(ours):
    create = next(s for s in ours if s["Action"] == ["ec2:CreateSecurityGroup"])
    vpc = [r for r in resources(create) if ":vpc/" in r]
    assert len(vpc) == 1 and "vpc-0123" in vpc[0]
    # Rules on the targets' groups (the cluster's, the nodes'), which carry no controller
    # tag: held to the VPC instead.
    rules = next(s for s in ours if "Condition" in s and "ArnEquals" in s["Condition"])
    assert rules["Action"] == [
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupIngress",
    ]
    assert "vpc-0123" in json.dumps(rules["Condition"]["ArnEquals"]["ec2:Vpc"])


def test_the_controllers_role_has_this_policy(cluster_template, synthesized):
    policies = [
        p
        for logical_id, p in cluster_template.find_resources("AWS::IAM::Policy").items()
        if "AlbControlleralbsaRole" in logical_id
    ]
    (policy,) = policies
    rendered = json.dumps(policy["Properties"]["PolicyDocument"])
    assert f'"aws:ResourceTag/{CLUSTER_TAG}": "{synthesized.config.cluster_name}"' in rendered
    assert '"false"' not in rendered  # no "the tag exists" condition is left
    assert ":*:*:" not in rendered
