"""Command line: find the page and the scenario, send the requests, judge, report.

Exit status: 0 the mesh did what the scenario promises, 1 it did not, 2 the check could not
run (bad option, no URL, unknown scenario, failed login).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from smoke.client import BookinfoClient, LoginError, Sample
from smoke.expectations import ANONYMOUS, EXPECTATIONS, SCENARIO_NAMES
from smoke.report import FROM_CDK_JSON, FROM_DEFAULT, FROM_OPTION, Report
from smoke.traces import APIS, PortForward, TracesError, check_traces, expected_services
from smoke.verdict import judge

EXIT_PASS, EXIT_MISMATCH, EXIT_SETUP = 0, 1, 2

# stacks/lab.py and stacks/cluster_stack.py name these; tests/smoke checks they agree.
CLUSTER_STACK_NAME = "BookinfoLab-Cluster"
URL_OUTPUT_KEY = "BookinfoUrl"
PRODUCTPAGE_PATH = "/productpage"
AWS_CLI_TIMEOUT_S = 60

CDK_JSON = Path(__file__).resolve().parent.parent / "cdk.json"
DEFAULT_SCENARIO = "round-robin"

DEFAULT_REQUESTS = 30
MAX_REQUESTS = 10_000
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_TRACES_WAIT_S = 30.0
DEFAULT_TRACING = "jaeger"
DEFAULT_DATAPLANE = "sidecar"
DATAPLANES = ("sidecar", "ambient")


class SetupError(Exception):
    """The check cannot run; the message is the one line the user sees."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        # --help (0) or a usage error (2) that argparse already printed.
        return int(exit_.code or 0)
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
            f"{URL_OUTPUT_KEY}, read with the AWS CLI)"
        ),
    )
    parser.add_argument(
        "--stack",
        default=CLUSTER_STACK_NAME,
        help=f"stack whose output {URL_OUTPUT_KEY} to read when --url is not given "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--scenario",
        help=f"scenario to check against (default: cdk.json's context, else {DEFAULT_SCENARIO})",
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
        help=f"tracing backend the lab runs (default: cdk.json's context, else {DEFAULT_TRACING})",
    )
    parser.add_argument(
        "--dataplane",
        choices=DATAPLANES,
        help=(
            f"Istio data plane the lab runs (default: cdk.json's context, else "
            f"{DEFAULT_DATAPLANE}); --traces needs sidecars"
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
    if args.scenario is not None:
        scenario, source = args.scenario, FROM_OPTION
    else:
        scenario, source = deployed_scenario()
    if scenario not in EXPECTATIONS:
        raise SetupError(
            f"unknown scenario {scenario!r} (from {source}); "
            f"valid scenarios: {', '.join(SCENARIO_NAMES)}"
        )
    expectation = EXPECTATIONS[scenario]
    url = productpage_url(args.url if args.url else url_from_stack(args.stack))

    client = BookinfoClient(url, timeout_s=args.timeout)
    if args.user:
        try:
            client.login(args.user)
        except LoginError as problem:
            raise SetupError(str(problem)) from None
    promise = expectation.for_user(args.user)

    tracing_api = None
    if args.traces:
        backend = args.tracing or deployed("tracing", DEFAULT_TRACING)
        if backend not in APIS:
            raise SetupError(
                f"the lab's tracing is {backend!r} (cdk.json), so there are no traces to check; "
                f"pass --tracing {' or '.join(sorted(APIS))} if you deployed with one"
            )
        tracing_api = APIS[backend]
        dataplane = args.dataplane or deployed("dataplane", DEFAULT_DATAPLANE)
        if dataplane != DEFAULT_DATAPLANE:
            raise SetupError(
                f"the lab's data plane is {dataplane!r}: without sidecars only the ingress "
                "gateway and waypoints send spans, so productpage, details, reviews and ratings "
                "never appear in a trace; --traces checks a sidecar lab"
            )

    show_progress = args.progress or sys.stderr.isatty()
    samples = collect(client, args.requests, progress=sys.stderr if show_progress else None)
    traces = None
    if tracing_api is not None:
        expected = expected_services(promise)
        try:
            if args.tracing_url:
                traces = check_traces(
                    tracing_api, args.tracing_url.rstrip("/"), expected, wait_s=args.traces_wait
                )
            else:
                with PortForward(tracing_api) as forward:
                    traces = check_traces(
                        tracing_api, forward.base_url, expected, wait_s=args.traces_wait
                    )
        except TracesError as problem:
            raise SetupError(str(problem)) from None
    report = Report(
        url=url,
        scenario=scenario,
        scenario_source=source,
        task=expectation.task,
        user=args.user or ANONYMOUS,
        promise=promise,
        verdict=judge(promise, samples),
        traces=traces,
    )
    print(report.json() if args.json else report.text())
    return EXIT_PASS if report.passed else EXIT_MISMATCH


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


def deployed_scenario() -> tuple[str, str]:
    """The scenario in cdk.json's context, which a deployment uses unless given -c."""
    scenario = _cdk_json_context("scenario", "--scenario")
    if scenario is None:
        return DEFAULT_SCENARIO, FROM_DEFAULT
    return str(scenario), FROM_CDK_JSON


def deployed(key: str, default: str) -> str:
    """A context value in cdk.json, which a deployment uses unless given -c; `--<key>`
    overrides it here."""
    value = _cdk_json_context(key, f"--{key}")
    return default if value is None else str(value)


def _cdk_json_context(key: str, option: str) -> object:
    try:
        text = CDK_JSON.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SetupError(f"cannot read {CDK_JSON}: {exc.strerror}; pass {option}") from None
    try:
        return json.loads(text).get("context", {}).get(key)
    except (ValueError, AttributeError):
        raise SetupError(f"{CDK_JSON} is not a CDK settings file; pass {option}") from None


def url_from_stack(stack: str) -> str:
    """The stack output with the Bookinfo URL, through the AWS CLI."""
    command = [
        "aws",
        "cloudformation",
        "describe-stacks",
        "--stack-name",
        stack,
        "--query",
        f"Stacks[0].Outputs[?OutputKey=='{URL_OUTPUT_KEY}'].OutputValue",
        "--output",
        "text",
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=AWS_CLI_TIMEOUT_S, check=False
        )
    except FileNotFoundError:
        raise SetupError(
            f"no --url given, and the AWS CLI (aws) is not on PATH to read output "
            f"{URL_OUTPUT_KEY} of stack {stack}; pass --url http://HOST:80/productpage"
        ) from None
    except subprocess.TimeoutExpired:
        raise SetupError(
            f"no --url given, and the AWS CLI did not answer within {AWS_CLI_TIMEOUT_S} s; "
            "pass --url"
        ) from None
    if done.returncode != 0:
        stderr_lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        reason = stderr_lines[-1] if stderr_lines else f"exit status {done.returncode}"
        raise SetupError(
            f"no --url given, and reading output {URL_OUTPUT_KEY} of stack {stack} failed: {reason}"
        )
    url = done.stdout.strip()
    if not url or url == "None":
        raise SetupError(
            f"stack {stack} has no output {URL_OUTPUT_KEY}; is it deployed? Or pass --url"
        )
    return url


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
        parts = parts._replace(path=PRODUCTPAGE_PATH)
    return urllib.parse.urlunsplit(parts)
