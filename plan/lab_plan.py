"""The whole lab as one plan: `build_plan` turns the validated configuration into a `LabPlan`
that holds every Kubernetes object and every chart's values the stacks apply, and refuses
(with one line each) what cannot work: a scenario without a form for the data plane, a node
group too small for the lab's pods, an Istio configuration the analyzer rejects.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from checks.istio_analyzer import AnalysisError, Finding, analyze
from plan import facts, modes
from plan.bookinfo import BookinfoPlan
from plan.capacity import (
    EKS_SYSTEM_PODS,
    INSTANCE_TYPES,
    InstanceType,
    Pods,
    Requests,
    add_up,
    sample_app_headroom,
)
from plan.config import SUPPORTED_KUBERNETES, ConfigError, KubernetesRelease, LabConfig
from plan.data_plane import DataPlane
from plan.gateway_api import GatewayApiRelease
from plan.ingress import Ingress, NlbSettings
from plan.mesh import MeshPlan
from plan.observability import ObservabilityPlan, TracingBackend
from plan.routing import (
    RESERVED_SUBSETS,
    RoutingPlan,
    edge_routing,
    every_form_keys,
    scenario_objects,
)
from plan.scenarios import SCENARIOS, Scenario, ScenarioForm

# The controller's chart sets no requests; these make its two replicas count in the
# capacity check (it needs about 50 MiB each in a cluster this size).
LOAD_BALANCER_CONTROLLER_REPLICAS = 2
LOAD_BALANCER_CONTROLLER_RESOURCES = {"requests": {"cpu": "50m", "memory": "128Mi"}}

# The configuration keys the `LabSettings` output reports, as the deployed lab has them.
SETTINGS_KEYS = (
    "clusterName",
    "kubernetesVersion",
    "istioVersion",
    "ingressApi",
    "dataplane",
    "scenario",
    "tracing",
    "tracingSampling",
    "gatewayApiChannel",
    "istio",
    "allowedCidrs",
    "kialiWizards",
    "bookinfoNamespace",
    "nodeInstanceType",
    "nodeCount",
)


@dataclass(frozen=True)
class ControllerPlan:
    """The AWS Load Balancer Controller, which aws-cdk-lib's AlbController installs."""

    version: str = facts.LOAD_BALANCER_CONTROLLER_VERSION
    replicas: int = LOAD_BALANCER_CONTROLLER_REPLICAS
    # Where aws-cdk-lib's AlbController installs the chart, and under which names.
    chart: str = facts.LOAD_BALANCER_CONTROLLER_RELEASE
    release: str = facts.LOAD_BALANCER_CONTROLLER_RELEASE
    namespace: str = "kube-system"
    resources: Mapping[str, Any] = field(default_factory=lambda: LOAD_BALANCER_CONTROLLER_RESOURCES)

    @property
    def values(self) -> dict[str, Any]:
        """What the lab adds to the chart's values.

        The Service mutator webhook is off. It only writes `loadBalancerClass:
        service.k8s.aws/nlb` into LoadBalancer Services created without a class, and with
        failurePolicy Fail it made every chart that may create a Service (istiod, the
        gateways, the observability charts, Bookinfo) wait for the controller's pods. Every
        Service the lab means for the controller names the class itself (NlbSettings), or
        carries the `external` type annotation that the controller claims (v3.2.2:
        IsServiceSupported in pkg/service/service_utils.go) and the AWS cloud provider skips.
        """
        return {
            "replicaCount": self.replicas,
            "resources": self.resources,
            "enableServiceMutatorWebhook": False,
        }

    @property
    def pods(self) -> tuple[Pods, ...]:
        return (
            Pods(
                facts.LOAD_BALANCER_CONTROLLER_RELEASE,
                Requests.of(self.resources),
                count=self.replicas,
            ),
        )


@dataclass(frozen=True)
class Capacity:
    """What the lab's pods ask (with room for the Tasks' sample apps) against what the node
    group offers."""

    needed: Requests
    pods: int
    with_headroom: Requests
    pods_with_headroom: int
    offered: Requests
    max_pods: int

    @property
    def fits(self) -> bool:
        return (
            self.with_headroom.cpu_millicores <= self.offered.cpu_millicores
            and self.with_headroom.memory_mib <= self.offered.memory_mib
            and self.pods_with_headroom <= self.max_pods
        )


@dataclass(frozen=True)
class LabPlan:
    config: LabConfig
    ingress: Ingress
    data_plane: DataPlane
    tracing: TracingBackend | None
    scenario: Scenario
    form: ScenarioForm
    load_balancer_controller: ControllerPlan
    mesh: MeshPlan
    observability: ObservabilityPlan
    bookinfo: BookinfoPlan
    routing: RoutingPlan

    @property
    def kubernetes(self) -> KubernetesRelease:
        return SUPPORTED_KUBERNETES[self.config.kubernetes_version]

    @property
    def instance_type(self) -> InstanceType:
        return INSTANCE_TYPES[self.config.node_instance_type]

    @property
    def pods(self) -> tuple[Pods, ...]:
        """Every pod the lab runs on the nodes, with its requests (sidecars included)."""
        proxy = self.mesh.proxy_requests
        return (
            *EKS_SYSTEM_PODS,
            *self.load_balancer_controller.pods,
            *self.mesh.pods,
            *self.ingress.pods(proxy),
            *self.data_plane.pods(),
            *self.observability.pods,
            *self.bookinfo.pods(self.data_plane.pod_overhead),
        )

    @property
    def headroom(self) -> Pods:
        return sample_app_headroom(self.mesh.proxy_requests)

    def capacity(self) -> Capacity:
        nodes = self.config.node_count
        needed, pods = add_up(self.pods, nodes)
        with_headroom, pods_with_headroom = add_up([*self.pods, self.headroom], nodes)
        node = self.instance_type
        return Capacity(
            needed=needed,
            pods=pods,
            with_headroom=with_headroom,
            pods_with_headroom=pods_with_headroom,
            offered=node.allocatable.times(nodes),
            max_pods=node.max_pods * nodes,
        )

    @property
    def analyzed_objects(self) -> list[dict]:
        """Every Kubernetes and Istio object the lab applies from the plan's manifests."""
        return [*self.bookinfo.objects, *self.routing.objects]

    def findings(
        self,
        objects: Iterable[Mapping[str, Any]] | None = None,
        *,
        reserved_subsets: Mapping[str, Iterable[str]] = RESERVED_SUBSETS,
    ) -> list[Finding]:
        """The analyzer's findings for the objects the lab applies (none when it works), or
        for `objects` applied in the lab's place, with this ingress's gateways and Bookinfo's
        namespace labelled for this data plane."""
        return analyze(
            self.analyzed_objects if objects is None else objects,
            gateways=(*self.ingress.gateway_workloads(), *self.mesh.gateway_workloads),
            gateway_api_workloads=self.ingress.gateway_api_workloads(),
            reserved_subsets=reserved_subsets,
            namespace_labels={self.bookinfo.namespace: dict(self.bookinfo.labels)},
        )

    @property
    def settings(self) -> dict[str, Any]:
        """The resolved settings, by context key: what the `LabSettings` output carries."""
        values = self.config.context_values()
        return {key: values[key] for key in SETTINGS_KEYS}

    @property
    def settings_json(self) -> str:
        return json.dumps(self.settings, separators=(",", ":"))


def build_plan(config: LabConfig) -> LabPlan:
    """The lab for `config`. Raises ConfigError for settings that cannot work together, and
    AnalysisError when the Istio configuration would not work."""
    namespace = config.bookinfo_namespace
    # Without allowed addresses, the NLB takes connections from the VPC only (nobody on the
    # internet); `make deploy` gives the learner's address when cdk.json sets none.
    nlb = NlbSettings(source_ranges=config.allowed_cidrs or (config.vpc_cidr,))
    ingress = modes.INGRESS_APIS[config.ingress_api].for_namespace(namespace, nlb)
    data_plane = modes.DATAPLANES[config.dataplane].for_namespace(namespace)
    tracing = modes.TRACING[config.tracing]
    scenario = SCENARIOS[config.scenario]
    form = data_plane.route_form(ingress.route_form)
    refusal = form.refusal(scenario)
    if refusal is not None:
        raise ConfigError(
            [f"context scenario={config.scenario!r} with dataplane={config.dataplane!r}: {refusal}"]
        )
    bookinfo = BookinfoPlan.of(namespace, data_plane)
    # Raises a ConfigError (SettingsError) for an Istio setting that names a lab's provider.
    mesh = MeshPlan.of(
        istio_version=config.istio_version,
        ingress=ingress,
        data_plane=data_plane,
        tracing=tracing,
        tracing_sampling=config.tracing_sampling,
        gateway_api=GatewayApiRelease(channel=config.gateway_api_channel),
        settings=config.istio,
    )
    plan = LabPlan(
        config=config,
        ingress=ingress,
        data_plane=data_plane,
        tracing=tracing,
        scenario=scenario,
        form=form,
        load_balancer_controller=ControllerPlan(),
        mesh=mesh,
        observability=ObservabilityPlan.of(
            tracing=tracing,
            extra_dashboards=data_plane.dashboards,
            kiali_wizards=config.kiali_wizards,
            # The chart's gateway in istio-system, which a Task may publish the UIs through.
            gateway_pods=next(
                (
                    w.pod_labels
                    for w in ingress.gateway_workloads()
                    if w.namespace == facts.ISTIO_SYSTEM
                ),
                None,
            ),
        ),
        bookinfo=bookinfo,
        routing=RoutingPlan(
            edge=tuple(edge_routing(ingress, form, data_plane, namespace)),
            scenario=tuple(scenario_objects(scenario, form, bookinfo.versions, namespace)),
            every_form=every_form_keys(namespace),
        ),
    )
    try:
        capacity = plan.capacity()
    except ValueError as error:
        # The lab's own requests are constants; a request that cannot be read came with the
        # istio key (values.global.proxy.resources, values.pilot.resources).
        raise ConfigError([f"context istio: {error}"]) from None
    if not capacity.fits:
        raise ConfigError([_capacity_problem(config, capacity)])
    findings = plan.findings()
    if findings:
        raise AnalysisError(findings)
    return plan


def plan_from_context(context: Mapping[str, Any]) -> LabPlan:
    """The plan for the app's context: LabConfig.from_context, then build_plan."""
    return build_plan(LabConfig.from_context(context))


def _capacity_problem(config: LabConfig, capacity: Capacity) -> str:
    need, offer = capacity.with_headroom, capacity.offered
    return (
        f"context nodeInstanceType={config.node_instance_type!r}, "
        f"nodeCount={config.node_count}: the lab's pods with room for the Tasks' sample apps "
        f"request {need.cpu_millicores}m CPU, {need.memory_mib}Mi memory and "
        f"{capacity.pods_with_headroom} pods; {config.node_count} x "
        f"{config.node_instance_type} offer {offer.cpu_millicores}m, {offer.memory_mib}Mi and "
        f"{capacity.max_pods} pods: choose a larger instance type or more nodes"
    )
