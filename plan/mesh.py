"""Istio as the plan installs it: istio/base, istiod with the data plane's profile and the
tracing provider, the data plane's node agents, the ingress gateway's chart (if a chart
deploys it), the mesh-wide Telemetry, and the Gateway API's CRDs istiod watches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from plan import facts
from plan.capacity import Pods, Requests
from plan.charts import HelmRelease
from plan.data_plane import SIDECAR_RESOURCES, DataPlane
from plan.gateway_api import GatewayApiRelease
from plan.ingress import Ingress
from plan.kube import KubernetesObject
from plan.observability import TracingBackend

# istiod's chart asks for 500m CPU and 2 GiB by default, sized for production meshes; a lab
# with one app needs a fraction.
ISTIOD_RESOURCES = {"requests": {"cpu": "100m", "memory": "512Mi"}}


def istiod_values(tracing: TracingBackend | None, data_plane: DataPlane) -> dict[str, Any]:
    """istiod's chart values: modest requests, the data plane's profile, and the tracing
    extension provider."""
    plane = data_plane.istiod_values()
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


@dataclass(frozen=True)
class MeshPlan:
    base: HelmRelease
    # wait: the gateway's `image: auto` and Bookinfo's sidecars are filled in by istiod's
    # injection webhook; anything created before istiod is ready runs unmeshed.
    istiod: HelmRelease
    node_agents: tuple[HelmRelease, ...]
    gateway: HelmRelease | None
    # Mesh-wide: every proxy traces a share of requests into the backend (none without one).
    telemetry: tuple[KubernetesObject, ...]
    # istiod watches the Gateway API's kinds from its start: their CRDs come first, in either
    # ingress mode, so every Gateway API tab of the Istio docs works.
    gateway_api: GatewayApiRelease = field(default_factory=GatewayApiRelease)

    @classmethod
    def of(
        cls,
        *,
        istio_version: str,
        ingress: Ingress,
        data_plane: DataPlane,
        tracing: TracingBackend | None,
        tracing_sampling: float,
    ) -> MeshPlan:
        def istio_release(chart_release: tuple[str, str], values, **options) -> HelmRelease:
            chart, release = chart_release
            return HelmRelease(
                facts.ISTIO_CHART_REPOSITORY,
                chart,
                istio_version,
                release,
                facts.ISTIO_SYSTEM,
                values,
                **options,
            )

        return cls(
            base=istio_release(
                facts.ISTIO_BASE,
                {"defaultRevision": "default"},
                # So base installs while the nodes and the load balancer controller come up.
                no_services=(
                    "istio/base renders CRDs, a ServiceAccount and the default revision's "
                    "validating webhook (helm template of the release-1.31 chart with these "
                    "values); its Services need remote-cluster values (global.remotePilotAddress)"
                    " the lab never sets"
                ),
            ),
            istiod=istio_release(facts.ISTIOD, istiod_values(tracing, data_plane), wait=True),
            node_agents=data_plane.node_agents(istio_version),
            gateway=ingress.gateway_release(istio_version),
            telemetry=(tracing.telemetry(tracing_sampling),) if tracing is not None else (),
        )

    @property
    def proxy_requests(self) -> Requests:
        """What every pod istiod builds from its proxy template asks for: an injected sidecar,
        or a gateway deployed for a Gateway API Gateway."""
        return Requests.of(self.istiod.values["global"]["proxy"]["resources"])

    @property
    def pods(self) -> tuple[Pods, ...]:
        return (Pods("istiod", Requests.of(self.istiod.values["resources"])),)
