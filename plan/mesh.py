"""Istio as the plan installs it: istio/base, istiod with the data plane's profile and the
demo profile's mesh settings, the data plane's node agents, the gateways' charts, and the
Gateway API's CRDs istiod watches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from checks.istio_analyzer import GatewayWorkload
from plan import facts
from plan.capacity import Pods, Requests
from plan.charts import HelmRelease
from plan.data_plane import SIDECAR_RESOURCES, DataPlane
from plan.egress import EgressGateway
from plan.gateway_api import GatewayApiRelease
from plan.ingress import ISTIO_GATEWAY_CLASS, Ingress, NlbSettings
from plan.istio_settings import IstioSettings
from plan.observability import TracingBackend, extension_providers

# The demo profile's request for istiod (the chart's default is 500m CPU and 2 GiB, sized for
# production meshes).
ISTIOD_RESOURCES = {"requests": {"cpu": "10m", "memory": "100Mi"}}
ACCESS_LOG_FILE = "/dev/stdout"
EGRESS = EgressGateway()
# Istio's own default metrics provider, named again because meshConfig.defaultProviders is
# replaced as a whole: without it the proxies would stop serving Prometheus stats.
METRICS_PROVIDER = "prometheus"


def mesh_config(tracing: TracingBackend | None) -> dict[str, Any]:
    """istiod's meshConfig: the demo profile's access logs and extension providers, and the
    default providers that trace into the lab's backend.

    Tracing is on through meshConfig.defaultProviders, not through a Telemetry resource in
    istio-system: a Task's own root Telemetry (a selector-less one there) then takes effect
    instead of being shadowed by an older one of the lab's, and the access-log Task's
    `mesh-default`, which names no tracing, leaves tracing to these defaults.
    """
    defaults: dict[str, list[str]] = {"metrics": [METRICS_PROVIDER]}
    if tracing is not None:
        defaults["tracing"] = [tracing.name]
    return {
        "accessLogFile": ACCESS_LOG_FILE,
        "extensionProviders": [p.mesh_config() for p in extension_providers(tracing)],
        "defaultProviders": defaults,
    }


def istiod_values(
    tracing: TracingBackend | None,
    data_plane: DataPlane,
    *,
    trace_sampling: float,
    nlb: NlbSettings,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """istiod's chart values: the data plane's profile, the demo profile's mesh settings and
    requests, the sampling rate, and the NLB of every Gateway API Gateway of class `istio`.

    Set here rather than by `profile: demo`, which could not be combined with the ambient
    profile, and whose `pilot` section (sampling, istiod's requests) the istiod chart does
    not read: its templates read them at the root (`traceSampling`, `resources`).
    """
    plane = data_plane.istiod_values()
    return {
        **plane,
        **({"env": env} if env else {}),
        "autoscaleEnabled": False,
        "resources": ISTIOD_RESOURCES,
        # PILOT_TRACE_SAMPLING: the percentage every proxy samples, unless a Telemetry
        # resource or a pod's proxy config says otherwise.
        "traceSampling": trace_sampling,
        "meshConfig": mesh_config(tracing),
        "global": {**plane.get("global", {}), "proxy": {"resources": SIDECAR_RESOURCES}},
        # istiod's defaults for the Services of an `istio`-class Gateway (a ConfigMap it
        # overlays on each): the lab's internet-facing NLB, so a Gateway a Task creates is
        # reachable from the learner's machine. Annotations only: a Gateway that asks for
        # a ClusterIP Service (networking.istio.io/service-type) still gets one.
        "gatewayClasses": {
            ISTIO_GATEWAY_CLASS: {
                "service": {"metadata": {"annotations": nlb.service_annotations()}}
            }
        },
    }


@dataclass(frozen=True)
class MeshPlan:
    base: HelmRelease
    # wait: the gateway's `image: auto` and Bookinfo's sidecars are filled in by istiod's
    # injection webhook; anything created before istiod is ready runs unmeshed.
    istiod: HelmRelease
    node_agents: tuple[HelmRelease, ...]
    # The ingress gateway's chart, if a chart deploys it, and the egress gateway's.
    gateway: HelmRelease | None
    egress_gateway: HelmRelease
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
        gateway_api: GatewayApiRelease,
        settings: IstioSettings,
    ) -> MeshPlan:
        """Raises SettingsError when `settings` name one of the lab's extension providers."""

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
            ),
            istiod=istio_release(
                facts.ISTIOD,
                settings.overlay(
                    istiod_values(
                        tracing,
                        data_plane,
                        trace_sampling=tracing_sampling,
                        nlb=ingress.nlb,
                        env=gateway_api.istiod_env,
                    ),
                    lab_providers=[p.name for p in extension_providers(tracing)],
                ),
                wait=True,
            ),
            node_agents=data_plane.node_agents(istio_version),
            gateway=ingress.gateway_release(istio_version),
            egress_gateway=EGRESS.gateway_release(istio_version),
            gateway_api=gateway_api,
        )

    @property
    def proxy_requests(self) -> Requests:
        """What every pod istiod builds from its proxy template asks for: an injected sidecar,
        or a gateway deployed for a Gateway API Gateway."""
        return Requests.of(self.istiod.values["global"]["proxy"]["resources"])

    @property
    def pods(self) -> tuple[Pods, ...]:
        return (Pods("istiod", Requests.of(self.istiod.values["resources"])), *EGRESS.pods())

    @property
    def gateway_workloads(self) -> tuple[GatewayWorkload, ...]:
        """The gateway pods of the mesh itself (the egress gateway), for the analyzer."""
        return (EGRESS.workload(),)
