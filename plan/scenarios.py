"""The traffic scenarios: one table, and the forms the lab applies them in.

Each scenario reproduces a step of one of the Istio documentation's traffic-management
Tasks. Its entry says, per Bookinfo service, how requests are routed (which versions and
weights, for everyone or only for the signed-in user jason, with a request timeout or an
injected fault) and what a reader of the product page then sees, which `make smoke` checks.

The forms are rendered from that table, never written by hand:

- `ISTIO_FORM`: a VirtualService per service, shaped as in the Istio docs' YAML, routing to
  the DestinationRules' version subsets (sidecars, `ingressApi=istio`);
- `GATEWAY_API_FORM`: an HTTPRoute attached to each Service (as the docs' Gateway API tabs
  do), sending to the per-version Services; a service whose rules ever inject a fault stays a
  VirtualService in every scenario, since the Gateway API has no fault filter (sidecars,
  `ingressApi=gateway-api`);
- `AMBIENT_FORM`: HTTPRoutes applied by the waypoint, only for the services that run more
  than one version; a scenario with a fault has no ambient form and is refused.

Every scenario of a form defines the same objects, so a switch of scenario updates them in
place: kubectl's pruning does not remove Istio or Gateway API objects a new scenario would no
longer list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from plan import facts
from plan.kube import KubernetesObject

# What a reader of the product page sees (smoke.classify tells them apart).
V1, V2, V3 = "v1", "v2", "v3"
RATINGS_UNAVAILABLE = "ratings-unavailable"
REVIEWS_UNAVAILABLE = "reviews-unavailable"
PAGE_OUTCOMES = (V1, V2, V3, RATINGS_UNAVAILABLE, REVIEWS_UNAVAILABLE)

ANONYMOUS = "anonymous"
JASON = "jason"
USERS = (ANONYMOUS, JASON)

# Bookinfo's services in the order the forms list them; every Service listens on this port
# (manifests/bookinfo.yaml).
SERVICES = ("productpage", "details", "ratings", "reviews")
SERVICE_PORT = 9080


@dataclass(frozen=True)
class Promise:
    """What one reader sees.

    shares: page outcome -> expected share of responses; the shares add up to 1, and an
        outcome not named is promised never to occur.
    why: one line on what the mesh does, shown when the check fails.
    min_p50_ms: if set, the median latency must be at least this (a fault that should make
        the page slow, not only wrong).
    """

    shares: Mapping[str, float]
    why: str
    min_p50_ms: float | None = None

    def __post_init__(self) -> None:
        unknown = set(self.shares) - set(PAGE_OUTCOMES)
        if unknown:
            raise ValueError(f"unknown outcome classes {sorted(unknown)}")
        if abs(sum(self.shares.values()) - 1.0) > 1e-9:
            raise ValueError(f"shares must add up to 1: {dict(self.shares)}")
        object.__setattr__(self, "shares", MappingProxyType(dict(self.shares)))


@dataclass(frozen=True)
class Backend:
    """Where a rule sends requests: one version of the service, or (version None) the
    Service as a whole, i.e. all of its versions."""

    version: str | None = None
    weight: int | None = None


@dataclass(frozen=True)
class Fault:
    """An injected fault: a delay, or an HTTP status instead of the answer."""

    delay_ms: int | None = None
    abort_status: int | None = None
    percent: float = 100.0

    def __post_init__(self) -> None:
        if (self.delay_ms is None) == (self.abort_status is None):
            raise ValueError("a fault is either a delay or an abort")

    def describe(self) -> str:
        if self.delay_ms is not None:
            return f"{self.delay_ms / 1000:g} s delay"
        return f"HTTP {self.abort_status} abort"


@dataclass(frozen=True)
class Rule:
    """One routing rule of a service, in the order Envoy tries them.

    user: only requests of this signed-in user (productpage's end-user header); None for
        every request.
    """

    to: tuple[Backend, ...]
    user: str | None = None
    timeout_ms: int | None = None
    fault: Fault | None = None


@dataclass(frozen=True)
class Scenario:
    """name: the value of the `scenario` key. task: the Istio Task (and step) it reproduces.
    shows: what a reader of /productpage sees, in words. routes: the rules of every service.
    """

    name: str
    task: str
    shows: str
    routes: Mapping[str, tuple[Rule, ...]]
    anonymous: Promise
    jason: Promise

    def __post_init__(self) -> None:
        if tuple(self.routes) != SERVICES:
            raise ValueError(f"{self.name}: routes must list {SERVICES} in that order")
        object.__setattr__(self, "routes", MappingProxyType(dict(self.routes)))

    def promise_for(self, user: str | None) -> Promise:
        """The promise for `user`; anyone but jason is routed like an anonymous reader."""
        return self.jason if user == JASON else self.anonymous

    @property
    def faults(self) -> list[tuple[str, Rule]]:
        return [(s, rule) for s, rules in self.routes.items() for rule in rules if rule.fault]


def _everyone(promise: Promise) -> dict[str, Promise]:
    return {"anonymous": promise, "jason": promise}


# Every version of the service, as Bookinfo routes with no routing of its own.
_WHOLE_SERVICE = (Rule(to=(Backend(),)),)


def _only(version: str, **options: Any) -> Rule:
    return Rule(to=(Backend(version),), **options)


def _v1_except(**rules: tuple[Rule, ...]) -> dict[str, tuple[Rule, ...]]:
    """Every service pinned to v1, but for the rules given."""
    return {service: rules.get(service, (_only(V1),)) for service in SERVICES}


_JASON_TO_V2 = (_only(V2, user=JASON), _only(V1))
_ONLY_V1 = Promise({V1: 1.0}, why="reviews v1 answers every request (no stars)")

SCENARIO_TABLE: tuple[Scenario, ...] = (
    Scenario(
        "round-robin",
        task="Bookinfo as installed, before any Task",
        shows="reviews rotate: no stars (v1), black stars (v2), red stars (v3)",
        routes={service: _WHOLE_SERVICE for service in SERVICES},
        **_everyone(
            Promise(
                {V1: 1 / 3, V2: 1 / 3, V3: 1 / 3},
                why="no subset routing for reviews: its three versions share the requests",
            )
        ),
    ),
    Scenario(
        "all-v1",
        task="Request Routing: route to version 1",
        shows="always no stars",
        routes=_v1_except(),
        **_everyone(_ONLY_V1),
    ),
    Scenario(
        "reviews-jason-v2",
        task="Request Routing: route based on user identity",
        shows="signed in as `jason`: black stars; anyone else: no stars",
        routes=_v1_except(reviews=_JASON_TO_V2),
        anonymous=_ONLY_V1,
        jason=Promise({V2: 1.0}, why="end-user: jason is routed to reviews v2 (black stars)"),
    ),
    Scenario(
        "ratings-delay-jason",
        task="Fault Injection: HTTP delay",
        shows=(
            'jason: after about 6 s, "Sorry, product reviews are currently unavailable for '
            'this book."; anyone else: no stars'
        ),
        routes=_v1_except(
            reviews=_JASON_TO_V2,
            ratings=(_only(V1, user=JASON, fault=Fault(delay_ms=7000)), _only(V1)),
        ),
        anonymous=_ONLY_V1,
        jason=Promise(
            {REVIEWS_UNAVAILABLE: 1.0},
            why=(
                "ratings is delayed 7 s for jason; productpage gives up on reviews after "
                "3 s and one retry"
            ),
            # Two tries of 3 s each make about 6 s; half of that leaves room for clocks and
            # networks while still telling the delay apart from a fast failure.
            min_p50_ms=2500,
        ),
    ),
    Scenario(
        "ratings-abort-jason",
        task="Fault Injection: HTTP abort",
        shows=(
            'jason: reviews with "Ratings service is currently unavailable"; anyone else: no stars'
        ),
        routes=_v1_except(
            reviews=_JASON_TO_V2,
            ratings=(_only(V1, user=JASON, fault=Fault(abort_status=500)), _only(V1)),
        ),
        anonymous=_ONLY_V1,
        jason=Promise(
            {RATINGS_UNAVAILABLE: 1.0},
            why="ratings answers HTTP 500 to jason; reviews v2 shows the ratings error",
        ),
    ),
    Scenario(
        "reviews-50-v3",
        task="Traffic Shifting: 50% to v3",
        shows="half the reloads no stars, half red stars",
        routes=_v1_except(reviews=(Rule(to=(Backend(V1, 50), Backend(V3, 50))),)),
        **_everyone(Promise({V1: 0.5, V3: 0.5}, why="reviews is split 50/50 between v1 and v3")),
    ),
    Scenario(
        "reviews-v3",
        task="Traffic Shifting: 100% to v3",
        shows="always red stars",
        routes=_v1_except(reviews=(_only(V3),)),
        **_everyone(Promise({V3: 1.0}, why="reviews v3 answers every request (red stars)")),
    ),
    Scenario(
        "reviews-timeout",
        task="Request Timeouts",
        shows=(
            'after about 1 s, "Sorry, product reviews are currently unavailable for this book."'
        ),
        routes=_v1_except(
            ratings=(_only(V1, fault=Fault(delay_ms=2000)),),
            reviews=(_only(V2, timeout_ms=500),),
        ),
        **_everyone(
            Promise(
                {REVIEWS_UNAVAILABLE: 1.0},
                why=(
                    "reviews v2 waits 2 s for the delayed ratings, but the route to reviews "
                    "times out after 0.5 s"
                ),
            )
        ),
    ),
)

SCENARIOS: Mapping[str, Scenario] = MappingProxyType({s.name: s for s in SCENARIO_TABLE})

# Services whose rules inject a fault in some scenario: the Gateway API form keeps them
# VirtualServices in every scenario, so that a switch updates the same objects.
FAULTED_SERVICES = frozenset(service for s in SCENARIO_TABLE for service, _ in s.faults)


# --- Rendering ---------------------------------------------------------------------------------


def _seconds(milliseconds: int) -> str:
    """Istio's duration form: "7s", "0.5s"."""
    if milliseconds % 1000 == 0:
        return f"{milliseconds // 1000}s"
    return f"{milliseconds / 1000}s"


def _gateway_api_duration(milliseconds: int) -> str:
    """The Gateway API's duration form: "7s", "500ms"."""
    return _seconds(milliseconds) if milliseconds % 1000 == 0 else f"{milliseconds}ms"


def virtual_service(service: str, rules: tuple[Rule, ...]) -> KubernetesObject:
    """The service's rules as an Istio VirtualService routing to version subsets."""
    http = []
    for rule in rules:
        entry: dict[str, Any] = {}
        if rule.user is not None:
            entry["match"] = [{"headers": {facts.END_USER_HEADER: {"exact": rule.user}}}]
        if rule.fault is not None:
            entry["fault"] = _istio_fault(rule.fault)
        entry["route"] = [_istio_destination(service, backend) for backend in rule.to]
        if rule.timeout_ms is not None:
            entry["timeout"] = _seconds(rule.timeout_ms)
        http.append(entry)
    return {
        "apiVersion": facts.ISTIO_NETWORKING_V1,
        "kind": "VirtualService",
        "metadata": {"name": service},
        "spec": {"hosts": [service], "http": http},
    }


def _istio_destination(service: str, backend: Backend) -> dict[str, Any]:
    destination: dict[str, Any] = {"host": service}
    if backend.version is not None:
        destination["subset"] = backend.version
    routed: dict[str, Any] = {"destination": destination}
    if backend.weight is not None:
        routed["weight"] = backend.weight
    return routed


def _istio_fault(fault: Fault) -> dict[str, Any]:
    percentage = {"percentage": {"value": fault.percent}}
    if fault.delay_ms is not None:
        return {"delay": {"fixedDelay": _seconds(fault.delay_ms), **percentage}}
    return {"abort": {"httpStatus": fault.abort_status, **percentage}}


def http_route(service: str, rules: tuple[Rule, ...]) -> KubernetesObject:
    """The service's rules as a Gateway API HTTPRoute attached to its Service, sending to
    the per-version Services (`reviews-v2`); faults have no Gateway API form."""
    converted = []
    for rule in rules:
        if rule.fault is not None:
            raise ValueError(f"{service}: the Gateway API has no fault injection")
        entry: dict[str, Any] = {}
        if rule.user is not None:
            header = {"type": "Exact", "name": facts.END_USER_HEADER, "value": rule.user}
            entry["matches"] = [{"headers": [header]}]
        entry["backendRefs"] = [_backend_ref(service, backend) for backend in rule.to]
        if rule.timeout_ms is not None:
            entry["timeouts"] = {"request": _gateway_api_duration(rule.timeout_ms)}
        converted.append(entry)
    parent = {"group": "", "kind": "Service", "name": service, "port": SERVICE_PORT}
    return {
        "apiVersion": facts.GATEWAY_API_V1,
        "kind": "HTTPRoute",
        "metadata": {"name": service},
        "spec": {"parentRefs": [parent], "rules": converted},
    }


def _backend_ref(service: str, backend: Backend) -> dict[str, Any]:
    name = service if backend.version is None else f"{service}-{backend.version}"
    ref: dict[str, Any] = {"name": name, "port": SERVICE_PORT}
    if backend.weight is not None:
        ref["weight"] = backend.weight
    return ref


# --- The forms -------------------------------------------------------------------------------


class ScenarioForm(Protocol):
    """How the scenarios are applied in one combination of ingress API and data plane."""

    name: str
    # Whether its routes name DestinationRule subsets, or the per-version Services.
    uses_subsets: bool
    uses_version_services: bool

    def objects(
        self, scenario: Scenario, versions: Mapping[str, frozenset[str]]
    ) -> list[KubernetesObject]:
        """The scenario's routing objects (namespace unset); `versions` are the versions
        Bookinfo deploys of each service."""

    def refusal(self, scenario: Scenario) -> str | None:
        """Why the scenario has no form here, or None."""


@dataclass(frozen=True)
class IstioForm:
    name: str = "Istio API"
    uses_subsets: bool = True
    uses_version_services: bool = False

    def objects(self, scenario, versions) -> list[KubernetesObject]:
        return [virtual_service(s, rules) for s, rules in scenario.routes.items()]

    def refusal(self, scenario: Scenario) -> str | None:
        return None


@dataclass(frozen=True)
class GatewayApiForm:
    name: str = "Gateway API"
    uses_subsets: bool = True  # the VirtualServices of the faulted services
    uses_version_services: bool = True
    virtual_services: frozenset[str] = field(default=FAULTED_SERVICES)

    def objects(self, scenario, versions) -> list[KubernetesObject]:
        routes = scenario.routes.items()
        return [
            *(http_route(s, rules) for s, rules in routes if s not in self.virtual_services),
            *(virtual_service(s, rules) for s, rules in routes if s in self.virtual_services),
        ]

    def refusal(self, scenario: Scenario) -> str | None:
        return None


def with_several_versions(versions: Mapping[str, frozenset[str]]) -> tuple[str, ...]:
    """The services that run more than one version: the only ones whose routing a scenario
    can change, and so the ones ambient mode sends through a waypoint."""
    return tuple(service for service in SERVICES if len(versions.get(service, ())) > 1)


@dataclass(frozen=True)
class AmbientForm:
    """The waypoint applies HTTPRoutes; a service with one version needs none (its Service
    alone sends there), so only those with several versions get one."""

    name: str = "ambient"
    uses_subsets: bool = False
    uses_version_services: bool = True

    def objects(self, scenario, versions) -> list[KubernetesObject]:
        routed = with_several_versions(versions)
        return [http_route(s, rules) for s, rules in scenario.routes.items() if s in routed]

    def refusal(self, scenario: Scenario) -> str | None:
        for service, rule in scenario.faults:
            who = f" for {rule.user}" if rule.user else ""
            return (
                f"its {rule.fault.describe()} on {service}{who} (fault injection) has only a "
                "VirtualService form, which is alpha in ambient mode and, beside the "
                "HTTPRoutes of the ambient scenarios, a mix of APIs Istio does not support; "
                "use dataplane=sidecar"
            )
        return None


ISTIO_FORM = IstioForm()
GATEWAY_API_FORM = GatewayApiForm()
AMBIENT_FORM = AmbientForm()


def marker(scenario: Scenario) -> KubernetesObject:
    """Records the active scenario in the cluster, and keeps the scenario's manifest non-empty
    when the form adds no routing."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": facts.SCENARIO_MARKER},
        "data": {"scenario": scenario.name},
    }
