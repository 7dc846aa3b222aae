"""Judge a run: observed shares and latency against a scenario's promise.

Rules:
- A class the promise does not name (share 0) must not occur at all: the scenario promises
  no errors, so a single failed request is reported.
- A class promised for every request (share 1) must be every response.
- A weighted class (0 < p < 1) may be off by `tolerance(p, n)`, see there.
- A promise with min_p50_ms also needs the median latency at least that high.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from plan.scenarios import Promise
from smoke.classify import ERROR, OUTCOMES
from smoke.client import Sample

TOLERANCE_FLOOR = 0.10
TOLERANCE_SIGMAS = 3


def tolerance(expected_share: float, requests: int) -> float:
    """How far the observed share of a weighted class may be from `expected_share`.

    Envoy picks a reviews host or a weighted route for each request on its own, so the
    number of responses of a class with share p among n requests is binomial: the observed
    share has standard deviation sqrt(p(1-p)/n). Three of them make a correct mesh fail this
    check for one class about 3 times in 1000 runs. The floor of 10 percentage points keeps
    long runs from failing on a balancer that is only roughly even (Envoy's default
    least-request balancing is random, not strict round robin).

    An exact promise (p = 0 or 1) has no variance and gets no tolerance.
    """
    if expected_share <= 0.0 or expected_share >= 1.0:
        return 0.0
    sigma = math.sqrt(expected_share * (1 - expected_share) / requests)
    return max(TOLERANCE_FLOOR, TOLERANCE_SIGMAS * sigma)


def requests_to_notice_a_missing_class(expected_share: float) -> int:
    """The fewest requests whose tolerance is below `expected_share` (0 < share < 1).

    Solves TOLERANCE_SIGMAS * sqrt(p(1-p)/n) < p for n; the floor is below every share a
    scenario uses.
    """
    p = expected_share
    return math.floor(TOLERANCE_SIGMAS**2 * (1 - p) / p) + 1


def percentile(sorted_values: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile: the smallest value with `percent` % of values at or below it."""
    rank = max(1, math.ceil(percent / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass(frozen=True)
class Latency:
    """Percentiles of every request's time to a complete answer or failure, in ms."""

    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, latencies_ms: Iterable[float]) -> Latency:
        values = sorted(latencies_ms)
        return cls(
            p50_ms=percentile(values, 50),
            p90_ms=percentile(values, 90),
            p99_ms=percentile(values, 99),
            max_ms=values[-1],
        )


@dataclass(frozen=True)
class ClassCheck:
    """One outcome class: how many responses had it, against the promised share."""

    outcome: str
    count: int
    observed: float
    expected: float
    tolerance: float

    @property
    def ok(self) -> bool:
        # The epsilon absorbs float noise of shares such as 1/3.
        return abs(self.observed - self.expected) <= self.tolerance + 1e-9

    def problem(self, requests: int) -> str:
        seen = f"observed {percent(self.observed)} ({self.count} of {requests})"
        if self.expected == 0.0:
            return f"{self.outcome}: expected none, {seen}"
        if self.tolerance == 0.0:
            return f"{self.outcome}: expected every response, {seen}"
        return (
            f"{self.outcome}: expected {percent(self.expected)} ± {percent(self.tolerance)}, {seen}"
        )


@dataclass(frozen=True)
class Verdict:
    requests: int
    checks: tuple[ClassCheck, ...]
    latency: Latency
    # Why requests failed, e.g. {"HTTP 500": 3, "timed out": 1}.
    errors: Mapping[str, int]
    problems: tuple[str, ...]
    # Remarks that do not fail the run.
    notes: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems


def judge(promise: Promise, samples: Sequence[Sample]) -> Verdict:
    """Compare `samples` (at least one) with `promise`."""
    requests = len(samples)
    counts = Counter(sample.outcome for sample in samples)
    outcomes = [o for o in OUTCOMES if o in promise.shares or counts[o]]
    checks = tuple(
        ClassCheck(
            outcome=outcome,
            count=counts[outcome],
            observed=counts[outcome] / requests,
            expected=promise.shares.get(outcome, 0.0),
            tolerance=tolerance(promise.shares.get(outcome, 0.0), requests),
        )
        for outcome in outcomes
    )
    latency = Latency.of(sample.latency_ms for sample in samples)
    problems = [check.problem(requests) for check in checks if not check.ok]
    if promise.min_p50_ms is not None and latency.p50_ms < promise.min_p50_ms:
        problems.append(
            f"latency p50: expected at least {promise.min_p50_ms:.0f} ms, "
            f"observed {latency.p50_ms:.0f} ms"
        )
    note = _too_few_requests(checks, requests)
    errors = Counter(sample.error or "unknown" for sample in samples if sample.outcome == ERROR)
    return Verdict(
        requests=requests,
        checks=checks,
        latency=latency,
        errors=dict(errors.most_common()),
        problems=tuple(problems),
        notes=(note,) if note else (),
    )


def _too_few_requests(checks: Sequence[ClassCheck], requests: int) -> str | None:
    """A note when a weighted class could be missing entirely and the run still pass."""
    blind = [c.outcome for c in checks if 0.0 < c.expected < 1.0 and c.tolerance >= c.expected]
    if not blind:
        return None
    needed = max(
        requests_to_notice_a_missing_class(c.expected) for c in checks if c.outcome in blind
    )
    missing = ", ".join(blind[:-1]) + " or " + blind[-1] if len(blind) > 1 else blind[0]
    return (
        f"{requests} requests are too few for this split: with no {missing} at all it would "
        f"still pass; use -n {needed} or more"
    )


def percent(share: float) -> str:
    """33.3%, 50%, 100%: one decimal only where it says something."""
    value = round(share * 100, 1)
    return f"{value:.0f}%" if value == int(value) else f"{value:.1f}%"


def distribution(shares: Mapping[str, float]) -> str:
    """'v1 33.3%, v2 33.3%, v3 33.3%' in report order, leaving out empty classes."""
    listed = [f"{o} {percent(shares[o])}" for o in OUTCOMES if shares.get(o, 0.0) > 0.0]
    return ", ".join(listed) or "nothing"
