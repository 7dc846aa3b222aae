"""The smoke check against a local stand-in for productpage that plays the mesh.

GIVEN a fake productpage answering as a scenario's routes would, WHEN `python -m smoke` runs
against it, THEN it passes for that scenario and fails, naming expected and observed, for
behaviour the scenario does not promise.
"""

from __future__ import annotations

import dataclasses
import json
import socket

import pytest

from plan.scenarios import SCENARIOS, USERS
from smoke import cli
from smoke.cli import SCENARIO_NAMES
from tests.smoke.fake_productpage import (
    BLACK_STARS,
    NO_STARS,
    RATINGS_ERROR,
    RED_STARS,
    REVIEWS_ERROR,
    SERVER_ERROR,
    TAILWIND,
    always,
    for_jason,
    rotate,
)

# How the mesh answers in each scenario, written from the Istio Tasks independently of
# the scenario table's promises (plan/scenarios.py), so that each checks the other.
ROUND_ROBIN = rotate(NO_STARS, BLACK_STARS, RED_STARS)
MESH = {
    "round-robin": ROUND_ROBIN,
    "all-v1": always(NO_STARS),
    "reviews-jason-v2": for_jason(always(BLACK_STARS), always(NO_STARS)),
    # jason's page takes about 6 s in the lab; see test_ratings_delay_* for the latency side.
    "ratings-delay-jason": for_jason(always(REVIEWS_ERROR), always(NO_STARS)),
    "ratings-abort-jason": for_jason(always(RATINGS_ERROR), always(NO_STARS)),
    "reviews-50-v3": rotate(NO_STARS, RED_STARS),
    "reviews-v3": always(RED_STARS),
    "reviews-timeout": always(REVIEWS_ERROR),
}
# Promises with a latency floor take seconds per request at full scale; they have a test
# of their own (test_ratings_delay_for_jason_*).
SLOW_PROMISES = {("ratings-delay-jason", "jason")}
FAST_PROMISES = [
    (scenario, user)
    for scenario in SCENARIO_NAMES
    for user in USERS
    if (scenario, user) not in SLOW_PROMISES
]


def user_args(user: str) -> list[str]:
    return ["--user", user] if user != "anonymous" else []


def test_the_mesh_plays_every_scenario():
    assert set(MESH) == set(SCENARIO_NAMES)
    assert all(SCENARIOS[scenario].promise_for(user).min_p50_ms for scenario, user in SLOW_PROMISES)


@pytest.mark.parametrize(("scenario", "user"), FAST_PROMISES)
def test_each_scenario_passes_when_the_mesh_keeps_its_promise(productpage, smoke, scenario, user):
    server = productpage(MESH[scenario])
    run = smoke("--url", server.url, "--scenario", scenario, *user_args(user))
    assert run.code == 0, run.out
    assert f"PASS: {scenario} as {user}" in run.out
    assert len(server.users_seen) == 30


def test_ratings_delay_for_jason_passes_when_slow(productpage, smoke, monkeypatch):
    # The real floor is 2.5 s of a 6 s page; scaled down tenfold to keep the test quick.
    expectation = SCENARIOS["ratings-delay-jason"]
    scaled = dataclasses.replace(expectation.jason, min_p50_ms=250)
    monkeypatch.setattr(
        cli,
        "SCENARIOS",
        {**SCENARIOS, "ratings-delay-jason": dataclasses.replace(expectation, jason=scaled)},
    )
    server = productpage(for_jason(always(REVIEWS_ERROR, delay_s=0.3), always(NO_STARS)))
    # Three requests: 30 would take 9 s.
    run = smoke(
        "--url", server.url, "--scenario", "ratings-delay-jason", "--user", "jason", "-n", "3"
    )
    assert run.code == 0, run.out


def test_ratings_delay_for_jason_fails_when_the_page_fails_fast(productpage, smoke):
    server = productpage(MESH["ratings-delay-jason"])
    run = smoke("--url", server.url, "--scenario", "ratings-delay-jason", "--user", "jason")
    assert run.code == 1
    assert "latency p50: expected at least 2500 ms, observed" in run.out


def test_round_robin_checked_as_all_v1_fails_naming_expected_and_observed(productpage, smoke):
    server = productpage(ROUND_ROBIN)
    run = smoke("--url", server.url, "--scenario", "all-v1")
    assert run.code == 1
    assert (
        "FAIL: scenario all-v1 promises anonymous v1 100%; "
        "observed v1 33.3%, v2 33.3%, v3 33.3% (30 requests)"
    ) in run.out
    assert "v1: expected every response, observed 33.3% (10 of 30)" in run.out
    assert "v2: expected none, observed 33.3% (10 of 30)" in run.out
    assert run.err == ""


def test_all_v1_checked_as_round_robin_fails(productpage, smoke):
    server = productpage(always(NO_STARS))
    run = smoke("--url", server.url, "--scenario", "round-robin")
    assert run.code == 1
    assert "v2: expected 33.3% ± 25.8%, observed 0% (0 of 30)" in run.out


def test_jason_without_his_route_fails(productpage, smoke):
    # The VirtualService for jason is missing: he gets v1 like everyone else.
    server = productpage(always(NO_STARS))
    run = smoke("--url", server.url, "--scenario", "reviews-jason-v2", "--user", "jason")
    assert run.code == 1
    assert "promises jason v2 100%; observed v1 100%" in run.out


def test_an_anonymous_reader_is_not_given_jasons_route(productpage, smoke):
    server = productpage(MESH["reviews-jason-v2"])
    run = smoke("--url", server.url, "--scenario", "reviews-jason-v2")
    assert run.code == 0
    assert set(server.users_seen) == {None}
    assert server.logins == []


def test_user_jason_logs_in_and_every_request_carries_his_session(productpage, smoke):
    server = productpage(MESH["reviews-jason-v2"])
    run = smoke("--url", server.url, "--scenario", "reviews-jason-v2", "--user", "jason")
    assert run.code == 0, run.out
    assert [(login.username, login.referer) for login in server.logins] == [("jason", server.url)]
    assert server.users_seen == ["jason"] * 30


def test_a_login_without_a_session_cookie_stops_the_run(productpage, smoke):
    server = productpage(MESH["reviews-jason-v2"], login_sets_cookie=False)
    run = smoke("--url", server.url, "--scenario", "reviews-jason-v2", "--user", "jason")
    assert run.code == 2
    assert run.err.count("\n") == 1
    assert "without a 'session' cookie" in run.err
    assert server.users_seen == []


def test_a_failed_login_stops_the_run(productpage, smoke):
    server = productpage(MESH["reviews-jason-v2"], login_status=500)
    run = smoke("--url", server.url, "--scenario", "reviews-jason-v2", "--user", "jason")
    assert run.code == 2
    assert run.err == f"smoke: error: login as jason at {server.base_url}/login failed: HTTP 500\n"


def test_a_split_within_tolerance_passes(productpage, smoke):
    # 60/40 instead of 50/50 over 30 requests: within 3 binomial deviations (27.4 points).
    server = productpage(rotate(*[NO_STARS] * 6, *[RED_STARS] * 4))
    run = smoke("--url", server.url, "--scenario", "reviews-50-v3", "--json")
    assert run.code == 0
    outcomes = json.loads(run.out)["outcomes"]
    assert outcomes["v1"]["count"] == 18
    assert outcomes["v3"]["count"] == 12


def test_a_clearly_wrong_split_fails(productpage, smoke):
    server = productpage(rotate(*[NO_STARS] * 9, RED_STARS))
    run = smoke("--url", server.url, "--scenario", "reviews-50-v3")
    assert run.code == 1
    assert "v1: expected 50% ± 27.4%, observed 90% (27 of 30)" in run.out
    assert "v3: expected 50% ± 27.4%, observed 10% (3 of 30)" in run.out


def test_server_errors_are_counted_and_fail_the_run(productpage, smoke):
    server = productpage(rotate(SERVER_ERROR, NO_STARS, NO_STARS, NO_STARS, NO_STARS))
    run = smoke("--url", server.url, "--scenario", "all-v1")
    assert run.code == 1
    assert "errors: 6 (HTTP 500: 6)" in run.out
    assert "error: expected none, observed 20% (6 of 30)" in run.out

    result = json.loads(smoke("--url", server.url, "--scenario", "all-v1", "--json").out)
    assert result["errors"] == {"HTTP 500": 6}
    assert result["outcomes"]["error"]["count"] == 6


def test_refused_connections_are_errors(smoke):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{closed_port}/productpage"
    run = smoke("--url", url, "--scenario", "all-v1", "-n", "2", "--json")
    assert run.code == 1
    assert json.loads(run.out)["errors"] == {"connection refused": 2}


def test_a_page_slower_than_the_timeout_is_an_error(productpage, smoke):
    server = productpage(always(NO_STARS, delay_s=1.0))
    run = smoke("--url", server.url, "--scenario", "all-v1", "-n", "1", "--timeout", "0.2")
    assert run.code == 1
    assert "errors: 1 (timed out: 1)" in run.out


def test_latency_percentiles_show_a_slow_page(productpage, smoke):
    server = productpage(always(NO_STARS, delay_s=0.3))
    run = smoke("--url", server.url, "--scenario", "all-v1", "-n", "3", "--json")
    assert run.code == 0
    latency = json.loads(run.out)["latency_ms"]
    assert 300 <= latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"] < 1300


def test_json_output_is_the_whole_result(productpage, smoke):
    server = productpage(ROUND_ROBIN)
    run = smoke("--url", server.url, "--scenario", "round-robin", "--json")
    result = json.loads(run.out)
    assert result["passed"] is True
    assert result["url"] == server.url
    assert (result["scenario"], result["scenario_source"]) == ("round-robin", "--scenario")
    assert (result["user"], result["requests"]) == ("anonymous", 30)
    assert {name: o["count"] for name, o in result["outcomes"].items()} == {
        "v1": 10,
        "v2": 10,
        "v3": 10,
    }
    assert result["outcomes"]["v1"]["tolerance"] == pytest.approx(0.2582, abs=1e-4)
    assert set(result["latency_ms"]) == {"p50", "p90", "p99", "max"}
    assert result["problems"] == [] and result["errors"] == {}


def test_pages_of_the_tailwind_template_are_read_alike(productpage, smoke):
    server = productpage(ROUND_ROBIN, template=TAILWIND)
    run = smoke("--url", server.url, "--scenario", "round-robin")
    assert run.code == 0, run.out


def test_progress_bar_only_on_request(productpage, smoke):
    server = productpage(always(NO_STARS))
    quiet = smoke("--url", server.url, "--scenario", "all-v1", "-n", "3")
    assert quiet.err == ""
    shown = smoke("--url", server.url, "--scenario", "all-v1", "-n", "3", "--progress")
    assert f"[{'#' * 30}] 3/3" in shown.err
    assert shown.code == quiet.code == 0
    assert "PASS: all-v1" in shown.out
