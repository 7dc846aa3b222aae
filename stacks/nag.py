"""cdk-nag for the lab: the AwsSolutions checks, and every finding the lab accepts, with why.

`npx cdk synth -c nag=true` runs the checks (build_lab calls `enable_nag_checks`); a finding
that is not acknowledged here fails the synth, printed with the id to acknowledge it by.
Each acknowledgement names exactly one finding (e.g. `AwsSolutions-IAM5[Resource::*]`) on
the construct that has it, never on a stack or the app, so a new finding elsewhere still
fails.

The acknowledgements are recorded on every synth, with or without the checks: they are
construct metadata only, so the templates are the same either way.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, App, CfnElement, Stack, Validations

from constructs import IConstruct
from constructs.nodes import CNI_POLICY, NODE_POLICIES

if TYPE_CHECKING:
    from stacks.lab import Lab

# The rule pack's name: the namespace of its findings in CDK's validation report.
NAG_PACK = "AwsSolutions"

# What the lab accepts, and why. The constructs are found below; the reasons say why the
# finding is right for a short-lived lab, or why it is code the lab does not write.
VPC_WITHOUT_FLOW_LOGS = (
    "Cost trade-off of a short-lived lab: flow logs would bill CloudWatch ingestion for "
    "every packet of image pulls and Bookinfo traffic that nobody audits"
)
EKS_SERVICE_ROLE_POLICY = (
    "AmazonEKSClusterPolicy is the policy EKS documents for the cluster role; AWS keeps it "
    "in step with the service"
)
NODE_ROLE_POLICIES = (
    "The policies EKS documents for the node role of a managed node group (kubelet, image "
    "pulls); AWS keeps them in step with the service. The VPC CNI's policy is on its own "
    "role, and pods cannot reach the instance metadata (constructs/nodes.py)"
)
CNI_ROLE_POLICY = (
    "The policy EKS documents for the VPC CNI's role (IRSA, aws-node in kube-system only): "
    "it manages the nodes' network interfaces and addresses, which take no narrower "
    "resource; AWS keeps it in step with the plugin"
)
KUBECTL_HANDLER = (
    "aws-cdk-lib's aws_eks_v2 kubectl/helm handler (the cluster's KubectlProvider, its role "
    "and its provider framework): generated code the lab configures only through Cluster"
)
CLUSTER_TASKS_IN_VPC = (
    "the lab's cluster task handler runs in the cluster's private subnets to reach the private "
    "endpoint: AWSLambdaVPCAccessExecutionRole is what Lambda needs to create and delete its "
    "network interfaces there (ec2:CreateNetworkInterface and the like take no narrower "
    "resource for a function's own interfaces)"
)
PROVIDER_FRAMEWORK = (
    "aws-cdk-lib's custom resource provider framework (framework Lambdas, waiter state "
    "machine): generated code with no option for X-Ray or state machine logging; it only "
    "invokes the resource's own handlers (any version or alias, hence :*), which log to "
    "CloudWatch themselves"
)
LOAD_BALANCER_CONTROLLER = (
    "The AWS Load Balancer Controller's actions for v3.2.2, held to this lab "
    "(constructs/load_balancer_controller_policy.py): the load balancers, listeners, rules, "
    "target groups and security groups it makes get their names at run time, so resources "
    "are wildcards in this region and account; creating, tagging, changing and deleting them "
    "requires elbv2.k8s.aws/cluster to be this cluster's name, new security groups and rules "
    "on the targets' groups are held to the lab's VPC; Describe calls, the ALB-only features, "
    "listener and rule changes and target registration are upstream's statements"
)
CLEANUP_DESCRIBE_AND_TAGGED_DELETES = (
    "LoadBalancerCleanup: Describe* calls support no resource-level permissions"
)
CLEANUP_TAGGED_DELETES = (
    "LoadBalancerCleanup: the load balancers and target groups to delete get their names at "
    "run time, so the resource is every one of this region and account, and every ELB "
    "Delete* carries a condition on this cluster's tag (cleanup_policy_statements)"
)
CLEANUP_INSIDE_THE_VPC = (
    "LoadBalancerCleanup: security group deletes carry this cluster's tag and the ec2:Vpc "
    "condition; rule revocations (in node and cluster groups, which carry no controller tag) "
    "and deletes of leaked CNI interfaces (often untagged) are held to the lab's own VPC by "
    "ec2:Vpc, the tightest scope EC2 offers for them"
)

LAMBDA_BASIC_EXECUTION = "service-role/AWSLambdaBasicExecutionRole"
LAMBDA_VPC_ACCESS = "service-role/AWSLambdaVPCAccessExecutionRole"

_IN_ACCOUNT = "arn:<AWS::Partition>:{service}:<AWS::Region>:<AWS::AccountId>:{resource}"
# The controller's policy (constructs/load_balancer_controller_policy.py) as cdk-nag renders
# its wildcard resources: every one in this region and account but the Describe calls'.
LOAD_BALANCER_CONTROLLER_RESOURCES = (
    "*",
    _IN_ACCOUNT.format(service="ec2", resource="security-group/*"),
    *(
        _IN_ACCOUNT.format(service="elasticloadbalancing", resource=resource)
        for resource in (
            "*",
            "listener-rule/app/*/*/*",
            "listener-rule/net/*/*/*",
            "listener/app/*/*/*",
            "listener/net/*/*/*",
            "loadbalancer/app/*/*",
            "loadbalancer/net/*/*",
            "targetgroup/*/*",
        )
    ),
)


def enable_nag_checks(app: App) -> None:
    """Run the AwsSolutions rules on every stack (nested ones too) when `app` synthesizes.

    The report goes to validation-report.json in the cloud assembly. An unacknowledged
    finding fails the synth: `cdk synth` prints it and exits 1; `app.synth()` raises, unless
    the context sets @aws-cdk/core:failSynthOnValidationErrors to false (as the CDK CLI
    does, before it reads the report).
    """
    # Imported here: loading the rule pack costs every synth time, and most synths skip it.
    from cdk_nag import AwsSolutionsChecks

    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    """Accept one finding, as the report names it (e.g. `AwsSolutions-IAM5[Resource::*]`),
    on `construct` and the resources below it."""
    Validations.of(construct).acknowledge(
        Acknowledgment(id=f"{NAG_PACK}::{finding}", reason=reason)
    )


def managed_policy(name: str) -> str:
    """AwsSolutions-IAM4 for the AWS managed policy `name` (e.g. 'AmazonEKS_CNI_Policy')."""
    return f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{name}]"


def wildcard_resource(resource: str) -> str:
    """AwsSolutions-IAM5 for a resource with a wildcard, written as cdk-nag renders it."""
    return f"AwsSolutions-IAM5[Resource::{resource}]"


def any_version_of(function: IConstruct) -> str:
    """AwsSolutions-IAM5 for lambda:InvokeFunction on `<function ARN>:*` (all its versions)."""
    return wildcard_resource(f"<{_logical_id(function.node.default_child)}.Arn>:*")


def acknowledge_lab_findings(lab: Lab) -> None:
    """Acknowledge every AwsSolutions finding the lab accepts, each on its own construct."""
    _acknowledge_network(lab)
    _acknowledge_cluster(lab)
    _acknowledge_kubectl_handler(lab)
    _acknowledge_load_balancer_controller(lab)
    _acknowledge_load_balancer_cleanup(lab)
    _acknowledge_cluster_tasks(lab)


def _acknowledge_network(lab: Lab) -> None:
    acknowledge(lab.network.vpc.node.default_child, "AwsSolutions-VPC7", VPC_WITHOUT_FLOW_LOGS)


def _acknowledge_cluster(lab: Lab) -> None:
    # cdk-nag 3.0.2's EKS1 (public endpoint) and EKS2 (control plane logs) test for aws_eks's
    # CfnCluster class and do not see aws_eks_v2's: the cluster stack explains both
    # decisions and tests/test_cluster_stack.py pins them.
    cluster = lab.cluster.cluster
    acknowledge(cluster.role, managed_policy("AmazonEKSClusterPolicy"), EKS_SERVICE_ROLE_POLICY)
    for policy in NODE_POLICIES:
        acknowledge(lab.cluster.node_role, managed_policy(policy), NODE_ROLE_POLICIES)
    acknowledge(lab.cluster.cni_role, managed_policy(CNI_POLICY), CNI_ROLE_POLICY)


def _acknowledge_kubectl_handler(lab: Lab) -> None:
    provider = _child(lab.cluster.cluster, "KubectlProvider")
    handler = _child(provider, "Handler")
    role = handler.role
    for policy in (
        LAMBDA_BASIC_EXECUTION,
        LAMBDA_VPC_ACCESS,
        "AmazonEC2ContainerRegistryReadOnly",
    ):
        acknowledge(role, managed_policy(policy), KUBECTL_HANDLER)
    # Attached only where ECR Public exists (a CloudFormation condition beside the handler).
    ecr_public = {
        "Fn::If": [
            _logical_id(_child(handler, "HasEcrPublic")),
            {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":iam::aws:policy/AmazonElasticContainerRegistryPublicReadOnly",
                    ],
                ]
            },
            {"Ref": "AWS::NoValue"},
        ]
    }
    acknowledge(
        role,
        f"AwsSolutions-IAM4[Policy::{json.dumps(ecr_public, separators=(',', ':'))}]",
        KUBECTL_HANDLER,
    )

    acknowledge(handler, "AwsSolutions-L1", KUBECTL_HANDLER)
    _acknowledge_provider_framework(_child(provider, "Provider"), on_event=handler, in_vpc=True)


def _acknowledge_load_balancer_controller(lab: Lab) -> None:
    role = _child(lab.cluster.cluster.alb_controller, "alb-sa/Role")
    for resource in LOAD_BALANCER_CONTROLLER_RESOURCES:
        acknowledge(role, wildcard_resource(resource), LOAD_BALANCER_CONTROLLER)


def _acknowledge_load_balancer_cleanup(lab: Lab) -> None:
    cleanup = lab.network.cleanup
    role = _child(cleanup, "HandlerRole")
    acknowledge(role, wildcard_resource("*"), CLEANUP_DESCRIBE_AND_TAGGED_DELETES)
    acknowledge(
        role,
        wildcard_resource(_IN_ACCOUNT.format(service="elasticloadbalancing", resource="*")),
        CLEANUP_TAGGED_DELETES,
    )
    for resource in ("security-group/*", "network-interface/*"):
        acknowledge(
            role,
            wildcard_resource(_IN_ACCOUNT.format(service="ec2", resource=resource)),
            CLEANUP_INSIDE_THE_VPC,
        )
    _acknowledge_provider_framework(
        _child(cleanup, "Provider"),
        on_event=_child(cleanup, "OnEvent"),
        is_complete=_child(cleanup, "IsComplete"),
    )


def _acknowledge_cluster_tasks(lab: Lab) -> None:
    tasks = lab.cluster.tasks
    acknowledge(tasks.role, managed_policy(LAMBDA_VPC_ACCESS), CLUSTER_TASKS_IN_VPC)
    _acknowledge_provider_framework(_child(tasks, "Provider"), on_event=tasks.handler)


def _acknowledge_provider_framework(
    provider: IConstruct,
    *,
    on_event: IConstruct,
    is_complete: IConstruct | None = None,
    in_vpc: bool = False,
) -> None:
    """The generated parts of a custom_resources.Provider with the user handlers `on_event`
    and `is_complete`: one framework Lambda for a synchronous provider; three and a waiter
    state machine for one with an is_complete handler."""
    handlers = [on_event] + ([is_complete] if is_complete else [])
    function_ids = ["framework-onEvent"]
    if is_complete:
        function_ids += ["framework-isComplete", "framework-onTimeout"]
    policies = [LAMBDA_BASIC_EXECUTION] + ([LAMBDA_VPC_ACCESS] if in_vpc else [])
    for function_id in function_ids:
        role = _child(provider, f"{function_id}/ServiceRole")
        for policy in policies:
            acknowledge(role, managed_policy(policy), PROVIDER_FRAMEWORK)
        for handler in handlers:
            acknowledge(role, any_version_of(handler), PROVIDER_FRAMEWORK)
    if is_complete:
        waiter = _child(provider, "waiter-state-machine")
        acknowledge(waiter, "AwsSolutions-SF1", PROVIDER_FRAMEWORK)
        acknowledge(waiter, "AwsSolutions-SF2", PROVIDER_FRAMEWORK)
        for function_id in ("framework-isComplete", "framework-onTimeout"):
            acknowledge(
                _child(waiter, "Role"),
                any_version_of(_child(provider, function_id)),
                PROVIDER_FRAMEWORK,
            )


def _child(scope: IConstruct, path: str) -> IConstruct:
    """The construct at `path` below `scope`; aws-cdk-lib's internal ids are not an API, so a
    missing one names itself instead of silently acknowledging nothing."""
    construct = scope
    for construct_id in path.split("/"):
        child = construct.node.try_find_child(construct_id)
        if child is None:
            raise LookupError(
                f"cdk-nag acknowledgement: no construct {construct_id!r} below "
                f"{construct.node.path!r}; did aws-cdk-lib change its construct tree?"
            )
        construct = child
    return construct


def _logical_id(element: CfnElement) -> str:
    return Stack.of(element).get_logical_id(element)
