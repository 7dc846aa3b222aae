"""The one description of the lab's ingress, in either ingress API.

Both ingresses put one internet-facing NLB in front of an Envoy gateway, configured from the
same `NlbSettings`; they differ in who deploys the gateway and in the API of Bookinfo's edge
route:

- `ChartIngress`: the istio/gateway chart deploys the gateway as the Istio docs' demo install
  does (`istio-ingressgateway` in istio-system, the demo profile's ports); the chart's values
  (pod labels, Service ports, NLB annotations) come from it, and the Bookinfo sample's own
  `Gateway` (selector `istio: ingressgateway`, port 8080) is checked against it, so the port
  the Gateway listens on cannot drift from the ports the gateway Service exposes.
- `GatewayApiIngress`: a Kubernetes Gateway API `Gateway` of class `istio`, which istiod
  deploys with its Service; istiod's defaults for the class (MeshPlan's istiod values) give
  that Service, as every `istio`-class Gateway's, the same NLB annotations.

Everything that differs between the two is answered by the object; nobody else asks which
one it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from checks.istio_analyzer import GatewayApiWorkload, GatewayWorkload
from plan import facts
from plan.capacity import Pods, Requests
from plan.charts import HelmRelease
from plan.kube import KubernetesObject, ServicePort, in_namespace, load_manifest
from plan.scenarios import GATEWAY_API_FORM, ISTIO_FORM, ScenarioForm


def frozen(mapping: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping))


def frozen_resources(
    resources: Mapping[str, Mapping[str, str]],
) -> Mapping[str, Mapping[str, str]]:
    return MappingProxyType({kind: frozen(amounts) for kind, amounts in resources.items()})


# The GatewayClass istiod deploys a gateway for (Deployment and Service) per Gateway.
ISTIO_GATEWAY_CLASS = "istio"


@dataclass(frozen=True)
class ServiceRef:
    """A Service by namespace and name."""

    namespace: str
    name: str


SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges"


@dataclass(frozen=True)
class NlbSettings:
    """The ingress NLB as the AWS Load Balancer Controller makes it, and the gateway ports
    behind it."""

    # Envoy's readiness endpoint; the NLB health-checks it instead of probing each traffic port.
    status_port: ServicePort = ServicePort("status-port", 15021, 15021)
    readiness_path: str = "/healthz/ready"
    # The demo profile's: the gateway pod listens on unprivileged ports behind 80 and 443.
    http_port: ServicePort = ServicePort("http2", 80, 8080)
    https_port: ServicePort = ServicePort("https", 443, 8443)
    # The AWS Load Balancer Controller's class: a Service that names it is the controller's,
    # and the cluster's AWS cloud provider leaves it alone (the controller's Service
    # mutator, which would otherwise write it in, is off).
    load_balancer_class: str = "service.k8s.aws/nlb"
    # Who may connect: the controller writes one inbound rule per CIDR and listener into the
    # NLB's own security group (v3.2.2 pkg/service/model_build_managed_sg.go reads the
    # annotation when the Service's spec.loadBalancerSourceRanges is empty, and opens to
    # 0.0.0.0/0 only when both are). Never empty here: the lab's plan gives the learner's
    # addresses, or the VPC's range when none are set.
    source_ranges: tuple[str, ...] = ("0.0.0.0/0",)

    def service_annotations(self) -> dict[str, str]:
        """AWS Load Balancer Controller annotations: internet-facing NLB, IP targets,
        health-checked over HTTP on the status port so the targets report healthy, open to
        `source_ranges` only."""
        if not self.source_ranges:
            raise ValueError("an NLB without source ranges is open to everyone")
        prefix = "service.beta.kubernetes.io/aws-load-balancer"
        return {
            SOURCE_RANGES_ANNOTATION: ",".join(self.source_ranges),
            f"{prefix}-type": "external",
            f"{prefix}-nlb-target-type": "ip",
            f"{prefix}-scheme": "internet-facing",
            f"{prefix}-healthcheck-protocol": "http",
            f"{prefix}-healthcheck-port": str(self.status_port.target_port),
            f"{prefix}-healthcheck-path": self.readiness_path,
        }


class Ingress(Protocol):
    """What the rest of the lab asks of an ingress."""

    nlb: NlbSettings

    @classmethod
    def for_namespace(cls, namespace: str, nlb: NlbSettings | None = None) -> Ingress:
        """The ingress of Bookinfo in `namespace`, behind an NLB of `nlb` (default: open)."""

    @property
    def service(self) -> ServiceRef:
        """The Service the load balancer controller gives the NLB."""

    @property
    def generated_service(self) -> ServiceRef | None:
        """That Service when istiod, not Helm, owns it (so a delete must wait for it)."""

    @property
    def service_port_numbers(self) -> tuple[int, ...]:
        """The ports that Service must have (the NLB's listeners and health check)."""

    @property
    def route_form(self) -> ScenarioForm:
        """The form the scenarios take in this API when sidecars apply them."""

    def gateway_release(self, istio_version: str) -> HelmRelease | None:
        """The gateway's Helm release, if a chart deploys it."""

    def edge_objects(self, namespace: str) -> list[KubernetesObject]:
        """Bookinfo's entry: the gateway resource and the edge route, in `namespace`."""

    def gateway_workloads(self) -> tuple[GatewayWorkload, ...]:
        """The gateway pods Istio Gateways may select, for the analyzer."""

    def gateway_api_workloads(self) -> tuple[GatewayApiWorkload, ...]:
        """The Services istiod generates for Gateway API Gateways, for the analyzer."""

    def pods(self, proxy: Requests) -> tuple[Pods, ...]:
        """The gateway's pods; `proxy` is what a pod from istiod's proxy template asks."""

    def url(self, hostname: str, path: str) -> str:
        """The plain-HTTP URL of `path` behind the NLB named `hostname`."""


@dataclass(frozen=True)
class ChartIngress:
    """The istio/gateway release fronted by an internet-facing NLB.

    Defaults reproduce the Istio docs' demo install, which the Task pages' commands name:
    release, Deployment and Service `istio-ingressgateway` in istio-system, pods labelled
    `app=istio-ingressgateway` and `istio=ingressgateway`, the demo profile's ports (status,
    http2 80 to 8080, https 443 to 8443, tcp 31400 for TCP Traffic Shifting, tls 15443) and
    its requests.
    """

    release: str = facts.INGRESS_GATEWAY
    namespace: str = facts.ISTIO_SYSTEM
    labels: Mapping[str, str] = field(
        default_factory=lambda: frozen(
            {"app": facts.INGRESS_GATEWAY, "istio": facts.INGRESS_GATEWAY_SELECTOR}
        )
    )
    nlb: NlbSettings = field(default_factory=NlbSettings)
    extra_ports: tuple[ServicePort, ...] = (
        ServicePort("tcp", 31400, 31400),
        ServicePort("tls", 15443, 15443),
    )
    # The demo profile's requests, named here because the capacity check adds them up.
    resources: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: frozen_resources(facts.DEMO_PROXY_REQUESTS)
    )

    @classmethod
    def for_namespace(cls, namespace: str, nlb: NlbSettings | None = None) -> ChartIngress:
        # The chart's gateway runs in its own namespace, whatever Bookinfo's.
        return cls(nlb=nlb or NlbSettings())

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", frozen(self.labels))
        missing = {"app", "istio"} - set(self.labels)
        if missing:
            # The chart falls back to labels derived from the release name (istio=ingress),
            # which is exactly the selector mismatch this object exists to prevent.
            raise ValueError(f"gateway labels must set {sorted(missing)} explicitly")

    @property
    def service(self) -> ServiceRef:
        # The chart names the Service after the release.
        return ServiceRef(self.namespace, self.release)

    @property
    def generated_service(self) -> ServiceRef | None:
        return None

    @property
    def route_form(self) -> ScenarioForm:
        return ISTIO_FORM

    @property
    def service_ports(self) -> tuple[ServicePort, ...]:
        # The status port first, as the demo profile orders them (some load balancers
        # health-check the first port).
        return (self.nlb.status_port, self.nlb.http_port, self.nlb.https_port, *self.extra_ports)

    @property
    def service_port_numbers(self) -> tuple[int, ...]:
        return tuple(p.port for p in self.service_ports)

    @property
    def selector(self) -> dict[str, str]:
        """What a Bookinfo `Gateway` selects on: the pod label the Istio docs use."""
        return {"istio": self.labels["istio"]}

    @property
    def listen_port(self) -> int:
        """The port an Istio `Gateway` server binds: the pod side of the http Service port.

        Istio programs the gateway pod's Envoy to listen on the Gateway's server port, so it
        must be a Service targetPort, or nothing answers (istioctl analyze IST0162).
        """
        return self.nlb.http_port.target_port

    def chart_values(self) -> dict[str, Any]:
        """Values for the istio/gateway Helm chart."""
        return gateway_chart_values(
            self.labels,
            self.resources,
            {
                "type": "LoadBalancer",
                "loadBalancerClass": self.nlb.load_balancer_class,
                "ports": [port.to_service_port() for port in self.service_ports],
                "annotations": self.nlb.service_annotations(),
            },
        )

    def gateway_release(self, istio_version: str) -> HelmRelease | None:
        # wait: on delete, `helm uninstall --wait` returns only once the Service is gone,
        # i.e. once the load balancer controller has removed the NLB behind its finalizer.
        return gateway_chart_release(
            self.release, self.namespace, self.chart_values(), istio_version
        )

    def edge_objects(self, namespace: str) -> list[KubernetesObject]:
        objects = in_namespace(load_manifest("bookinfo-routing.yaml"), namespace)
        check_gateways(objects, self)
        return objects

    def gateway_workloads(self) -> tuple[GatewayWorkload, ...]:
        return (
            GatewayWorkload(
                namespace=self.namespace,
                service_name=self.release,
                pod_labels=dict(self.labels),
                ports=self.service_ports,
            ),
        )

    def gateway_api_workloads(self) -> tuple[GatewayApiWorkload, ...]:
        return ()

    def pods(self, proxy: Requests) -> tuple[Pods, ...]:
        return (Pods(self.release, Requests.of(self.resources)),)

    def url(self, hostname: str, path: str) -> str:
        return f"http://{hostname}:{self.nlb.http_port.port}{path}"


@dataclass(frozen=True)
class GatewayApiIngress:
    """A Kubernetes Gateway API `Gateway` of class `istio`: istiod deploys its Deployment and
    its Service (`<name>-<class>`, status port 15021 first, then the listeners' ports) in
    the Gateway's namespace, and overlays its defaults for the class on the Service (the
    NLB annotations of `nlb`, as istiod's chart values set them for every such Gateway).
    """

    namespace: str
    name: str = "bookinfo-gateway"
    gateway_class: str = ISTIO_GATEWAY_CLASS
    listener: str = "http"
    nlb: NlbSettings = field(default_factory=NlbSettings)

    @classmethod
    def for_namespace(cls, namespace: str, nlb: NlbSettings | None = None) -> GatewayApiIngress:
        return cls(namespace=namespace, nlb=nlb or NlbSettings())

    @property
    def service(self) -> ServiceRef:
        # istiod names the Service after the Gateway and its class.
        return ServiceRef(self.namespace, f"{self.name}-{self.gateway_class}")

    @property
    def generated_service(self) -> ServiceRef | None:
        # istiod, not Helm, owns it, and `kubectl delete` of the Gateway returns before it
        # (and its NLB) is gone.
        return self.service

    @property
    def route_form(self) -> ScenarioForm:
        return GATEWAY_API_FORM

    @property
    def listen_port(self) -> int:
        # Istio's Service exposes each listener's port and its pod listens on that port.
        return self.nlb.http_port.port

    def gateway_object(self) -> KubernetesObject:
        return {
            "apiVersion": facts.GATEWAY_API_V1,
            "kind": "Gateway",
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": {
                "gatewayClassName": self.gateway_class,
                "listeners": [
                    {
                        "name": self.listener,
                        "port": self.listen_port,
                        "protocol": "HTTP",
                        "allowedRoutes": {"namespaces": {"from": "Same"}},
                    }
                ],
            },
        }

    def parent_ref(self) -> dict[str, str]:
        """How an HTTPRoute attaches to the Gateway's listener."""
        return {"name": self.name, "sectionName": self.listener}

    def gateway_release(self, istio_version: str) -> HelmRelease | None:
        return None

    def edge_objects(self, namespace: str) -> list[KubernetesObject]:
        route = in_namespace(load_manifest("gateway-api/bookinfo-route.yaml"), namespace)
        bind_routes(route, self)
        return [self.gateway_object(), *route]

    def gateway_workloads(self) -> tuple[GatewayWorkload, ...]:
        return ()

    @property
    def service_port_numbers(self) -> tuple[int, ...]:
        # The generated Service: the status port first, then the listener's port.
        return (self.nlb.status_port.port, self.listen_port)

    def gateway_api_workloads(self) -> tuple[GatewayApiWorkload, ...]:
        return (
            GatewayApiWorkload(
                namespace=self.namespace,
                gateway_name=self.name,
                service_name=self.service.name,
                ports=self.service_port_numbers,
            ),
        )

    def pods(self, proxy: Requests) -> tuple[Pods, ...]:
        # istiod deploys a Gateway API Gateway's pod from its proxy template.
        return (Pods(self.service.name, proxy),)

    def url(self, hostname: str, path: str) -> str:
        return f"http://{hostname}:{self.listen_port}{path}"


def gateway_chart_values(
    labels: Mapping[str, str],
    resources: Mapping[str, Mapping[str, str]],
    service: Mapping[str, Any],
) -> dict[str, Any]:
    """Values for the istio/gateway chart: the pods' labels and requests, one replica without
    an autoscaler (as the demo profile runs its gateways), and the Service."""
    return {
        "labels": dict(labels),
        "resources": {kind: dict(amounts) for kind, amounts in resources.items()},
        "autoscaling": {"enabled": False},
        "service": dict(service),
    }


def gateway_chart_release(
    release: str, namespace: str, values: Mapping[str, Any], istio_version: str
) -> HelmRelease:
    """An istio/gateway release, waited for until its pod is ready."""
    return HelmRelease(
        repository=facts.ISTIO_CHART_REPOSITORY,
        chart=facts.ISTIO_GATEWAY_CHART,
        version=istio_version,
        release=release,
        namespace=namespace,
        values=values,
        wait=True,
    )


def check_gateways(objects: list[KubernetesObject], gateway: ChartIngress) -> None:
    """Refuse an Istio Gateway whose selector or server port is not `gateway`'s.

    The Bookinfo sample's Gateway is applied as the Istio release writes it (selector
    `istio: ingressgateway`, port 8080); its port must be the pod side of the gateway's http
    Service port, or nothing answers: a Gateway on 8080 behind a Service that only exposed
    80 and 443 is how the lab's predecessor lost its afternoon.
    """
    for obj in objects:
        if obj["kind"] != "Gateway":
            continue
        name = obj["metadata"]["name"]
        if obj["spec"].get("selector") != gateway.selector:
            raise ValueError(
                f"Gateway {name}: selector {obj['spec'].get('selector')} is not the ingress "
                f"gateway's {gateway.selector} (plan/ingress.py)"
            )
        for server in obj["spec"]["servers"]:
            if server["port"].get("number") != gateway.listen_port:
                raise ValueError(
                    f"Gateway {name}: port {server['port'].get('number')} is not the ingress "
                    f"gateway's HTTP target port {gateway.listen_port} (plan/ingress.py)"
                )


def bind_routes(objects: list[KubernetesObject], ingress: GatewayApiIngress) -> None:
    """Attach every HTTPRoute without parents to the Gateway API ingress, in place.

    As with the Istio Gateway's port, the YAML must leave the attachment out, so that the
    route always names the Gateway (and listener) the lab deploys.
    """
    for obj in objects:
        if obj["kind"] != "HTTPRoute":
            continue
        if "parentRefs" in obj["spec"]:
            raise ValueError(
                f"HTTPRoute {obj['metadata']['name']}: parentRefs must not be set in YAML"
            )
        obj["spec"]["parentRefs"] = [ingress.parent_ref()]
