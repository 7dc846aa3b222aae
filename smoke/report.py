"""The run's result, as text for a person or as JSON for a script."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from plan.scenarios import Promise
from smoke.traces import TraceCheck
from smoke.verdict import Verdict, distribution, percent

# How the scenario was chosen, for the report and the hint on failure.
FROM_OPTION = "--scenario"


@dataclass(frozen=True)
class Report:
    url: str
    scenario: str
    scenario_source: str
    task: str
    user: str
    promise: Promise
    verdict: Verdict
    traces: TraceCheck | None = None

    @property
    def passed(self) -> bool:
        return self.verdict.passed and (self.traces is None or self.traces.passed)

    def headline(self) -> str:
        verdict = self.verdict
        observed = distribution({c.outcome: c.observed for c in verdict.checks})
        if verdict.passed and not self.passed:
            return (
                f"FAIL: the {self.traces.backend} traces through productpage miss "
                f"{', '.join(self.traces.missing)}"
            )
        if verdict.passed:
            return f"PASS: {self.scenario} as {self.user}: {observed}"
        expected = distribution(self.promise.shares)
        return (
            f"FAIL: scenario {self.scenario} promises {self.user} {expected}; "
            f"observed {observed} ({verdict.requests} requests)"
        )

    def text(self) -> str:
        verdict = self.verdict
        lines = [
            f"Bookinfo smoke check of {self.url}",
            f"scenario {self.scenario} (from {self.scenario_source}): {self.task}",
            f"{verdict.requests} requests as {self.user}",
            "",
            f"{'outcome':<22}{'count':>6}{'observed':>10}  expected",
        ]
        for check in verdict.checks:
            expected = percent(check.expected)
            if check.tolerance:
                expected += f" ± {percent(check.tolerance)}"
            lines.append(
                f"{check.outcome:<22}{check.count:>6}{percent(check.observed):>10}  {expected}"
            )
        error_count = sum(verdict.errors.values())
        if error_count:
            reasons = ", ".join(f"{reason}: {count}" for reason, count in verdict.errors.items())
            lines.append(f"errors: {error_count} ({reasons})")
        else:
            lines.append("errors: none")
        latency = verdict.latency
        lines.append(
            f"latency: p50 {latency.p50_ms:.0f} ms, p90 {latency.p90_ms:.0f} ms, "
            f"p99 {latency.p99_ms:.0f} ms, max {latency.max_ms:.0f} ms"
        )
        lines.extend(f"note: {note}" for note in verdict.notes)
        if self.traces is not None:
            traces = self.traces
            lines.append(
                f"traces ({traces.backend}): seen {', '.join(traces.seen) or 'none'}; "
                f"expected {', '.join(traces.expected)}"
            )
        lines += ["", self.headline()]
        if self.traces is not None and not self.traces.passed:
            lines.append(
                f"  after {self.traces.waited_s:.0f} s no trace had passed through "
                f"{', '.join(self.traces.missing)}; with tracingSampling below 100 send more "
                "requests (-n); a Telemetry resource in istio-system (one a Task applied) "
                "overrides the lab's tracing defaults: `kubectl get telemetry -A`"
            )
        if not verdict.passed:
            lines.extend(f"  {problem}" for problem in verdict.problems)
            lines.append(f"  the scenario: {self.promise.why}")
            if self.scenario_source != FROM_OPTION:
                lines.append(
                    f"  {self.scenario} is the deployed scenario ({self.scenario_source}); if "
                    "you applied other routes by hand, pass --scenario NAME to check those"
                )
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        verdict = self.verdict
        latency = verdict.latency
        return {
            "url": self.url,
            "scenario": self.scenario,
            "scenario_source": self.scenario_source,
            "task": self.task,
            "user": self.user,
            "requests": verdict.requests,
            "passed": self.passed,
            "outcomes": {
                check.outcome: {
                    "count": check.count,
                    "observed": round(check.observed, 4),
                    "expected": round(check.expected, 4),
                    "tolerance": round(check.tolerance, 4),
                }
                for check in verdict.checks
            },
            "errors": dict(verdict.errors),
            "latency_ms": {
                "p50": round(latency.p50_ms, 1),
                "p90": round(latency.p90_ms, 1),
                "p99": round(latency.p99_ms, 1),
                "max": round(latency.max_ms, 1),
            },
            "problems": list(verdict.problems),
            "notes": list(verdict.notes),
            "traces": None
            if self.traces is None
            else {
                "backend": self.traces.backend,
                "expected": list(self.traces.expected),
                "seen": list(self.traces.seen),
                "missing": list(self.traces.missing),
                "passed": self.traces.passed,
            },
        }

    def json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)
