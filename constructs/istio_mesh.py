"""IstioMesh: the Istio control plane and its ingress gateway, installed with Helm."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Duration
from aws_cdk import aws_eks_v2 as eks

from constructs import Construct
from constructs.ingress_gateway import IngressGateway
from constructs.service_webhook import creates_no_services

ISTIO_CHART_REPOSITORY = "https://blob.istio.io/istio-release/charts"
ISTIO_SYSTEM_NAMESPACE = "istio-system"


@dataclass(frozen=True)
class IstioMeshProps:
    """
    cluster: where to install.
    istio_version: chart version of base, istiod and gateway (x.y.z).
    load_balancer_controller: the AWS Load Balancer Controller; the gateway's Service is
        created after it (its webhook must see the Service) and deleted before it (so it
        removes the NLB).
    gateway: the ingress gateway description; defaults to the Istio docs' layout.
    istiod_timeout: how long to wait for istiod to become ready.
    gateway_timeout: how long to wait for the gateway to become ready (and, on delete, for
        its Service and NLB to be gone).
    """

    cluster: eks.ICluster
    istio_version: str
    load_balancer_controller: Construct
    gateway: IngressGateway = field(default_factory=IngressGateway)
    istiod_timeout: Duration = field(default_factory=lambda: Duration.minutes(10))
    gateway_timeout: Duration = field(default_factory=lambda: Duration.minutes(10))


class IstioMesh(Construct):
    """Deploys istio/base (CRDs), istiod (waited for until ready) and istio/gateway.

    `istiod` is the readiness point for anything that needs sidecar injection or Istio's
    validating webhook: depend on it, not on `base`.
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: IstioMeshProps) -> None:
        super().__init__(scope, construct_id)
        self.gateway = props.gateway

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
            wait=True,
            timeout=props.istiod_timeout,
        )
        self.istiod.node.add_dependency(self.base)

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
