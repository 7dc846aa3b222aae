"""The scenario promises: one per deployable scenario, well formed, and judged fairly."""

from __future__ import annotations

import ast
from pathlib import Path
from types import ModuleType

import pytest

from constructs.bookinfo_routing import scenario_names
from smoke import cli
from smoke.classify import OUTCOMES
from smoke.client import Sample
from smoke.expectations import EXPECTATIONS, SCENARIO_NAMES, USERS, Promise
from smoke.verdict import (
    Latency,
    judge,
    percentile,
    requests_to_notice_a_missing_class,
    tolerance,
)
from stacks import cluster_stack, config, lab


def test_every_deployable_scenario_has_a_promise_and_no_other():
    assert scenario_names() == SCENARIO_NAMES
    assert set(EXPECTATIONS) == set(SCENARIO_NAMES)


@pytest.mark.parametrize("scenario", SCENARIO_NAMES)
@pytest.mark.parametrize("user", USERS)
def test_each_promise_names_known_classes_adding_up_to_everything(scenario, user):
    promise = EXPECTATIONS[scenario].for_user(user)
    assert set(promise.shares) <= set(OUTCOMES)
    assert sum(promise.shares.values()) == pytest.approx(1.0)
    assert promise.why


def test_users_other_than_jason_are_routed_like_anonymous_readers():
    expectation = EXPECTATIONS["reviews-jason-v2"]
    assert expectation.for_user("alice") is expectation.for_user(None) is expectation.anonymous
    assert expectation.for_user("jason") is expectation.jason


def test_a_promise_that_does_not_add_up_is_refused():
    with pytest.raises(ValueError, match="add up to 1"):
        Promise({"v1": 0.5, "v3": 0.4}, why="typo")
    with pytest.raises(ValueError, match="unknown outcome"):
        Promise({"v4": 1.0}, why="no such version")


def cfn_output_ids(module: ModuleType) -> set[str]:
    """The construct ids of the CfnOutput(self, "Id", ...) calls in `module`'s source."""
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    return {
        node.args[1].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) == "CfnOutput"
        and len(node.args) > 1
        and isinstance(node.args[1], ast.Constant)
    }


def test_the_tool_reads_the_stack_output_the_app_defines():
    # Read from the source rather than a synthesized template: the lab's synth takes
    # seconds, and the output's id is a literal there.
    assert cli.CLUSTER_STACK_NAME == lab.CLUSTER_STACK_NAME
    assert cli.PRODUCTPAGE_PATH == cluster_stack.BOOKINFO_PATH
    assert cli.URL_OUTPUT_KEY in cfn_output_ids(cluster_stack)


def test_the_tool_knows_the_apps_data_planes_and_default():
    assert cli.DATAPLANES == config.DATAPLANES
    assert config.DEFAULTS["dataplane"] == cli.DEFAULT_DATAPLANE


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
    promise = EXPECTATIONS["ratings-delay-jason"].jason
    fast = [Sample("reviews-unavailable", latency_ms=40.0)] * 5
    slow = [Sample("reviews-unavailable", latency_ms=6020.0)] * 5
    assert judge(promise, slow).passed
    problems = judge(promise, fast).problems
    assert problems == ("latency p50: expected at least 2500 ms, observed 40 ms",)


def test_too_few_requests_for_a_split_are_pointed_out_but_do_not_fail():
    promise = EXPECTATIONS["round-robin"].anonymous
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
