"""The AWS Load Balancer Controller's IAM policy, held to this lab: its actions are those of
the controller's own policy for v3.2.2 (docs/install/iam_policy.json, which aws-cdk-lib ships
as alb-iam_policy-v3.2.2.json; tests/test_load_balancer_controller_policy.py compares them
statement by statement), its resources and conditions narrower where the controller's code
allows it.

What the controller does, as read in its source at v3.2.2:

- It tags every load balancer, target group, listener, rule and security group it makes with
  elbv2.k8s.aws/cluster = its --cluster-name (pkg/deploy/tracking/provider.go), in the create
  request itself (CreateLoadBalancer, CreateTargetGroup, and CreateSecurityGroup's
  TagSpecifications), and users cannot override that tag. So every statement upstream holds
  to "the cluster tag exists" here requires the tag to be this cluster's name.
- It changes load balancers and target groups only when they carry its own cluster's tag,
  and only in its own VPC (pkg/deploy/elbv2/tagging_manager.go).
- It creates security groups in the VPC it is given (--aws-vpc-id, which aws-cdk-lib's
  AlbController sets): CreateSecurityGroup names the lab's VPC only.
- It adds and removes ingress rules on security groups it did not make (the cluster or node
  group security group of the targets' interfaces, pkg/networking/networking_manager.go),
  which carry no elbv2 tag: those two actions stay without a tag condition, held to
  security groups of the lab's VPC instead (ec2:Vpc).
- It calls nothing in another region or account for Services (cross-account target group
  bindings and Global Accelerator are features the lab does not use), so every resource is
  this region's and account's.

Where the controller's source says nothing about a narrower scope (listeners and rules,
target registration, the ALB-only features: WAF, Shield, Cognito, ACM), the statement is
upstream's, in this region and account.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack

CLUSTER_TAG = "elbv2.k8s.aws/cluster"


def controller_policy(stack: Stack, cluster_name: str, vpc_id: str) -> dict[str, Any]:
    """The policy document for the controller's service account role."""

    def arn(service: str, resource: str) -> str:
        return stack.format_arn(service=service, resource=resource, resource_name=None)

    def elb(resource: str) -> str:
        return arn("elasticloadbalancing", resource)

    security_groups = arn("ec2", "security-group/*")
    vpc = stack.format_arn(service="ec2", resource="vpc", resource_name=vpc_id)
    in_this_vpc = {"ArnEquals": {"ec2:Vpc": vpc}}
    load_balancers = [elb("loadbalancer/net/*/*"), elb("loadbalancer/app/*/*")]
    target_groups = [elb("targetgroup/*/*")]
    listeners = [elb("listener/net/*/*/*"), elb("listener/app/*/*/*")]
    rules = [elb("listener-rule/net/*/*/*"), elb("listener-rule/app/*/*/*")]
    any_elb = elb("*")
    requested_for_this_cluster = {f"aws:RequestTag/{CLUSTER_TAG}": cluster_name}
    of_this_cluster = {f"aws:ResourceTag/{CLUSTER_TAG}": cluster_name}
    no_cluster_tag_requested = {f"aws:RequestTag/{CLUSTER_TAG}": "true"}

    statements = [
        # The Elastic Load Balancing service-linked role, once per account (upstream's).
        _allow(
            ["iam:CreateServiceLinkedRole"],
            "*",
            {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}},
        ),
        # Describe and Get calls take no resource.
        _allow(READS, "*"),
        # ALB features the lab does not use (upstream's).
        _allow(ALB_FEATURES, "*"),
        # Rules on the targets' security groups (not the controller's own): in the lab's VPC.
        _allow(
            ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
            security_groups,
            in_this_vpc,
        ),  # fmt: skip
        # New security groups, in the lab's VPC only.
        _allow(["ec2:CreateSecurityGroup"], [security_groups, vpc]),
        _allow(
            ["ec2:CreateTags"],
            security_groups,
            {
                "StringEquals": {
                    "ec2:CreateAction": "CreateSecurityGroup",
                    **requested_for_this_cluster,
                }
            },
        ),
        _allow(
            ["ec2:CreateTags", "ec2:DeleteTags"],
            security_groups,
            {"Null": no_cluster_tag_requested, "StringEquals": of_this_cluster},
        ),
        _allow(
            [
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupIngress",
                "ec2:DeleteSecurityGroup",
            ],
            security_groups,
            {"StringEquals": of_this_cluster},
        ),
        _allow(
            ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
            any_elb,
            {"StringEquals": requested_for_this_cluster},
        ),
        _allow(
            [
                "elasticloadbalancing:CreateListener",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:CreateRule",
                "elasticloadbalancing:DeleteRule",
            ],
            any_elb,
        ),
        _allow(
            ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
            [*target_groups, *load_balancers],
            {"Null": no_cluster_tag_requested, "StringEquals": of_this_cluster},
        ),
        _allow(
            ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
            [*listeners, *rules],
        ),
        _allow(CHANGES_OF_ITS_OWN, any_elb, {"StringEquals": of_this_cluster}),
        _allow(
            ["elasticloadbalancing:AddTags"],
            [*target_groups, *load_balancers],
            {
                "StringEquals": {
                    "elasticloadbalancing:CreateAction": [
                        "CreateTargetGroup",
                        "CreateLoadBalancer",
                    ],
                    **requested_for_this_cluster,
                }
            },
        ),
        _allow(
            ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
            target_groups,
        ),
        _allow(LISTENER_CHANGES, any_elb),
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def _allow(actions: list[str], resources: str | list[str], conditions: dict | None = None):
    statement: dict[str, Any] = {"Effect": "Allow", "Action": list(actions), "Resource": resources}
    if conditions:
        statement["Condition"] = conditions
    return statement


READS = [
    *(
        f"ec2:{name}"
        for name in (
            "DescribeAccountAttributes",
            "DescribeAddresses",
            "DescribeAvailabilityZones",
            "DescribeInternetGateways",
            "DescribeVpcs",
            "DescribeVpcPeeringConnections",
            "DescribeSubnets",
            "DescribeSecurityGroups",
            "DescribeInstances",
            "DescribeNetworkInterfaces",
            "DescribeTags",
            "GetCoipPoolUsage",
            "DescribeCoipPools",
            "GetSecurityGroupsForVpc",
            "DescribeIpamPools",
            "DescribeRouteTables",
        )
    ),
    *(
        f"elasticloadbalancing:{name}"
        for name in (
            "DescribeLoadBalancers",
            "DescribeLoadBalancerAttributes",
            "DescribeListeners",
            "DescribeListenerCertificates",
            "DescribeSSLPolicies",
            "DescribeRules",
            "DescribeTargetGroups",
            "DescribeTargetGroupAttributes",
            "DescribeTargetHealth",
            "DescribeTags",
            "DescribeTrustStores",
            "DescribeListenerAttributes",
            "DescribeCapacityReservation",
        )
    ),
]
ALB_FEATURES = [
    "cognito-idp:DescribeUserPoolClient",
    "acm:ListCertificates",
    "acm:DescribeCertificate",
    "iam:ListServerCertificates",
    "iam:GetServerCertificate",
    *(
        f"{service}:{name}"
        for service in ("waf-regional", "wafv2")
        for name in ("GetWebACL", "GetWebACLForResource", "AssociateWebACL", "DisassociateWebACL")
    ),
    "shield:GetSubscriptionState",
    "shield:DescribeProtection",
    "shield:CreateProtection",
    "shield:DeleteProtection",
]
CHANGES_OF_ITS_OWN = [
    f"elasticloadbalancing:{name}"
    for name in (
        "ModifyLoadBalancerAttributes",
        "SetIpAddressType",
        "SetSecurityGroups",
        "SetSubnets",
        "DeleteLoadBalancer",
        "ModifyTargetGroup",
        "ModifyTargetGroupAttributes",
        "DeleteTargetGroup",
        "ModifyListenerAttributes",
        "ModifyCapacityReservation",
        "ModifyIpPools",
    )
]
LISTENER_CHANGES = [
    f"elasticloadbalancing:{name}"
    for name in (
        "SetWebAcl",
        "ModifyListener",
        "AddListenerCertificates",
        "RemoveListenerCertificates",
        "ModifyRule",
        "SetRulePriorities",
    )
]
