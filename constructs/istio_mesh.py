"""IstioMesh: the Istio control plane, the data plane's node agents and the ingress gateway,
installed with Helm."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_eks_v2 as eks

from constructs import Construct
from constructs.capacity import Pods, Requests
from constructs.cluster_tasks import ClusterTasks, GatewayApiCrds, GatewayApiCrdsProps
from constructs.data_plane import SIDECAR_RESOURCES, AmbientDataPlane, DataPlane, SidecarDataPlane
from constructs.ingress_gateway import IngressGateway
from constructs.service_webhook import creates_no_services
from constructs.telemetry import TracingBackend

ISTIO_CHART_REPOSITORY = "https://blob.istio.io/istio-release/charts"
ISTIO_SYSTEM_NAMESPACE = "istio-system"

# istiod's chart asks for 500m CPU and 2 GiB by default, sized for production meshes; a lab
# with one app needs a fraction.
ISTIOD_RESOURCES = {"requests": {"cpu": "100m", "memory": "512Mi"}}


@dataclass(frozen=True)
class IstioMeshProps:
    """
    cluster: where to install.
    istio_version: chart version of every Istio chart (x.y.z).
    data_plane: sidecar (nothing beyond istiod) or ambient (istio-cni and ztunnel too).
    tasks: the kubectl task provider that applies the Gateway API's CRDs.
    load_balancer_controller: the AWS Load Balancer Controller; the gateway's Service is
        created after it (its webhook must see the Service) and deleted before it (so it
        removes the NLB).
    gateway: the istio/gateway chart's ingress gateway; None when the ingress is a Gateway
        API Gateway, which istiod deploys itself.
    tracing: the tracing backend istiod's proxies send spans to, or None for no tracing.
    tracing_sampling: the percentage of requests traced (with a backend).
    istiod_timeout: how long to wait for istiod to become ready.
    gateway_timeout: how long to wait for the gateway to become ready (and, on delete, for
        its Service and NLB to be gone).
    """

    cluster: eks.ICluster
    istio_version: str
    load_balancer_controller: Construct
    tasks: ClusterTasks
    data_plane: DataPlane = field(default_factory=SidecarDataPlane)
    gateway: IngressGateway | None = field(default_factory=IngressGateway)
    tracing: TracingBackend | None = None
    tracing_sampling: float = 100.0
    istiod_timeout: Duration = field(default_factory=lambda: Duration.minutes(10))
    node_agents_timeout: Duration = field(default_factory=lambda: Duration.minutes(10))
    gateway_timeout: Duration = field(default_factory=lambda: Duration.minutes(10))


class IstioMesh(Construct):
    """Deploys the Gateway API's CRDs, istio/base (CRDs), istiod (waited for until ready),
    in ambient mode istio-cni and ztunnel (each waited for on every node), and istio/gateway.

    `istiod` is the readiness point for Istio's validating webhook: depend on it, not on
    `base`. `data_plane_ready` are the constructs after which a new application pod joins the
    mesh (sidecar injection, or ambient redirection into ztunnel).
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: IstioMeshProps) -> None:
        super().__init__(scope, construct_id)
        self.gateway = props.gateway
        self.data_plane = props.data_plane
        # What every pod istiod builds from its proxy template asks for: an injected sidecar,
        # or a gateway deployed for a Gateway API Gateway.
        self.sidecar_requests = Requests.of(SIDECAR_RESOURCES)
        self.pods: tuple[Pods, ...] = (Pods("istiod", Requests.of(ISTIOD_RESOURCES)),)
        if props.gateway is not None:
            # The gateway's autoscaler starts with one replica.
            self.pods += (Pods(props.gateway.release, Requests.of(props.gateway.resources)),)

        def istio_chart(chart_id: str, chart: str, **options) -> eks.HelmChart:
            return eks.HelmChart(
                self,
                chart_id,
                cluster=props.cluster,
                repository=ISTIO_CHART_REPOSITORY,
                chart=chart,
                version=props.istio_version,
                create_namespace=True,
                **options,
            )

        # istiod watches the Gateway API's kinds from its start: their CRDs come first, in
        # either ingress mode, so every Gateway API tab of the Istio docs works.
        self.gateway_api_crds = GatewayApiCrds(
            self,
            "GatewayApiCrds",
            props=GatewayApiCrdsProps(tasks=props.tasks, cluster_name=props.cluster.cluster_name),
        )

        self.base = istio_chart(
            "Base",
            "base",
            release="istio-base",
            namespace=ISTIO_SYSTEM_NAMESPACE,
            values={"defaultRevision": "default"},
        )
        # So base installs while the nodes and the load balancer controller come up.
        creates_no_services(
            self.base,
            "istio/base renders CRDs, a ServiceAccount and the default revision's validating "
            "webhook (helm template of the release-1.31 chart with these values); its Services "
            "need remote-cluster values (global.remotePilotAddress) the lab never sets",
        )

        # wait: the gateway's `image: auto` and Bookinfo's sidecars are filled in by
        # istiod's injection webhook; anything created before istiod is ready runs unmeshed.
        self.istiod = istio_chart(
            "Istiod",
            "istiod",
            release="istiod",
            namespace=ISTIO_SYSTEM_NAMESPACE,
            values=istiod_values(props.tracing, props.data_plane),
            wait=True,
            timeout=props.istiod_timeout,
        )
        self.istiod.node.add_dependency(self.base)
        self.istiod.node.add_dependency(self.gateway_api_crds)

        self.data_plane_ready: tuple[Construct, ...] = (self.istiod,)
        self.node_agents: tuple[eks.HelmChart, ...] = ()
        if isinstance(props.data_plane, AmbientDataPlane):
            self.node_agents = self._ambient_node_agents(
                props.data_plane, istio_chart, props.node_agents_timeout
            )
            self.data_plane_ready += self.node_agents

        # Mesh-wide: every proxy traces this share of requests into the backend. A
        # Telemetry resource needs Istio's CRDs and validating webhook, so istiod first.
        self.telemetry: eks.KubernetesManifest | None = None
        if props.tracing is not None:
            self.telemetry = eks.KubernetesManifest(
                self,
                "Telemetry",
                cluster=props.cluster,
                manifest=[props.tracing.telemetry(props.tracing_sampling)],
            )
            self.telemetry.node.add_dependency(self.istiod)

        self.gateway_chart: eks.HelmChart | None = None
        if props.gateway is not None:
            # wait: on delete, `helm uninstall --wait` returns only once the Service is gone,
            # i.e. once the load balancer controller has removed the NLB behind its finalizer;
            # only then may CloudFormation go on to uninstall the controller.
            self.gateway_chart = istio_chart(
                "Gateway",
                "gateway",
                release=props.gateway.release,
                namespace=props.gateway.namespace,
                values=props.gateway.chart_values(),
                wait=True,
                timeout=props.gateway_timeout,
            )
            self.gateway_chart.node.add_dependency(self.istiod)
            self.gateway_chart.node.add_dependency(props.load_balancer_controller)

    def _ambient_node_agents(
        self, plane: AmbientDataPlane, istio_chart, timeout: Duration
    ) -> tuple[eks.HelmChart, ...]:
        """istio-cni and ztunnel, as Istio's Helm guide for ambient installs them (release
        names, namespace and profile); both DaemonSets are waited for on every node, since a
        pod started on a node before both run there is not redirected into the mesh."""
        agents = []
        for chart_id, chart, release, values, renders in (
            ("Cni", "cni", "istio-cni", plane.cni_values(), "RBAC, a ConfigMap, a DaemonSet"),
            ("Ztunnel", "ztunnel", "ztunnel", plane.ztunnel_values(), "a DaemonSet"),
        ):
            agent = istio_chart(
                chart_id,
                chart,
                release=release,
                namespace=ISTIO_SYSTEM_NAMESPACE,
                values=values,
                wait=True,
                timeout=timeout,
            )
            # istiod first: ztunnel fetches its certificates and configuration from istiod;
            # on delete both DaemonSets go before istiod.
            agent.node.add_dependency(self.istiod)
            creates_no_services(
                agent,
                f"istio/{chart} renders a ServiceAccount, {renders}; no Service (helm "
                "template of the release-1.31 chart with these values)",
            )
            agents.append(agent)
        self.pods += (
            Pods("ztunnel", Requests.of(plane.ztunnel_resources), per_node=True),
            Pods("istio-cni-node", Requests.of(plane.cni_resources), per_node=True),
        )
        return tuple(agents)


def istiod_values(
    tracing: TracingBackend | None, data_plane: DataPlane | None = None
) -> dict[str, Any]:
    """istiod's chart values: modest requests, the data plane's profile, and the tracing
    extension provider."""
    plane = (data_plane or SidecarDataPlane()).istiod_values()
    values: dict[str, Any] = {
        **plane,
        "resources": ISTIOD_RESOURCES,
        "global": {**plane.get("global", {}), "proxy": {"resources": SIDECAR_RESOURCES}},
    }
    if tracing is not None:
        values["meshConfig"] = {
            "enableTracing": True,
            "extensionProviders": [tracing.extension_provider()],
        }
    return values
