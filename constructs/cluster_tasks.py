"""ClusterTasks: a small kubectl custom resource provider for what aws-cdk-lib's own cannot do;
GatewayApiCrds: the Kubernetes Gateway API's CRDs, applied from their pinned release;
ServiceRemoval: a wait on delete for a Service that istiod generated; StaleRoutes: deletes
routing objects the lab's manifests no longer list.

Why not aws-cdk-lib's constructs: a KubernetesManifest needs the objects in the template,
and the Gateway API's CRDs must not be copied into this repository (nor can 1.1 MB of them
fit a template); a HelmChart stores every file of a chart in its release Secret (1 MiB at
most), and no published chart carries only the standard CRDs (Envoy Gateway's
gateway-crds-helm, which carries several bundles, is about 1.8 MB).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aws_cdk import CustomResource, Duration, RemovalPolicy
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr

from constructs import Construct

HANDLER_DIR = Path(__file__).resolve().parent / "cluster_task_handler"
CRDS_RESOURCE_TYPE = "Custom::GatewayApiCrds"
SERVICE_REMOVAL_RESOURCE_TYPE = "Custom::ServiceRemoval"
STALE_ROUTES_RESOURCE_TYPE = "Custom::StaleRoutes"
# aws-cdk-lib labels every object of a KubernetesManifest with this prefix and the
# construct's address, and prunes by that label on update (built-in kinds only).
PRUNE_LABEL_PREFIX = "aws.cdk.eks/prune-"
# The routing kinds the lab's manifests apply, as (API group, kind) -> the resource name
# kubectl lists them by: the kinds `kubectl apply --prune` leaves behind.
ROUTING_KINDS: Mapping[tuple[str, str], str] = {
    ("networking.istio.io", "Gateway"): "gateways.networking.istio.io",
    ("networking.istio.io", "VirtualService"): "virtualservices.networking.istio.io",
    ("networking.istio.io", "DestinationRule"): "destinationrules.networking.istio.io",
    ("gateway.networking.k8s.io", "Gateway"): "gateways.gateway.networking.k8s.io",
    ("gateway.networking.k8s.io", "HTTPRoute"): "httproutes.gateway.networking.k8s.io",
}

# The Gateway API release Istio 1.31 builds against (its go.mod pins v1.6.0; pilot requires
# the v1.6 bundle, e.g. for TCPRoute), at its latest patch.
GATEWAY_API_VERSION = "v1.6.1"
GATEWAY_API_SOURCE = (
    "https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/{version}/"
    "config/crd/standard/{file}"
)


@dataclass(frozen=True)
class PinnedFile:
    """One file of the release: its name, the sha256 of its content, and the objects in it
    (as `kubectl delete` names them)."""

    file: str
    sha256: str
    objects: tuple[str, ...]

    @property
    def crds(self) -> tuple[str, ...]:
        return tuple(o.split("/", 1)[1] for o in self.objects if o.startswith("crd/"))


def _crd(resource: str, sha256: str) -> PinnedFile:
    return PinnedFile(
        f"gateway.networking.k8s.io_{resource}.yaml",
        sha256,
        (f"crd/{resource}.gateway.networking.k8s.io",),
    )


# The standard channel's files, as the release's standard-install.yaml concatenates them;
# each sha256 is that of the file at the tag (computed from the gateway-api repository's
# v1.6.1 tree: `git show v1.6.1:config/crd/standard/<file> | sha256sum`).
STANDARD_CHANNEL: tuple[PinnedFile, ...] = (
    _crd("backendtlspolicies", "0d48c9e4b53dd9510cf615b9b1192d9d7afb07a1cc0498c9515627cb1c075419"),
    _crd("gatewayclasses", "53710048ba26f8620eed59d5e51b157ecf040daf5c6eef31a4b991e0808c4be5"),
    _crd("gateways", "25b885f5870b8fff1ae82efa2628b2761cef3745900c2aecf8fb76629a01255a"),
    _crd("grpcroutes", "53a8d029da8f07e55d3fa58a5cf6de5950dab19fbb8d6a8082fb5e51ca5ef6fc"),
    _crd("httproutes", "a424a0d6c953b162e71d1d97bb7e75012d8f1ac264e7274f2763d1b96ab39852"),
    _crd("listenersets", "bf4d4b02564999b2558b96e31465129895db9b3a8adfb90adb9c80eac52a3a70"),
    _crd("referencegrants", "8c645e9333cfa67790cc2a53e0c00076f88b2bd4230d2b49688c78bc34f9b2c3"),
    _crd("tcproutes", "d5104d0cf30e924f5e3c9e2e76abd46876401c34ca33b9e79321523eee78c7f6"),
    _crd("tlsroutes", "bb8b67926e5d9652cbfd2e19063b7c1d9e78806c9dd671608f57baef2f2e3bbb"),
    _crd("udproutes", "4b80684c2bf8ef4b0a2a3ab45164ac9f96258fc69912645ff50ced595b0aa6de"),
    PinnedFile(
        "gateway.networking.k8s.io_vap_safeupgrades.yaml",
        "afb0ea1b3cc2e9344d93b0926fbe741aeb48ab4439f9f7b4b77b9ac94faf6c2e",
        (
            "validatingadmissionpolicybinding/safe-upgrades.gateway.networking.k8s.io",
            "validatingadmissionpolicy/safe-upgrades.gateway.networking.k8s.io",
        ),
    ),
)


@dataclass(frozen=True)
class ClusterTasksProps:
    """
    cluster: the cluster to run kubectl against (through its public endpoint).
    kubectl_layer: the kubectl/helm layer of the cluster's Kubernetes version.
    """

    cluster: eks.Cluster
    kubectl_layer: lambda_.ILayerVersion


class ClusterTasks(Construct):
    """A Python Lambda with the kubectl layer, outside the VPC (it downloads from the
    internet and reaches the cluster's public endpoint), whose role is a cluster admin
    through an access entry; served by a synchronous custom resource provider.

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
        self.handler = lambda_.Function(
            self,
            "Handler",
            runtime=lambda_.Runtime.PYTHON_3_14,
            code=lambda_.Code.from_asset(str(HANDLER_DIR), exclude=["__pycache__"]),
            handler="handler.on_event",
            layers=[props.kubectl_layer],
            timeout=Duration.minutes(10),
            memory_size=512,
            role=self.role,
            log_group=log_group,
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
    version: the gateway-api release tag; files: its pinned standard-channel files.
    """

    tasks: ClusterTasks
    cluster_name: str
    version: str = GATEWAY_API_VERSION
    files: Sequence[PinnedFile] = STANDARD_CHANNEL


class GatewayApiCrds(Construct):
    """The Gateway API's standard channel, applied server-side at deploy time from the
    release's files, each checked against its sha256 first. Make whatever uses the Gateway
    API depend on it; on delete it goes after them."""

    def __init__(self, scope: Construct, construct_id: str, *, props: GatewayApiCrdsProps) -> None:
        super().__init__(scope, construct_id)
        self.version = props.version
        self.files = tuple(props.files)
        self.resource = props.tasks.task(
            self,
            CRDS_RESOURCE_TYPE,
            {
                "ClusterName": props.cluster_name,
                "Files": [
                    {
                        "Url": GATEWAY_API_SOURCE.format(version=props.version, file=f.file),
                        "Sha256": f.sha256,
                        "Crds": list(f.crds),
                    }
                    for f in self.files
                ],
                "Objects": [o for f in self.files for o in f.objects],
            },
        )


@dataclass(frozen=True)
class ServiceRemovalProps:
    """
    tasks: the provider that waits.
    cluster_name, namespace, service: the Service to wait for.
    timeout: how long a delete may wait before it gives up (and succeeds); within the
        handler's 10 minutes.
    """

    tasks: ClusterTasks
    cluster_name: str
    namespace: str
    service: str
    timeout: Duration = field(default_factory=lambda: Duration.minutes(8))


class ServiceRemoval(Construct):
    """On delete, waits until a Service is gone. Make what deletes the Service (e.g. a
    Gateway API Gateway, whose generated Service goes after it) depend on this, and make
    this depend on what must still run meanwhile (the load balancer controller)."""

    def __init__(self, scope: Construct, construct_id: str, *, props: ServiceRemovalProps) -> None:
        super().__init__(scope, construct_id)
        if props.timeout.to_minutes() > 9:
            raise ValueError("timeout must leave the 10-minute handler time to answer")
        self.resource = props.tasks.task(
            self,
            SERVICE_REMOVAL_RESOURCE_TYPE,
            {
                "ClusterName": props.cluster_name,
                "Namespace": props.namespace,
                "Service": props.service,
                "TimeoutSeconds": int(props.timeout.to_seconds()),
            },
        )


def prune_label(manifest: eks.KubernetesManifest) -> str:
    """The label aws-cdk-lib puts on every object `manifest` applies."""
    return f"{PRUNE_LABEL_PREFIX}{manifest.node.addr}"


def routing_key(obj: Mapping[str, Any]) -> str | None:
    """`Kind.group/name` of a routing object (as the handler compares them), else None."""
    group = obj["apiVersion"].rpartition("/")[0]
    if (group, obj["kind"]) not in ROUTING_KINDS:
        return None
    return f"{obj['kind']}.{group}/{obj['metadata']['name']}"


@dataclass(frozen=True)
class StaleRoutesProps:
    """
    tasks: the provider that deletes.
    cluster_name, namespace: where the routing objects live.
    manifests: the manifests that apply them; their prune labels find what they applied.
    objects: every object the manifests apply now (the routing objects among them stay).
    """

    tasks: ClusterTasks
    cluster_name: str
    namespace: str
    manifests: tuple[eks.KubernetesManifest, ...]
    objects: Sequence[Mapping[str, Any]]


class StaleRoutes(Construct):
    """After the routing manifests are applied, deletes the routing objects they applied
    before and no longer list (after a switch of ingress API or data plane), which
    `kubectl apply --prune` keeps because its default allowlist has built-in kinds only."""

    def __init__(self, scope: Construct, construct_id: str, *, props: StaleRoutesProps) -> None:
        super().__init__(scope, construct_id)
        keep = sorted(k for k in (routing_key(o) for o in props.objects) if k is not None)
        self.resource = props.tasks.task(
            self,
            STALE_ROUTES_RESOURCE_TYPE,
            {
                "ClusterName": props.cluster_name,
                "Namespace": props.namespace,
                "Kinds": sorted(ROUTING_KINDS.values()),
                "Selectors": [prune_label(m) for m in props.manifests],
                "Keep": keep,
            },
        )
        for manifest in props.manifests:
            self.resource.node.add_dependency(manifest)
