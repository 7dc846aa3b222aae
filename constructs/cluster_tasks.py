"""ClusterTasks: a small kubectl custom resource provider for what aws-cdk-lib's own cannot do;
GatewayApiCrds: the Kubernetes Gateway API's CRDs, applied from their pinned release;
ServiceRemoval: on the stack's deletion, removes every LoadBalancer Service; StaleRoutes: deletes
routing objects the lab's manifests no longer list.

Why not aws-cdk-lib's constructs: a KubernetesManifest needs the objects in the template,
and the Gateway API's CRDs must not be copied into this repository (nor can 1.1 MB of them
fit a template); a HelmChart stores every file of a chart in its release Secret (1 MiB at
most), and no published chart carries only the standard CRDs (Envoy Gateway's
gateway-crds-helm, which carries several bundles, is about 1.8 MB).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aws_cdk import CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr

from constructs import Construct
from constructs.cluster_task_handler import tasks_contract
from constructs.cluster_task_handler.tasks_contract import (
    CRD_REMOVAL_RESOURCE_TYPE,
    CRDS_RESOURCE_TYPE,
    SERVICE_REMOVAL_RESOURCE_TYPE,
    STALE_ROUTES_RESOURCE_TYPE,
)
from plan import facts
from plan.gateway_api import CHANNELS, GatewayApiRelease
from plan.routing import ROUTING_KINDS

HANDLER_DIR = Path(__file__).resolve().parent / "cluster_task_handler"
# aws-cdk-lib labels every object of a KubernetesManifest with this prefix and the
# construct's address, and prunes by that label on update (built-in kinds only).
PRUNE_LABEL_PREFIX = "aws.cdk.eks/prune-"


def task_scope(cluster_name: str) -> dict[str, str]:
    """The handler's environment: the cluster, the sha256 of every pinned Gateway API file of
    either channel (a switch of channel is an ordinary update), the routing kinds."""
    pinned = sorted({file.sha256 for files in CHANNELS.values() for file in files})
    return {
        tasks_contract.ENV_CLUSTER_NAME: cluster_name,
        tasks_contract.ENV_FILE_SHA256: " ".join(pinned),
        tasks_contract.ENV_FILE_SOURCE: facts.GATEWAY_API_SOURCE.split("{version}", 1)[0],
        tasks_contract.ENV_ROUTING_KINDS: ",".join(sorted(ROUTING_KINDS.values())),
    }


@dataclass(frozen=True)
class ClusterTasksProps:
    """
    cluster: the cluster to run kubectl against (through its private endpoint, from the
    cluster's private subnets).
    kubectl_layer: the kubectl/helm layer of the cluster's Kubernetes version.
    """

    cluster: eks.Cluster
    kubectl_layer: lambda_.ILayerVersion


class ClusterTasks(Construct):
    """A Python Lambda with the kubectl layer, whose role is a cluster admin through an
    access entry; served by a synchronous custom resource provider. Like aws-cdk-lib's
    kubectl handler it runs in the cluster's private subnets with the cluster security group:
    it reaches the control plane through the private endpoint (so the public one can be
    limited to the learner's addresses), and the internet (the pinned downloads) through
    the NAT gateway.

    Resources of its types depend on `access` so the role can act when they run.
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: ClusterTasksProps) -> None:
        super().__init__(scope, construct_id)
        cluster = props.cluster
        self.role = iam.Role(
            self,
            "HandlerRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Runs kubectl tasks on the {cluster.cluster_name} EKS cluster",
            # A function in a VPC needs to make and remove its network interfaces there;
            # Lambda checks this when the function is created. (aws-cdk-lib attaches it only
            # to roles it makes itself.)
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AWSLambdaVPCAccessExecutionRole"
                )
            ],
        )
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["eks:DescribeCluster"], resources=[cluster.cluster_arn])
        )
        log_group = logs.LogGroup(
            self,
            "Logs",
            retention=logs.RetentionDays.ONE_WEEK,
            removal_policy=RemovalPolicy.DESTROY,
        )
        log_group.grant_write(self.role)
        # The cluster's own subnet selection (aws_eks_v2 keeps the private ones for its
        # kubectl handler).
        subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        self.handler = lambda_.Function(
            self,
            "Handler",
            vpc=cluster.vpc,
            vpc_subnets=subnets,
            security_groups=[cluster.cluster_security_group],
            runtime=lambda_.Runtime.PYTHON_3_14,
            code=lambda_.Code.from_asset(str(HANDLER_DIR), exclude=["__pycache__"]),
            handler="index.on_event",
            layers=[props.kubectl_layer],
            timeout=Duration.minutes(10),
            memory_size=512,
            role=self.role,
            log_group=log_group,
            # Its own scope, which every event must stay within (scope_guard.py).
            environment=task_scope(cluster.cluster_name),
        )
        # Creating and deleting CRDs and admission policies takes a cluster-wide role.
        self.access = cluster.grant_cluster_admin(f"{construct_id}Access", self.role.role_arn)
        provider = cr.Provider(self, "Provider", on_event_handler=self.handler)
        self.service_token = provider.service_token

    def task(
        self, scope: Construct, resource_type: str, properties: dict[str, object]
    ) -> CustomResource:
        """One task for the handler, as `Resource` under scope; it runs once the handler's
        access entry exists, and on delete before that entry goes."""
        resource = CustomResource(
            scope,
            "Resource",
            service_token=self.service_token,
            resource_type=resource_type,
            properties=properties,
        )
        resource.node.add_dependency(self.access)
        return resource


@dataclass(frozen=True)
class GatewayApiCrdsProps:
    """
    tasks: the provider that applies them.
    cluster_name: the cluster they go into.
    release: the gateway-api release tag, its channel and that channel's pinned files.
    """

    tasks: ClusterTasks
    cluster_name: str
    release: GatewayApiRelease


class GatewayApiCrds(Construct):
    """One channel of the Gateway API, applied server-side at deploy time from the release's
    files, each checked against its sha256 first; a change of channel deletes the CRDs only
    the old one had. Make whatever uses the Gateway API depend on it. Its deletion leaves the
    CRDs: GatewayApiCrdRemoval deletes them."""

    def __init__(self, scope: Construct, construct_id: str, *, props: GatewayApiCrdsProps) -> None:
        super().__init__(scope, construct_id)
        release = props.release
        self.objects = [o for f in release.files for o in f.objects]
        self.resource = props.tasks.task(
            self,
            CRDS_RESOURCE_TYPE,
            {
                tasks_contract.CLUSTER_NAME: props.cluster_name,
                tasks_contract.FILES: [
                    {
                        tasks_contract.FILE_URL: f.url(release.version),
                        tasks_contract.FILE_SHA256: f.sha256,
                        tasks_contract.FILE_CRDS: list(f.crds),
                    }
                    for f in release.files
                ],
                tasks_contract.OBJECTS: self.objects,
                **({tasks_contract.REPLACES: list(release.replaces)} if release.replaces else {}),
            },
        )


@dataclass(frozen=True)
class GatewayApiCrdRemovalProps:
    """
    tasks: the provider that deletes.
    cluster_name: the cluster they are deleted from.
    crds: the resource that applies them (their objects, by kind and name, are deleted).
    """

    tasks: ClusterTasks
    cluster_name: str
    crds: GatewayApiCrds


class GatewayApiCrdRemoval(Construct):
    """Deletes the Gateway API's CRDs when the stack is deleted. Make it depend on the load
    balancer controller (it then goes first, so the NLBs of the Gateways that go with the
    CRDs are removed) and make whatever applies Gateway API objects depend on it (they then
    go before it)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, props: GatewayApiCrdRemovalProps
    ) -> None:
        super().__init__(scope, construct_id)
        self.resource = props.tasks.task(
            self,
            CRD_REMOVAL_RESOURCE_TYPE,
            {
                tasks_contract.CLUSTER_NAME: props.cluster_name,
                tasks_contract.OBJECTS: props.crds.objects,
            },
        )
        self.resource.node.add_dependency(props.crds)


@dataclass(frozen=True)
class ServiceRemovalProps:
    """
    tasks: the provider that deletes and waits.
    cluster_name: the cluster whose LoadBalancer Services go.
    timeout: how long a delete may wait before it gives up (and succeeds); within the
        handler's 10 minutes.
    """

    tasks: ClusterTasks
    cluster_name: str
    timeout: Duration = field(default_factory=lambda: Duration.minutes(8))


class ServiceRemoval(Construct):
    """When the stack is deleted, deletes every Service of type LoadBalancer in the cluster
    (the lab's, a Task's Gateway's, a learner's) and waits until they are gone, so their NLBs
    go with them. Make what creates such Services depend on this (it then runs after them on
    delete), and make the load balancer controller, which removes the NLBs, a dependency of
    it (it then runs before the controller is uninstalled)."""

    def __init__(self, scope: Construct, construct_id: str, *, props: ServiceRemovalProps) -> None:
        super().__init__(scope, construct_id)
        if props.timeout.to_minutes() > 9:
            raise ValueError("timeout must leave the 10-minute handler time to answer")
        self.resource = props.tasks.task(
            self,
            SERVICE_REMOVAL_RESOURCE_TYPE,
            {
                tasks_contract.CLUSTER_NAME: props.cluster_name,
                tasks_contract.TIMEOUT_SECONDS: int(props.timeout.to_seconds()),
            },
        )
        # The handler deletes only while the stack itself is being deleted.
        props.tasks.role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudformation:DescribeStacks"],
                resources=[Stack.of(self).stack_id],
            )
        )


def prune_label(manifest: eks.KubernetesManifest) -> str:
    """The label aws-cdk-lib puts on every object `manifest` applies."""
    return f"{PRUNE_LABEL_PREFIX}{manifest.node.addr}"


@dataclass(frozen=True)
class StaleRoutesProps:
    """
    tasks: the provider that deletes.
    cluster_name, namespace: where the routing objects live.
    manifests: the manifests that apply them; their prune labels find what they applied.
    keep: the routing objects the manifests apply now (`Kind.group/name`, as
        plan.routing.routing_key writes them), which stay.
    other_forms: the routing objects of the lab's other forms, deleted by name whether or
        not they carry a manifest's label.
    """

    tasks: ClusterTasks
    cluster_name: str
    namespace: str
    manifests: tuple[eks.KubernetesManifest, ...]
    keep: tuple[str, ...]
    other_forms: tuple[str, ...] = ()


class StaleRoutes(Construct):
    """After the routing manifests are applied, deletes the routing objects they applied
    before and no longer list (after a switch of ingress API or data plane), which
    `kubectl apply --prune` keeps because its default allowlist has built-in kinds only."""

    def __init__(self, scope: Construct, construct_id: str, *, props: StaleRoutesProps) -> None:
        super().__init__(scope, construct_id)
        self.resource = props.tasks.task(
            self,
            STALE_ROUTES_RESOURCE_TYPE,
            {
                tasks_contract.CLUSTER_NAME: props.cluster_name,
                tasks_contract.NAMESPACE: props.namespace,
                tasks_contract.KINDS: sorted(ROUTING_KINDS.values()),
                tasks_contract.SELECTORS: [prune_label(m) for m in props.manifests],
                tasks_contract.KEEP: sorted(props.keep),
                tasks_contract.NAMES: sorted(props.other_forms),
            },
        )
        for manifest in props.manifests:
            self.resource.node.add_dependency(manifest)
