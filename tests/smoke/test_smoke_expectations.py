"""The scenario promises: one per scenario, well formed, agreeing with the scenario's routes,
and judged fairly."""

from __future__ import annotations

import pytest

from plan.scenarios import (
    RATINGS_UNAVAILABLE,
    REVIEWS_UNAVAILABLE,
    SCENARIO_TABLE,
    SCENARIOS,
    USERS,
    Promise,
    Scenario,
)
from smoke.classify import OUTCOMES
from smoke.client import Sample
from smoke.verdict import (
    Latency,
    judge,
    percentile,
    requests_to_notice_a_missing_class,
    tolerance,
)
from tests.istio_objects import lab_plan

# Bookinfo's own behaviour, as the Istio docs' Tasks describe it: productpage gives reviews
# 3 s per try; reviews v2 and v3 call ratings, v1 does not.
PRODUCTPAGE_TIMEOUT_MS = 3000
CALLS_RATINGS = {"v2", "v3"}


def page_shares(scenario: Scenario, user: str, versions: dict) -> dict[str, float]:
    """What a reader sees, worked out from the scenario's routes alone: which reviews versions
    answer, and what a fault on ratings does to the page of a version that calls it."""

    def rule_for(service):
        for rule in scenario.routes[service]:
            if rule.user in (None, user):
                return rule
        raise AssertionError(f"{scenario.name}: no rule of {service} for {user}")

    reviews = rule_for("reviews")
    total = sum(b.weight or 1 for b in reviews.to)
    shares: dict[str, float] = {}
    for backend in reviews.to:
        answering = [backend.version] if backend.version else sorted(versions["reviews"])
        for version in answering:
            share = (backend.weight or 1) / total / len(answering)
            outcome = version
            fault = rule_for("ratings").fault if version in CALLS_RATINGS else None
            if fault is not None and fault.abort_status is not None:
                outcome = RATINGS_UNAVAILABLE
            elif fault is not None:
                limit = reviews.timeout_ms or PRODUCTPAGE_TIMEOUT_MS
                if fault.delay_ms >= limit:
                    outcome = REVIEWS_UNAVAILABLE
            shares[outcome] = shares.get(outcome, 0.0) + share
    return shares


@pytest.mark.parametrize("scenario", SCENARIO_TABLE, ids=lambda s: s.name)
@pytest.mark.parametrize("user", USERS)
def test_each_promise_is_what_the_routes_make_the_page_show(scenario, user):
    versions = lab_plan().bookinfo.versions
    promise = scenario.promise_for(user)
    assert set(promise.shares) <= set(OUTCOMES)
    assert promise.why
    assert dict(promise.shares) == pytest.approx(page_shares(scenario, user, versions))


def test_the_routes_model_tells_scenarios_apart():
    # The comparison above can fail: another scenario's routes make other pages.
    versions = lab_plan().bookinfo.versions
    assert page_shares(SCENARIOS["reviews-v3"], "jason", versions) != dict(
        SCENARIOS["reviews-jason-v2"].jason.shares
    )


def test_users_other_than_jason_are_routed_like_anonymous_readers():
    scenario = SCENARIOS["reviews-jason-v2"]
    assert scenario.promise_for("alice") is scenario.promise_for(None) is scenario.anonymous
    assert scenario.promise_for("jason") is scenario.jason


def test_a_promise_that_does_not_add_up_is_refused():
    with pytest.raises(ValueError, match="add up to 1"):
        Promise({"v1": 0.5, "v3": 0.4}, why="typo")
    with pytest.raises(ValueError, match="unknown outcome"):
        Promise({"v4": 1.0}, why="no such version")


def test_tolerance_is_three_binomial_deviations_with_a_floor_of_ten_points():
    # 30 requests at 1/3: sqrt(1/3 * 2/3 / 30) = 0.0861, times 3.
    assert tolerance(1 / 3, 30) == pytest.approx(0.258, abs=1e-3)
    assert tolerance(0.5, 30) == pytest.approx(0.274, abs=1e-3)
    assert tolerance(0.5, 10_000) == pytest.approx(0.10)
    assert tolerance(1.0, 30) == tolerance(0.0, 30) == 0.0


def test_percentiles_are_nearest_rank_values_that_occurred():
    values = [float(v) for v in range(1, 11)]
    assert percentile(values, 50) == 5.0
    assert percentile(values, 90) == 9.0
    assert percentile(values, 99) == 10.0
    assert Latency.of([7.0]) == Latency(7.0, 7.0, 7.0, 7.0)


def test_a_delay_fault_is_judged_on_its_latency_too():
    promise = SCENARIOS["ratings-delay-jason"].jason
    fast = [Sample("reviews-unavailable", latency_ms=40.0)] * 5
    slow = [Sample("reviews-unavailable", latency_ms=6020.0)] * 5
    assert judge(promise, slow).passed
    problems = judge(promise, fast).problems
    assert problems == ("latency p50: expected at least 2500 ms, observed 40 ms",)


def test_too_few_requests_for_a_split_are_pointed_out_but_do_not_fail():
    promise = SCENARIOS["round-robin"].anonymous
    samples = [Sample("v1", 1.0), Sample("v2", 1.0), Sample("v3", 1.0)]
    verdict = judge(promise, samples)
    assert verdict.passed
    assert verdict.notes == (
        "3 requests are too few for this split: with no v1, v2 or v3 at all it would still "
        "pass; use -n 19 or more",
    )


@pytest.mark.parametrize("share", [1 / 3, 0.5])
def test_the_suggested_request_count_is_the_first_that_can_notice_a_missing_class(share):
    needed = requests_to_notice_a_missing_class(share)
    assert tolerance(share, needed) < share <= tolerance(share, needed - 1)
