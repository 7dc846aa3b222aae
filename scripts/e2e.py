"""`make e2e`: the lab's first real test, in one command and one report.

    python -m scripts.e2e [--keep]

Deploys every stack, runs the doctor and the smoke check (with traces where the deployed lab
has per-service traces), destroys the lab, then scans the account and region for anything
it left (`make leftovers`), timing each phase. It stops at the first phase that fails, but
always attempts the destroy and the scan, unless --keep (`KEEP=1`) is given, which keeps the
lab and skips both.

The report goes to e2e-reports/<UTC time>/: report.json (versions and settings, each phase's
result, duration and the end of its output, the CloudFormation events of any failed resource
(their reasons only), the leftovers) and summary.txt. Attach both to a bug report.

Exit status: 0 every phase passed, 1 one failed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from plan import facts
from scripts.cdk_json import add_cluster_option, cluster_name
from scripts.deploy_context import deploy_context

REPORTS = Path("e2e-reports")
OUTPUT_TAIL_LINES = 40
CDK = ["npx", "--no-install", "cdk"]
PYTHON = [sys.executable]


@dataclass
class PhaseResult:
    name: str
    command: list[str]
    passed: bool | None = None  # None: not run
    exit_status: int | None = None
    seconds: float | None = None
    output_tail: list[str] = field(default_factory=list)
    skipped_because: str = ""
    # The whole output, for what the report reads from it (not written as such).
    output: str = field(default="", repr=False)


@dataclass(frozen=True)
class Phase:
    """A phase: its command, and whether it runs after an earlier phase failed."""

    name: str
    command: list[str]
    always: bool = False


def phases(outputs_file: Path, cluster: str, deployer: Sequence[str] = ()) -> list[Phase]:
    """The phases of the lab named `cluster`, in order. `kubeconfig` runs the deploy's
    KubeconfigCommand output, the Kiali check gets Bookinfo's namespace, and smoke takes
    --traces where the deployed lab has per-service traces (`prepare` fills them in from the
    outputs file); the destroy is `make destroy` (it also forgets the kubeconfig entries);
    the scan is read-only. `deployer` is the context `make deploy` adds for who gets in
    (scripts/deploy_context.py)."""
    lab = ["--cluster", cluster]
    return [
        Phase(
            "deploy",
            [
                *CDK,
                "deploy",
                "-c",
                f"clusterName={cluster}",
                *deployer,
                "--all",
                "--require-approval",
                "never",
                "--outputs-file",
                str(outputs_file),
            ],
        ),  # fmt: skip
        Phase("kubeconfig", []),
        Phase("doctor", [*PYTHON, "-m", "doctor", *lab]),
        # The NLB reaches the gateway: every target group of the cluster has a healthy target.
        Phase("targets", [*PYTHON, "-m", "scripts.e2e_checks", "targets", *lab]),
        Phase("smoke", [*PYTHON, "-m", "smoke", *lab]),
        # After smoke's traffic: Kiali's graph of Bookinfo's namespace shows its apps.
        Phase("kiali", [*PYTHON, "-m", "scripts.e2e_checks", "kiali"]),
        Phase(
            "destroy",
            ["make", "--no-print-directory", "destroy", f"CLUSTER={cluster}"],
            always=True,
        ),  # fmt: skip
        Phase("leftovers", [*PYTHON, "-m", "scripts.leftovers", *lab, "--json"], always=True),
    ]


Runner = Callable[[list[str]], tuple[int, str]]


def run_command(command: list[str]) -> tuple[int, str]:
    """Runs `command`, streaming its output to the terminal; returns its status and output."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    lines = []
    for line in process.stdout:
        sys.stdout.write(line)
        lines.append(line)
    return process.wait(), "".join(lines)


def run_phases(
    plan: Sequence[Phase],
    *,
    keep: bool,
    runner: Runner = run_command,
    clock: Callable[[], float] = time.monotonic,
    before: Callable[[str], None] = lambda name: None,
) -> list[PhaseResult]:
    """Runs the phases in order. After a failure only the `always` phases run; with `keep`
    they never do. `before(name)` runs before each phase (e.g. to choose smoke's options
    from the deploy's outputs)."""
    results = []
    failed = None
    for phase in plan:
        result = PhaseResult(phase.name, list(phase.command))
        results.append(result)
        if phase.always and keep:
            result.skipped_because = "KEEP=1 keeps the lab"
            continue
        if failed is not None and not phase.always:
            result.skipped_because = f"{failed} failed"
            continue
        before(phase.name)
        result.command = list(phase.command)
        start = clock()
        status, output = runner(result.command)
        result.seconds = round(clock() - start, 1)
        result.exit_status = status
        result.passed = status == 0
        result.output = output
        result.output_tail = output.splitlines()[-OUTPUT_TAIL_LINES:]
        if not result.passed and failed is None:
            failed = phase.name
    return results


def stack_seconds(deploy_output: str) -> dict[str, float]:
    """Each stack's deployment time as the CDK CLI prints it (a line naming the stack, then
    "Deployment time: 123.45s")."""
    times: dict[str, float] = {}
    stack = None
    for line in deploy_output.splitlines():
        named = re.search(r"✅\s+(\S+)", line)
        if named:
            stack = named[1]
        took = re.search(r"Deployment time: ([\d.]+)s", line)
        if took and stack and stack not in times:
            times[stack] = float(took[1])
    return times


def failed_resource_events(cloudformation, stacks: Sequence[str]) -> list[dict[str, str]]:
    """The reasons CloudFormation gives for each failed resource of the stacks (no
    properties, no outputs: nothing that could hold a secret)."""
    events = []
    for stack in stacks:
        try:
            pages = cloudformation.get_paginator("describe_stack_events").paginate(StackName=stack)
            for page in pages:
                for event in page["StackEvents"]:
                    if event["ResourceStatus"].endswith("_FAILED"):
                        events.append(
                            {
                                "stack": stack,
                                "resource": event["LogicalResourceId"],
                                "type": event["ResourceType"],
                                "status": event["ResourceStatus"],
                                "reason": event.get("ResourceStatusReason", ""),
                            }
                        )
        except Exception as error:  # a report is still worth writing without them
            events.append({"stack": stack, "error": str(error)[:300]})
    return events


def cluster_outputs(outputs_file: Path, cluster: str) -> dict[str, str]:
    """The outputs of the cluster stack of the lab `cluster`, from the deploy's
    --outputs-file (empty if none)."""
    if not outputs_file.is_file():
        return {}
    document = json.loads(outputs_file.read_text(encoding="utf-8"))
    return document.get(facts.lab_stacks(cluster).cluster, {})


def settings_of(outputs_file: Path, cluster: str) -> dict[str, Any]:
    """The deployed lab's LabSettings (empty if unknown)."""
    text = cluster_outputs(outputs_file, cluster).get(facts.SETTINGS_OUTPUT)
    return json.loads(text) if text else {}


def prepare(plan: list[Phase], outputs_file: Path, cluster: str) -> Callable[[str], None]:
    """What to do before a phase: fill in the kubeconfig command and smoke's options from
    what the deploy wrote."""
    by_name = {phase.name: phase for phase in plan}

    def before(name: str) -> None:
        settings = settings_of(outputs_file, cluster)
        if name == "kubeconfig":
            command = cluster_outputs(outputs_file, cluster).get(facts.KUBECONFIG_OUTPUT, "")
            by_name[name].command[:] = shlex.split(command) or ["false"]
        elif name == "kiali":
            by_name[name].command.extend(
                ["--namespace", str(settings.get("bookinfoNamespace", ""))]
            )
        elif name == "smoke" and traces_possible(settings):
            by_name[name].command.append("--traces")

    return before


def traces_possible(settings: dict[str, Any]) -> bool:
    """smoke --traces needs a tracing backend and sidecars (per-service spans)."""
    return settings.get("tracing", "none") != "none" and settings.get("dataplane") == "sidecar"


def report(
    results: list[PhaseResult],
    *,
    settings: dict[str, Any],
    versions: dict[str, str],
    events: list[dict[str, str]],
    leftovers: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    return {
        "versions": versions,
        "settings": settings,
        "stack_deploy_seconds": stack_seconds(results[0].output),
        "phases": [{k: v for k, v in asdict(r).items() if k != "output"} for r in results],
        "passed": all(r.passed for r in results if r.passed is not None)
        and not any(r.skipped_because.endswith("failed") for r in results),
        "failed_resources": events,
        "leftovers": leftovers,
    }


def summary(document: dict[str, Any]) -> str:
    lines = [f"make e2e: {'passed' if document['passed'] else 'FAILED'}"]
    for phase in document["phases"]:
        if phase["passed"] is None:
            lines.append(f"  {phase['name']:<10} skipped ({phase['skipped_because']})")
        else:
            verdict = "ok" if phase["passed"] else f"failed (exit {phase['exit_status']})"
            lines.append(f"  {phase['name']:<10} {verdict} in {phase['seconds'] / 60:.1f} min")
    for stack, seconds in document["stack_deploy_seconds"].items():
        lines.append(f"    {stack}: deployed in {seconds / 60:.1f} min")
    for event in document["failed_resources"]:
        lines.append(f"  failed: {event.get('stack')} {event.get('resource', '')}: "
                     f"{event.get('reason', event.get('error', ''))}")  # fmt: skip
    left = [x for x in document["leftovers"] or [] if x.get("the_labs")]
    if document["leftovers"] is not None:
        lines.append(f"  leftovers: {len(left) or 'none'}")
        lines += [f"    {x['what']}: {x['command']}" for x in left]
    versions = ", ".join(f"{k} {v}" for k, v in document["versions"].items())
    lines.append(f"  versions: {versions}")
    return "\n".join(lines) + "\n"


def versions() -> dict[str, str]:
    def out(command: list[str]) -> str:
        try:
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            return done.stdout.strip().splitlines()[0] if done.stdout.strip() else "unknown"
        except OSError:
            return "unknown"

    return {
        "commit": out(["git", "rev-parse", "--short", "HEAD"]),
        "cdk cli": out([*CDK, "--version"]),
        "node": out(["node", "--version"]),
        "python": sys.version.split()[0],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.e2e", description=__doc__)
    parser.add_argument("--keep", action="store_true", help="keep the lab: no destroy, no scan")
    add_cluster_option(parser)
    args = parser.parse_args(argv)
    cluster = args.cluster or cluster_name()
    try:
        deployer, said = deploy_context()
    except ValueError as problem:
        print(f"make e2e: error: {problem}", file=sys.stderr)
        return 2
    print("\n".join(said), file=sys.stderr)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    directory = REPORTS / stamp
    directory.mkdir(parents=True, exist_ok=True)
    outputs_file = directory / "outputs.json"
    plan = phases(outputs_file, cluster, deployer.split())
    results = run_phases(plan, keep=args.keep, before=prepare(plan, outputs_file, cluster))
    events: list[dict[str, str]] = []
    destroy = next(r for r in results if r.name == "destroy")
    if results[0].passed is False or destroy.passed is False:
        import boto3

        events = failed_resource_events(
            boto3.client("cloudformation"), list(facts.lab_stacks(cluster).all())
        )
    document = report(
        results,
        settings=settings_of(outputs_file, cluster),
        versions=versions(),
        events=events,
        leftovers=leftovers_of(results[-1]),
    )
    write(document, directory)
    return 0 if document["passed"] else 1


def leftovers_of(scan: PhaseResult) -> list[dict[str, Any]] | None:
    """What the scan printed as JSON, or None when it did not run (or printed none)."""
    if scan.passed is None:
        return None
    try:
        return json.loads(scan.output[scan.output.index("[") :])
    except ValueError:
        return None


def write(document: dict[str, Any], directory: Path) -> None:
    (directory / "report.json").write_text(json.dumps(document, indent=1) + "\n", "utf-8")
    text = summary(document)
    (directory / "summary.txt").write_text(text, "utf-8")
    print(text + f"report: {directory}/report.json and summary.txt")


if __name__ == "__main__":
    sys.exit(main())
