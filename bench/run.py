"""`make bench`: synth and test times, template weight, and the deploy critical path.

Runs on this machine, writes bench/RESULTS.md and prints the same table. It needs the
project's .venv and node_modules (make bootstrap) and no AWS credentials.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.critical_path import Path as CriticalPath
from bench.critical_path import critical_path
from bench.durations import repair_weigher, weigher

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
# The report.json of `make e2e` runs against a real account, committed by whoever ran them.
MEASURED_REPORTS = ROOT / "bench" / "reports"
SYNTH_RATIO_TARGET = 1.5
TEST_SUITE_TARGET_SECONDS = 60.0
FLOOR_APP = "python3 -m bench.floor_app"


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    return env


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=environment(), check=True, capture_output=True)
    return time.perf_counter() - start


def cdk_synth(outdir: Path, app: str | None = None) -> list[str]:
    command = ["npx", "--no-install", "cdk", "synth", "--quiet", "-o", str(outdir)]
    return command + (["--app", app] if app else [])


def interleaved_synth_seconds(apps: dict[str, str | None], runs: int) -> dict[str, list[float]]:
    """Seconds of `cdk synth` of each app (None: the lab), `runs` times each, into a fresh
    output folder every time, after one run of each that is not counted (it fills the disk
    cache and jsii's package cache). The apps take turns, in alternating order, so that a
    machine that speeds up or slows down during the measurement affects them alike."""

    def seconds(app: str | None) -> float:
        with tempfile.TemporaryDirectory() as outdir:
            return timed(cdk_synth(Path(outdir), app))

    for app in apps.values():
        seconds(app)
    times: dict[str, list[float]] = {name: [] for name in apps}
    names = list(apps)
    for run in range(runs):
        for name in names if run % 2 == 0 else reversed(names):
            times[name].append(seconds(apps[name]))
    return times


def timed_under_load(command: list[str], busy_processes: int) -> float:
    """Seconds of `command` while `busy_processes` other processes keep a core busy each."""
    busy = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy_processes)
    ]
    try:
        return timed(command)
    finally:
        for process in busy:
            process.kill()
            process.wait()


def stack_templates(cloud_assembly: Path) -> dict[str, Path]:
    """Stack name -> template, in deployment order (a stack after the stacks it uses)."""
    manifest = json.loads((cloud_assembly / "manifest.json").read_text(encoding="utf-8"))
    stacks = {
        name: artifact
        for name, artifact in manifest["artifacts"].items()
        if artifact.get("type") == "aws:cloudformation:stack"
    }
    graph = {
        name: {d for d in artifact.get("dependencies", []) if d in stacks}
        for name, artifact in stacks.items()
    }
    ordered: list[str] = []
    while len(ordered) < len(stacks):
        ready = sorted(n for n in graph if n not in ordered and graph[n] <= set(ordered))
        if not ready:
            raise ValueError(f"stack dependency cycle among {sorted(set(graph) - set(ordered))}")
        ordered += ready
    return {name: cloud_assembly / stacks[name]["properties"]["templateFile"] for name in ordered}


def weight_of_assembly(cloud_assembly: Path) -> dict:
    templates = {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(cloud_assembly.glob("*.template.json"))
    }
    asset_bytes = sum(
        f.stat().st_size
        for entry in cloud_assembly.glob("asset.*")
        for f in ([entry] if entry.is_file() else entry.rglob("*"))
        if f.is_file()
    )
    return {
        "templates": {
            name: {
                "bytes": (cloud_assembly / name).stat().st_size,
                "resources": len(t.get("Resources", {})),
            }
            for name, t in templates.items()
        },
        "lambda_functions": sum(
            1
            for t in templates.values()
            for r in t.get("Resources", {}).values()
            if r["Type"] == "AWS::Lambda::Function"
        ),
        "asset_bytes": asset_bytes,
    }


def lab_paths(cloud_assembly: Path) -> dict[str, dict[str, CriticalPath]]:
    """Per stack, the creation and deletion critical paths (nested stacks included)."""
    paths = {}
    for name, template_path in stack_templates(cloud_assembly).items():
        template = json.loads(template_path.read_text(encoding="utf-8"))
        paths[name] = {
            phase: critical_path(
                template, weigher(cloud_assembly, deleting=deleting), deleting=deleting
            )
            for phase, deleting in (("create", False), ("delete", True))
        }
        paths[name]["repair"] = critical_path(template, repair_weigher(cloud_assembly))
    return paths


def baseline(ref: str) -> dict:
    """The critical paths of the lab as committed at git `ref`, synthesized from a temporary
    worktree with this checkout's .venv and node_modules."""
    with tempfile.TemporaryDirectory() as scratch:
        tree, outdir = Path(scratch) / "tree", Path(scratch) / "out"
        git = ["git", "-C", str(ROOT)]
        subprocess.run(
            [*git, "worktree", "add", "--detach", str(tree), ref], check=True, capture_output=True
        )
        try:
            for shared in (".venv", "node_modules"):
                (tree / shared).symlink_to(ROOT / shared)
            subprocess.run(
                cdk_synth(outdir), cwd=tree, env=environment(), check=True, capture_output=True
            )
            commit = subprocess.run(
                [*git, "rev-parse", "--short", ref], check=True, capture_output=True, text=True
            ).stdout.strip()
            return {"ref": commit, "paths": lab_paths(outdir), "types": resource_types(outdir)}
        finally:
            subprocess.run(
                [*git, "worktree", "remove", "--force", str(tree)], check=False, capture_output=True
            )


def resource_types(cloud_assembly: Path) -> dict[str, str]:
    types = {}
    for path in cloud_assembly.glob("*.template.json"):
        template = json.loads(path.read_text(encoding="utf-8"))
        types.update({lid: r["Type"] for lid, r in template.get("Resources", {}).items()})
    return types


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    memory_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory_kib / 1024**2:.0f} GiB, "
        f"Python {platform.python_version()}, Node.js {node}"
    )


def measured_runs(directory: Path = MEASURED_REPORTS) -> list[dict]:
    """Each committed e2e report's deploy and destroy, in minutes, with its settings."""
    runs = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        document = json.loads(path.read_text(encoding="utf-8"))
        phases = {p["name"]: p for p in document.get("phases", [])}
        minutes = {
            name: round(phases[name]["seconds"] / 60, 1)
            for name in ("deploy", "destroy")
            if phases.get(name, {}).get("passed") and phases[name].get("seconds") is not None
        }
        if minutes:
            runs.append({"file": path.name, "settings": document.get("settings", {}), **minutes})
    return runs


def measured_lines(runs: list[dict]) -> list[str]:
    """The measured section of RESULTS.md: it replaces the estimates below it."""
    if not runs:
        return [
            "No deploy has been measured yet: the times below are estimates. A `make e2e` "
            "report committed to `bench/reports/` replaces them.",
            "",
        ]
    lines = [
        "## Deploy and destroy, measured (`make e2e` reports in `bench/reports/`)",
        "",
        "| report | deploy | destroy | settings |",
        "| --- | ---: | ---: | --- |",
    ]
    for run in runs:
        settings = ", ".join(f"{k}={v}" for k, v in run["settings"].items() if k != "istio")
        deploy = f"{run['deploy']} min" if "deploy" in run else "-"
        destroy = f"{run['destroy']} min" if "destroy" in run else "-"
        lines.append(f"| {run['file']} | {deploy} | {destroy} | {settings} |")
    lines += ["", "These replace the estimates of the next section where they differ.", ""]
    return lines


def report(results: dict) -> str:
    synth, weight, paths, tests = (
        results["synth"],
        results["weight"],
        results["paths"],
        results["tests"],
    )
    ratio = synth["lab_median_s"] / synth["floor_median_s"]
    verdict = "meets" if ratio <= SYNTH_RATIO_TARGET else "MISSES"
    if tests["seconds"] is None:
        test_result, test_verdict = "not measured (--skip-tests)", "not checked"
        loaded_result = test_result
    else:
        test_result = f"{tests['seconds']:.1f} s"
        test_verdict = "meets" if tests["seconds"] < TEST_SUITE_TARGET_SECONDS else "MISSES"
        loaded_result = f"{tests['loaded_seconds']:.1f} s"
    lines = [
        "# Benchmark results",
        "",
        f"Measured {results['date']} on {results['machine']}, by `make bench`.",
        "",
        "## Synth and tests",
        "",
        "| what | result | target |",
        "| --- | --- | --- |",
        f"| `cdk synth` of the lab, median of {synth['runs']} | {synth['lab_median_s']:.1f} s "
        f"({', '.join(f'{t:.1f}' for t in synth['lab_s'])}) | |",
        f"| `cdk synth` of a one-resource app (jsii floor), median of {synth['runs']} | "
        f"{synth['floor_median_s']:.1f} s ({', '.join(f'{t:.1f}' for t in synth['floor_s'])}) | |",
        f"| lab / floor | {ratio:.2f}x | at most {SYNTH_RATIO_TARGET}x: {verdict} |",
        f"| test suite (`make test`, after install, machine otherwise idle) | {test_result} | "
        f"under {TEST_SUITE_TARGET_SECONDS:.0f} s: {test_verdict} |",
        f"| test suite beside {tests['busy_processes']} busy processes (one per core) | "
        f"{loaded_result} | none |",
        "",
        "## Template weight",
        "",
        "| template | bytes | resources |",
        "| --- | ---: | ---: |",
    ]
    for name, stats in weight["templates"].items():
        lines.append(f"| {name} | {stats['bytes']:,} | {stats['resources']} |")
    lines += [
        "",
        f"Lambda functions (all templates): {weight['lambda_functions']}; "
        f"asset bytes in cdk.out: {weight['asset_bytes']:,}.",
        "",
    ]
    lines += measured_lines(results.get("measured", []))
    lines += [
        "## Deploy critical path (estimated, bench/durations.py)",
        "",
    ]
    types = results["types"]
    for phase, title in (
        ("create", "Creation"),
        ("delete", "Deletion"),
        ("repair", "Repair (`make repair`, every Kubernetes resource updated in place)"),
    ):
        order, total, chains = phase_lines(paths, phase, types)
        lines.append(f"### {title}: about {total:.0f} minutes")
        lines.append("")
        lines.append(
            "Stacks run one after the other ("
            + " then ".join(order)
            + "); within each, the longest chain:"
        )
        lines += [*chains, ""]
        before = results.get("baseline")
        if before is not None and phase in next(iter(before["paths"].values())):
            _, total, chains = phase_lines(before["paths"], phase, {**before["types"], **types})
            lines.append(
                f"Before, at commit `{before['ref']}` (`--baseline`): about {total:.0f} minutes"
            )
            lines += [*chains, ""]
    return "\n".join(lines) + "\n"


def phase_lines(
    paths: dict[str, dict[str, CriticalPath]], phase: str, types: dict[str, str]
) -> tuple[list[str], float, list[str]]:
    """The stacks in the phase's order, its total minutes, and each stack's chain."""
    order = list(reversed(paths)) if phase == "delete" else list(paths)
    total = sum(paths[name][phase].minutes for name in order)
    lines: list[str] = []
    for name in order:
        path = paths[name][phase]
        lines += ["", f"{name}: {path.minutes:.1f} min", "", "```"]
        lines += path.describe(types)
        lines += ["```"]
    return order, total, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="synth runs per app (default 3)")
    parser.add_argument("--skip-tests", action="store_true", help="do not time the test suite")
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="also estimate the critical paths of the lab at git REF, for comparison",
    )
    args = parser.parse_args(argv)
    if not shutil.which("npx") or not (ROOT / ".venv").is_dir():
        print("error: run `make bootstrap` first (needs .venv and node_modules)", file=sys.stderr)
        return 2

    print(f"timing cdk synth, {args.runs} runs each, taking turns ...", file=sys.stderr)
    synth_times = interleaved_synth_seconds({"lab": None, "floor": FLOOR_APP}, args.runs)
    lab_times, floor_times = synth_times["lab"], synth_times["floor"]
    lab_median, floor_median = statistics.median(lab_times), statistics.median(floor_times)

    test_seconds = loaded_test_seconds = None
    if not args.skip_tests:
        make_test = ["make", "--no-print-directory", "test"]
        print("timing the test suite ...", file=sys.stderr)
        test_seconds = timed(make_test)
        busy = os.cpu_count() or 1
        print(f"timing the test suite beside {busy} busy processes ...", file=sys.stderr)
        loaded_test_seconds = timed_under_load(make_test, busy)

    with tempfile.TemporaryDirectory() as outdir:
        cloud_assembly = Path(outdir)
        subprocess.run(
            cdk_synth(cloud_assembly), cwd=ROOT, env=environment(), check=True, capture_output=True
        )
        results = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(),
            "synth": {
                "runs": args.runs,
                "lab_s": lab_times,
                "lab_median_s": lab_median,
                "floor_s": floor_times,
                "floor_median_s": floor_median,
            },
            "tests": {
                "seconds": test_seconds,
                "loaded_seconds": loaded_test_seconds,
                "busy_processes": os.cpu_count() or 1,
            },
            "weight": weight_of_assembly(cloud_assembly),
            "paths": lab_paths(cloud_assembly),
            "types": resource_types(cloud_assembly),
            "baseline": baseline(args.baseline) if args.baseline else None,
            "measured": measured_runs(),
        }
    text = report(results)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
