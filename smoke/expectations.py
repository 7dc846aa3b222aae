"""What each traffic scenario promises a reader of the product page, as data.

One entry per scenario of manifests/scenarios/, named alike, with a promise for an anonymous
reader and one for the user jason (the only user any scenario's routes match, through the
`end-user: jason` header productpage adds after login). The promises follow the Istio
documentation's traffic-management Tasks that each scenario reproduces.

A promise gives the expected share of each outcome class (smoke.classify); classes it does
not name are promised never to occur.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from smoke.classify import OUTCOMES, RATINGS_UNAVAILABLE, REVIEWS_UNAVAILABLE, V1, V2, V3

ANONYMOUS = "anonymous"
JASON = "jason"
USERS = (ANONYMOUS, JASON)


@dataclass(frozen=True)
class Promise:
    """What one reader sees.

    shares: outcome class -> expected share of responses; the shares add up to 1.
    min_p50_ms: if set, the median latency must be at least this (a fault that should make
        the page slow, not only wrong).
    why: one line on what the mesh does, shown when the check fails.
    """

    shares: Mapping[str, float]
    why: str
    min_p50_ms: float | None = None

    def __post_init__(self) -> None:
        unknown = set(self.shares) - set(OUTCOMES)
        if unknown:
            raise ValueError(f"unknown outcome classes {sorted(unknown)}")
        if abs(sum(self.shares.values()) - 1.0) > 1e-9:
            raise ValueError(f"shares must add up to 1: {dict(self.shares)}")
        object.__setattr__(self, "shares", MappingProxyType(dict(self.shares)))


@dataclass(frozen=True)
class ScenarioExpectation:
    """task: the Istio Task (and step) the scenario reproduces."""

    task: str
    anonymous: Promise
    jason: Promise

    def for_user(self, user: str | None) -> Promise:
        """The promise for `user`; anyone but jason is routed like an anonymous reader."""
        return self.jason if user == JASON else self.anonymous


def _everyone(task: str, promise: Promise) -> ScenarioExpectation:
    return ScenarioExpectation(task=task, anonymous=promise, jason=promise)


ONLY_V1 = Promise({V1: 1.0}, why="reviews v1 answers every request (no stars)")

EXPECTATIONS: dict[str, ScenarioExpectation] = {
    "round-robin": _everyone(
        "Bookinfo as installed, before any Task",
        Promise(
            {V1: 1 / 3, V2: 1 / 3, V3: 1 / 3},
            why="no subset routing for reviews: its three versions share the requests",
        ),
    ),
    "all-v1": _everyone("Request Routing: route to version 1", ONLY_V1),
    "reviews-jason-v2": ScenarioExpectation(
        task="Request Routing: route based on user identity",
        anonymous=ONLY_V1,
        jason=Promise({V2: 1.0}, why="end-user: jason is routed to reviews v2 (black stars)"),
    ),
    "ratings-delay-jason": ScenarioExpectation(
        task="Fault Injection: HTTP delay",
        anonymous=ONLY_V1,
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
    "ratings-abort-jason": ScenarioExpectation(
        task="Fault Injection: HTTP abort",
        anonymous=ONLY_V1,
        jason=Promise(
            {RATINGS_UNAVAILABLE: 1.0},
            why="ratings answers HTTP 500 to jason; reviews v2 shows the ratings error",
        ),
    ),
    "reviews-50-v3": _everyone(
        "Traffic Shifting: 50% to v3",
        Promise({V1: 0.5, V3: 0.5}, why="reviews is split 50/50 between v1 and v3"),
    ),
    "reviews-v3": _everyone(
        "Traffic Shifting: 100% to v3",
        Promise({V3: 1.0}, why="reviews v3 answers every request (red stars)"),
    ),
    "reviews-timeout": _everyone(
        "Request Timeouts",
        Promise(
            {REVIEWS_UNAVAILABLE: 1.0},
            why=(
                "reviews v2 waits 2 s for the delayed ratings, but the route to reviews "
                "times out after 0.5 s"
            ),
        ),
    ),
}

SCENARIO_NAMES: tuple[str, ...] = tuple(sorted(EXPECTATIONS))
