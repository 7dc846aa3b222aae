"""Command line: find the page and the scenario, send the requests, judge, report.

What is not given as an option (the URL, the scenario, and with --traces the tracing backend
and the data plane) is read from the deployed lab's stack outputs (smoke/deployed.py). A lab
read that way is first examined by the doctor's checks (doctor/): when the lab itself
differs from what was deployed, smoke says so instead of judging the scenario.

Exit status: 0 the mesh did what the scenario promises, 1 it did not, 2 the check could not
run (bad option, no URL, unknown scenario, failed login, a damaged lab).
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.parse
from collections.abc import Sequence
from typing import TextIO

from doctor.checks import REPAIR
from doctor.cli import findings_for
from doctor.cluster import Unreachable
from plan import facts, modes
from plan.scenarios import ANONYMOUS, SCENARIOS
from scripts.cdk_json import add_cluster_option, lab_stacks
from smoke.client import BookinfoClient, LoginError, Sample
from smoke.deployed import DeployedLab, SetupError, read_stack
from smoke.report import FROM_OPTION, Report
from smoke.traces import APIS, PortForward, TracesError, check_traces, expected_services
from smoke.verdict import judge

EXIT_PASS, EXIT_MISMATCH, EXIT_SETUP = 0, 1, 2

DEFAULT_REQUESTS = 30
MAX_REQUESTS = 10_000
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_TRACES_WAIT_S = 30.0
SCENARIO_NAMES = tuple(SCENARIOS)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        # --help (0) or a usage error (2) that argparse already printed.
        return int(exit_.code or 0)
    args.stack = args.stack or lab_stacks(args.cluster).cluster
    try:
        return _run(args)
    except SetupError as problem:
        print(f"smoke: error: {problem}", file=sys.stderr)
        return EXIT_SETUP
    except KeyboardInterrupt:
        print("smoke: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m smoke",
        description=(
            "Request Bookinfo's product page a number of times, tell from each page which "
            "reviews version answered (or which failure it shows), and check the shares "
            "against what the traffic scenario promises."
        ),
        epilog=(
            f"scenarios: {', '.join(SCENARIO_NAMES)}. "
            "Exit status: 0 as promised, 1 not as promised, 2 the check could not run."
        ),
    )
    parser.add_argument(
        "--url",
        help=(
            "product page URL, e.g. http://HOST:80/productpage (default: the stack output "
            f"{facts.BOOKINFO_URL_OUTPUT}, read with the AWS CLI)"
        ),
    )
    add_cluster_option(parser)
    parser.add_argument(
        "--stack",
        help="the lab's cluster stack, whose outputs say what is not given as an option "
        "(default: the cluster stack of the lab --cluster names)",
    )
    parser.add_argument(
        "--scenario",
        help=f"scenario to check against (default: the deployed one, from the stack output "
        f"{facts.SETTINGS_OUTPUT})",
    )
    parser.add_argument(
        "-n",
        "--requests",
        type=_bounded_int(1, MAX_REQUESTS),
        default=DEFAULT_REQUESTS,
        metavar="N",
        help="number of requests, sent one after another (default: %(default)s)",
    )
    parser.add_argument(
        "--user",
        help="log in as USER first (e.g. jason), as the page's Sign in does (default: anonymous)",
    )
    parser.add_argument(
        "--timeout",
        type=_positive_float,
        default=DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help="limit for each request (default: %(default)s)",
    )
    parser.add_argument(
        "--traces",
        action="store_true",
        help=(
            "then ask the tracing backend (through a kubectl port-forward) which services the "
            "traces through productpage passed, and require productpage, details, reviews and "
            "(where the scenario calls it) ratings"
        ),
    )
    parser.add_argument(
        "--tracing",
        choices=sorted(APIS),
        help=(
            f"tracing backend the lab runs (default: the deployed one, from "
            f"{facts.SETTINGS_OUTPUT})"
        ),
    )
    parser.add_argument(
        "--dataplane",
        choices=sorted(modes.DATAPLANES),
        help=(
            f"Istio data plane the lab runs (default: the deployed one, from "
            f"{facts.SETTINGS_OUTPUT}); --traces needs sidecars"
        ),
    )
    parser.add_argument(
        "--tracing-url",
        help="the backend's HTTP API at this URL instead of a port-forward, e.g. http://localhost:16686",
    )
    parser.add_argument(
        "--traces-wait",
        type=_positive_float,
        default=DEFAULT_TRACES_WAIT_S,
        metavar="SECONDS",
        help="how long to wait for the spans to arrive (default: %(default)s)",
    )
    parser.add_argument(
        "--no-doctor",
        action="store_true",
        help="judge the scenario without first checking the cluster against the deployed lab",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "--progress",
        action="store_true",
        help="show a progress bar on stderr even when it is not a terminal",
    )
    return parser


def _bounded_int(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected {low} to {high}, got {value}")
        return value

    return parse


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"expected more than 0 and at most 3600, got {text}")
    return value


def _run(args: argparse.Namespace) -> int:
    needed = {"--url": args.url, "--scenario": args.scenario}
    if args.traces:
        needed.update({"--tracing": args.tracing, "--dataplane": args.dataplane})
    missing = [option for option, value in needed.items() if value is None]
    deployed = read_stack(args.stack, missing) if missing else None
    if deployed is not None and not args.no_doctor:
        damage = lab_damage(deployed)
        if damage:
            raise SetupError(damage)

    if args.scenario is not None:
        scenario_name, source = args.scenario, FROM_OPTION
    else:
        scenario_name = deployed.setting("scenario")
        source = f"{facts.SETTINGS_OUTPUT} of {args.stack}"
    if scenario_name not in SCENARIOS:
        raise SetupError(
            f"unknown scenario {scenario_name!r} (from {source}); "
            f"valid scenarios: {', '.join(SCENARIO_NAMES)}"
        )
    scenario = SCENARIOS[scenario_name]
    url = productpage_url(args.url if args.url else deployed.url)

    client = BookinfoClient(url, timeout_s=args.timeout)
    if args.user:
        try:
            client.login(args.user)
        except LoginError as problem:
            raise SetupError(str(problem)) from None
    promise = scenario.promise_for(args.user)

    tracing_api = _tracing_api(args, deployed) if args.traces else None
    show_progress = args.progress or sys.stderr.isatty()
    since = time.time()
    samples = collect(client, args.requests, progress=sys.stderr if show_progress else None)
    traces = None
    if tracing_api is not None:
        expected = expected_services(promise)
        try:
            if args.tracing_url:
                traces = check_traces(
                    tracing_api,
                    args.tracing_url.rstrip("/"),
                    expected,
                    since=since,
                    wait_s=args.traces_wait,
                )
            else:
                with PortForward(tracing_api) as forward:
                    traces = check_traces(
                        tracing_api,
                        forward.base_url,
                        expected,
                        since=since,
                        wait_s=args.traces_wait,
                    )
        except TracesError as problem:
            raise SetupError(str(problem)) from None
    report = Report(
        url=url,
        scenario=scenario.name,
        scenario_source=source,
        task=scenario.task,
        user=args.user or ANONYMOUS,
        promise=promise,
        verdict=judge(promise, samples),
        traces=traces,
    )
    print(report.json() if args.json else report.text())
    return EXIT_PASS if report.passed else EXIT_MISMATCH


def lab_damage(deployed: DeployedLab) -> str | None:
    """What the doctor's checks say of the deployed lab's cluster, as one line, or None when
    it is as deployed. When the cluster cannot be examined (no ClusterArn output, no kubectl,
    no kubeconfig entry), says so on stderr and lets the scenario be judged."""
    if not deployed.outputs.get(facts.CLUSTER_ARN_OUTPUT):
        return None
    try:
        findings = findings_for(deployed)
    except (SetupError, Unreachable) as problem:
        print(f"smoke: the doctor could not examine the cluster ({problem}); judging the mesh "
              "only", file=sys.stderr)  # fmt: skip
        return None
    if not findings:
        return None
    repairs = any(f.fix == REPAIR for f in findings)
    advice = "run `make repair`, then smoke again" if repairs else "remove what `make doctor` names"
    return (
        f"the lab itself differs from what was deployed ({len(findings)} differences, `make "
        f"doctor` lists them), so the scenario is not judged: {advice}"
    )


def collect(client: BookinfoClient, requests: int, *, progress: TextIO | None) -> list[Sample]:
    """Send `requests` requests one after another; each is bounded by the client's timeout."""
    bar = ProgressBar(requests, progress) if progress else None
    samples = []
    for done in range(1, requests + 1):
        samples.append(client.fetch())
        if bar:
            bar.show(done)
    if bar:
        bar.clear()
    return samples


class ProgressBar:
    """`[#########.....] 12/30` redrawn in place on one line."""

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.stream = stream
        self._length = 0

    def show(self, done: int) -> None:
        filled = self.WIDTH * done // self.total
        line = f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{self.total}"
        self._length = len(line)
        self.stream.write("\r" + line)
        self.stream.flush()

    def clear(self) -> None:
        self.stream.write("\r" + " " * self._length + "\r")
        self.stream.flush()


def _tracing_api(args: argparse.Namespace, deployed: DeployedLab | None):
    """The tracing backend's API to ask, once it is clear there are traces to check."""
    backend = args.tracing or deployed.setting("tracing")
    if backend not in APIS:
        raise SetupError(
            f"the lab's tracing is {backend!r}, so there are no traces to check; pass "
            f"--tracing {' or '.join(sorted(APIS))} if you deployed with one"
        )
    dataplane = args.dataplane or deployed.setting("dataplane")
    if dataplane not in modes.DATAPLANES:
        raise SetupError(f"unknown data plane {dataplane!r}")
    if not modes.DATAPLANES[dataplane].per_service_spans:
        raise SetupError(
            f"the lab's data plane is {dataplane!r}: without sidecars only the ingress "
            "gateway and waypoints send spans, so Bookinfo's services do not each appear in "
            "a trace under their own names; --traces checks a sidecar lab"
        )
    return APIS[backend]


def productpage_url(url: str) -> str:
    """`url` checked; a bare host URL gets the product page path."""
    parts = urllib.parse.urlsplit(url)
    try:
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is not a number from 0 to 65535
        valid = False
    if not valid:
        raise SetupError(f"expected an http(s) URL such as http://HOST:80/productpage, got {url!r}")
    if parts.path in ("", "/"):
        parts = parts._replace(path=facts.BOOKINFO_PATH)
    return urllib.parse.urlunsplit(parts)
