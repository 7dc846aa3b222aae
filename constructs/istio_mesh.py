"""IstioMesh: the Gateway API's CRDs, the Istio control plane, the data plane's node agents,
the ingress gateway's chart and the mesh-wide Telemetry, as the plan describes them."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Duration
from aws_cdk import aws_eks_v2 as eks

from constructs import Construct
from constructs.barriers import Barrier
from constructs.cluster_tasks import ClusterTasks, GatewayApiCrds, GatewayApiCrdsProps
from constructs.kubernetes import helm_chart, manifest
from plan.mesh import MeshPlan


@dataclass(frozen=True)
class IstioMeshProps:
    """
    cluster: where to install.
    mesh: the plan's releases and objects.
    tasks: the kubectl task provider that applies the Gateway API's CRDs.
    nodes: istiod's chart waits for its pod, which needs nodes to run on.
    service_webhook: what may create a Service waits for (the load balancer controller's
        chart, whose webhook rejects Services until its pods run).
    load_balancer_controller: the gateway's Service gets its NLB from the controller: the
        gateway is created after it and deleted before it (so the controller removes the NLB).
    istiod_timeout, node_agents_timeout: how long to wait for istiod, and for the node
        agents on every node, to become ready.
    gateway_timeout: how long to wait for the gateway to become ready (and, on delete, for
        its Service and NLB to be gone).
    """

    cluster: eks.ICluster
    mesh: MeshPlan
    tasks: ClusterTasks
    nodes: Barrier
    service_webhook: Barrier
    load_balancer_controller: Barrier
    istiod_timeout: Duration = field(default_factory=lambda: Duration.minutes(10))
    node_agents_timeout: Duration = field(default_factory=lambda: Duration.minutes(10))
    gateway_timeout: Duration = field(default_factory=lambda: Duration.minutes(10))


class IstioMesh(Construct):
    """Deploys the Gateway API's CRDs, istio/base (CRDs), istiod (waited for until ready), the
    data plane's node agents (each waited for on every node), the gateway chart and the
    mesh-wide Telemetry.

    `istiod` is the readiness point for Istio's validating webhook: depend on it, not on
    `base`. `data_plane_ready` holds what must wait until a new application pod joins the
    mesh (sidecar injection, or ambient redirection into ztunnel).
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: IstioMeshProps) -> None:
        super().__init__(scope, construct_id)
        mesh = props.mesh

        def chart(chart_id: str, release, timeout: Duration | None = None) -> eks.HelmChart:
            return helm_chart(
                self,
                chart_id,
                cluster=props.cluster,
                release=release,
                service_webhook=props.service_webhook,
                timeout=timeout,
            )

        self.gateway_api_crds = GatewayApiCrds(
            self,
            "GatewayApiCrds",
            props=GatewayApiCrdsProps(
                tasks=props.tasks,
                cluster_name=props.cluster.cluster_name,
                release=mesh.gateway_api,
            ),
        )
        self.base = chart("Base", mesh.base)
        self.istiod = chart("Istiod", mesh.istiod, props.istiod_timeout)
        self.istiod.node.add_dependency(self.base)
        self.istiod.node.add_dependency(self.gateway_api_crds)
        props.nodes.hold(self.istiod)
        istiod_ready = Barrier((self.istiod,))

        self.node_agents = tuple(
            chart(agent.chart.title(), agent, props.node_agents_timeout)
            for agent in mesh.node_agents
        )
        # istiod first: ztunnel fetches its certificates and configuration from istiod; on
        # delete both DaemonSets go before istiod.
        istiod_ready.hold(*self.node_agents)
        self.data_plane_ready = istiod_ready + Barrier(self.node_agents)

        # A Telemetry resource needs Istio's CRDs and validating webhook: istiod first.
        self.telemetry: eks.KubernetesManifest | None = None
        if mesh.telemetry:
            self.telemetry = manifest(
                self,
                "Telemetry",
                cluster=props.cluster,
                objects=mesh.telemetry,
                service_webhook=props.service_webhook,
            )
            istiod_ready.hold(self.telemetry)

        self.gateway_chart: eks.HelmChart | None = None
        if mesh.gateway is not None:
            # Its `helm uninstall --wait` returns only once the Service and its NLB are gone;
            # only then may CloudFormation go on to uninstall the controller.
            self.gateway_chart = chart("Gateway", mesh.gateway, props.gateway_timeout)
            istiod_ready.hold(self.gateway_chart)
            props.load_balancer_controller.hold(self.gateway_chart)
