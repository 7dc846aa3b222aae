"""`python -m smoke --traces`: after the page requests, the services in the tracing backend's
traces through productpage, against fake Jaeger and Zipkin APIs on 127.0.0.1, reached
directly or through a (fake) kubectl port-forward that the tool starts and stops."""

from __future__ import annotations

import json
import os
import socket
import sys
import textwrap
from pathlib import Path

import pytest

from plan.modes import TRACING
from plan.scenarios import SCENARIOS
from smoke.traces import APIS, expected_services
from tests.smoke.fake_productpage import BLACK_STARS, NO_STARS, RED_STARS, always, rotate
from tests.smoke.fake_tracing import FakeTracing

ALL_FOUR = ["productpage", "details", "reviews", "ratings"]
FAKE_TRACING = Path(__file__).resolve().parent / "fake_tracing.py"


@pytest.fixture
def tracing():
    servers: list[FakeTracing] = []

    def start(backend: str, services: list[str], **options) -> FakeTracing:
        server = FakeTracing(backend, services, **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def test_the_apis_are_the_services_the_lab_deploys():
    for name, api in APIS.items():
        backend = TRACING[name]
        query = backend.query.in_cluster()
        assert (api.service, api.namespace, api.port) == (query.name, query.namespace, query.port)


@pytest.mark.parametrize(
    ("scenario", "user", "expected"),
    [
        ("round-robin", None, ALL_FOUR),
        ("all-v1", None, ALL_FOUR[:3]),
        ("reviews-jason-v2", None, ALL_FOUR[:3]),
        ("reviews-jason-v2", "jason", ALL_FOUR),
        ("reviews-v3", None, ALL_FOUR),
        ("ratings-abort-jason", "jason", ALL_FOUR[:3]),
    ],
)
def test_ratings_is_expected_only_where_the_scenario_calls_it(scenario, user, expected):
    assert list(expected_services(SCENARIOS[scenario].promise_for(user))) == expected


@pytest.mark.parametrize("backend", sorted(APIS))
def test_traces_through_all_four_services_pass(productpage, tracing, smoke, backend):
    page = productpage(rotate(NO_STARS, BLACK_STARS, RED_STARS))
    api = tracing(backend, ALL_FOUR)
    run = smoke(
        "--url", page.url, "--scenario", "round-robin", "-n", "30", "--traces",
        "--dataplane", "sidecar", "--tracing", backend,
        "--tracing-url", api.url, "--traces-wait", "1",
    )  # fmt: skip
    assert run.code == 0, run.out + run.err
    assert f"traces ({backend}): seen details, productpage, ratings, reviews" in run.out
    # It asked for the traces of productpage, by the name Istio gives its spans.
    key = "service" if backend == "jaeger" else "serviceName"
    assert api.trace_queries[-1][key] == ["productpage.default"]


def test_a_missing_service_fails_and_is_named(productpage, tracing, smoke):
    page = productpage(rotate(NO_STARS, BLACK_STARS, RED_STARS))
    api = tracing("jaeger", ALL_FOUR[:3])
    run = smoke(
        "--url", page.url, "--scenario", "round-robin", "-n", "30", "--traces",
        "--tracing", "jaeger", "--dataplane", "sidecar",
        "--tracing-url", api.url, "--traces-wait", "0.5", "--json",
    )  # fmt: skip
    assert run.code == 1
    result = json.loads(run.out)
    assert result["traces"]["missing"] == ["ratings"]
    assert result["passed"] is False


@pytest.mark.parametrize("backend", sorted(APIS))
def test_an_earlier_scenarios_traces_do_not_count(productpage, tracing, smoke, backend):
    # GIVEN an hour-old trace through all four services (an earlier scenario's), and now
    # traces without ratings although the scenario calls it (tracing broke since)
    page = productpage(rotate(NO_STARS, BLACK_STARS, RED_STARS))
    api = tracing(backend, ALL_FOUR[:3], earlier=ALL_FOUR, earlier_age_s=3600)
    # WHEN the traces are checked
    run = smoke(
        "--url", page.url, "--scenario", "round-robin", "-n", "6", "--traces",
        "--dataplane", "sidecar", "--tracing", backend,
        "--tracing-url", api.url, "--traces-wait", "0.5", "--json",
    )  # fmt: skip
    # THEN only this run's traces count: ratings is missing
    assert run.code == 1, run.out + run.err
    assert json.loads(run.out)["traces"]["missing"] == ["ratings"]
    # The window is sent as the backend bounds a search (Jaeger v2 ignores `lookback`).
    query = api.trace_queries[-1]
    if backend == "jaeger":
        assert "lookback" not in query
        start, end = int(query["start"][0]), int(query["end"][0])
        assert 0 < end - start < 120 * 1_000_000
    else:
        assert int(query["lookback"][0]) < 120 * 1000


def test_a_scenario_without_ratings_does_not_require_it(productpage, tracing, smoke):
    page = productpage(always(NO_STARS))
    api = tracing("zipkin", ALL_FOUR[:3])
    run = smoke(
        "--url", page.url, "--scenario", "all-v1", "-n", "5", "--traces",
        "--dataplane", "sidecar", "--tracing", "zipkin",
        "--tracing-url", api.url, "--traces-wait", "0.5",
    )  # fmt: skip
    assert run.code == 0, run.out
    assert "expected productpage, details, reviews" in run.out


def test_spans_that_arrive_late_are_waited_for(productpage, tracing, smoke):
    page = productpage(always(RED_STARS))
    api = tracing("jaeger", ALL_FOUR, visible_after=1)
    run = smoke(
        "--url", page.url, "--scenario", "reviews-v3", "-n", "3", "--traces",
        "--tracing", "jaeger", "--dataplane", "sidecar",
        "--tracing-url", api.url, "--traces-wait", "10",
    )  # fmt: skip
    assert run.code == 0, run.out
    assert api.polls >= 2


def fake_kubectl(tmp_path: Path, services: list[str], backend: str = "jaeger") -> Path:
    """A `kubectl` that, for `port-forward ... LOCAL:REMOTE`, records its arguments and
    serves the fake API on LOCAL until it is stopped."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "kubectl-args.json"
    script = bin_dir / "kubectl"
    script.write_text(
        textwrap.dedent(
            f"""\
            #!{sys.executable}
            import json, os, sys
            json.dump(sys.argv[1:], open({str(log)!r}, "w"))
            local = sys.argv[-1].split(":")[0]
            os.execv({sys.executable!r}, [{sys.executable!r}, {str(FAKE_TRACING)!r}, local,
                     {backend!r}, *{services!r}])
            """
        ),
        encoding="utf-8",
    )
    script.chmod(0o755)
    return bin_dir


def test_the_tool_port_forwards_to_the_backend_and_stops_it(
    productpage, smoke, tmp_path, monkeypatch
):
    # GIVEN kubectl on PATH (a fake that serves the Jaeger API on the forwarded port)
    bin_dir = fake_kubectl(tmp_path, ALL_FOUR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    page = productpage(always(BLACK_STARS))

    # WHEN the check runs with --traces and no --tracing-url
    run = smoke(
        "--url", page.url, "--scenario", "reviews-jason-v2", "--user", "jason", "-n", "3",
        "--traces", "--dataplane", "sidecar", "--tracing", "jaeger", "--traces-wait", "1",
    )  # fmt: skip

    # THEN it forwarded to the backend's query Service and passed
    assert run.code == 0, run.out + run.err
    args = json.loads((tmp_path / "kubectl-args.json").read_text(encoding="utf-8"))
    local, remote = args[-1].split(":")
    assert args[:-1] == ["port-forward", "-n", "istio-system", "svc/tracing"]
    assert remote == "80"
    # AND the port-forward is gone afterwards
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", int(local)), timeout=1):
        pass


def test_without_kubectl_it_says_so(productpage, smoke, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    page = productpage(always(NO_STARS))
    run = smoke(
        "--url",
        page.url,
        "--scenario",
        "all-v1",
        "-n",
        "1",
        "--traces",
        "--tracing",
        "jaeger",
        "--dataplane",
        "sidecar",
    )
    assert run.code == 2
    assert "kubectl is not on PATH" in run.err


def test_a_lab_without_tracing_has_no_traces_to_check(productpage, smoke, deployed_lab):
    page = productpage(always(NO_STARS))
    deployed_lab(page.url, scenario="all-v1", tracing="none", dataplane="sidecar")
    run = smoke("-n", "1", "--traces")
    assert run.code == 2
    assert "tracing is 'none'" in run.err


@pytest.mark.parametrize("how", ["deployed", "option"])
def test_an_ambient_lab_has_no_per_service_traces_to_check(productpage, smoke, deployed_lab, how):
    page = productpage(always(NO_STARS))
    deployed = "ambient" if how == "deployed" else "sidecar"
    deployed_lab(page.url, scenario="all-v1", tracing="jaeger", dataplane=deployed)
    options = ["--dataplane", "ambient"] if how == "option" else []
    run = smoke("-n", "1", "--traces", *options)
    assert run.code == 2
    assert "data plane is 'ambient'" in run.err
