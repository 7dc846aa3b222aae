"""IstioMesh: the Gateway API's CRDs, the Istio control plane, the data plane's node agents
and the gateways' charts, as the plan describes them."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Duration
from aws_cdk import aws_eks_v2 as eks

from constructs import Construct
from constructs.barriers import Barrier
from constructs.cluster_tasks import ClusterTasks, GatewayApiCrds, GatewayApiCrdsProps
from constructs.kubernetes import helm_chart
from plan.mesh import MeshPlan


@dataclass(frozen=True)
class IstioMeshProps:
    """
    cluster: where to install.
    mesh: the plan's releases and objects.
    tasks: the kubectl task provider that applies the Gateway API's CRDs.
    nodes: istiod's chart waits for its pod, which needs nodes to run on.
    load_balancers: what gives LoadBalancer Services their NLBs and removes them on delete
        (the controller, and the removal of every such Service): the gateway chart is
        created after it and uninstalled before it, so its NLB goes with its Service.
    istiod_timeout, node_agents_timeout: how long to wait for istiod, and for the node
        agents on every node, to become ready.
    gateway_timeout: how long to wait for the gateway to become ready (and, on delete, for
        its Service and NLB to be gone).
    """

    cluster: eks.ICluster
    mesh: MeshPlan
    tasks: ClusterTasks
    nodes: Barrier
    load_balancers: Barrier
    istiod_timeout: Duration = field(default_factory=lambda: Duration.minutes(10))
    node_agents_timeout: Duration = field(default_factory=lambda: Duration.minutes(10))
    gateway_timeout: Duration = field(default_factory=lambda: Duration.minutes(10))


class IstioMesh(Construct):
    """Deploys the Gateway API's CRDs, istio/base (CRDs), istiod (waited for until ready), the
    data plane's node agents (each waited for on every node) and the gateways' charts.

    `istiod` is the readiness point for Istio's validating webhook: depend on it, not on
    `base`. `data_plane_ready` holds what must wait until a new application pod joins the
    mesh (sidecar injection, or ambient redirection into ztunnel).
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: IstioMeshProps) -> None:
        super().__init__(scope, construct_id)
        mesh = props.mesh

        def chart(chart_id: str, release, timeout: Duration | None = None) -> eks.HelmChart:
            return helm_chart(
                self, chart_id, cluster=props.cluster, release=release, timeout=timeout
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

        self.gateway_chart: eks.HelmChart | None = None
        if mesh.gateway is not None:
            # Its `helm uninstall --wait` returns only once the Service and its NLB are gone;
            # only then may CloudFormation go on to uninstall the controller. The id is not
            # the "Gateway" of labs whose release was istio-ingress in its own namespace:
            # aws-cdk-lib's helm handler would upgrade a renamed release in place and leave
            # the old one (and its NLB) running, whereas a new id makes CloudFormation
            # install this release and then uninstall the old one.
            self.gateway_chart = chart("IngressGateway", mesh.gateway, props.gateway_timeout)
            istiod_ready.hold(self.gateway_chart)
            props.load_balancers.hold(self.gateway_chart)

        # Inside the cluster only (ClusterIP): it needs istiod's injection, not the controller.
        self.egress_gateway_chart = chart(
            "EgressGateway", mesh.egress_gateway, props.gateway_timeout
        )
        istiod_ready.hold(self.egress_gateway_chart)
