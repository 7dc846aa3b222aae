"""`make doctor`: what in the live cluster differs from what the lab deployed.

Reads the cluster stack's outputs (AWS CLI): LabSettings, with which the plan is built again,
and ClusterArn, the kubeconfig context kubectl uses. Prints one line per difference with the
command that fixes it, then a summary.

Exit status: 0 healthy, 1 something differs, 2 no cluster could be reached (one line why).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from checks.istio_analyzer import AnalysisError
from doctor.checks import Finding, State, diagnose
from doctor.cluster import KubectlCluster, Unreachable, read_state
from doctor.expected import Expectations
from plan import facts
from plan.config import ConfigError
from plan.lab_plan import LabPlan, plan_from_context
from scripts.cdk_json import CDK_JSON, add_cluster_option, lab_stacks, read
from smoke.deployed import DeployedLab, SetupError, read_stack

EXIT_HEALTHY, EXIT_DIFFERS, EXIT_UNREACHABLE = 0, 1, 2


def deployed_plan(deployed: DeployedLab, cdk_json: Path = CDK_JSON) -> LabPlan:
    """The plan of the deployed lab: its LabSettings over cdk.json's other keys."""
    context: dict[str, Any] = {}
    if cdk_json.is_file():
        try:
            context = read(cdk_json).get("context", {})
        except (ValueError, AttributeError):
            raise SetupError(f"{cdk_json} is not a JSON object with a context") from None
    text = deployed.output(facts.SETTINGS_OUTPUT, "a deployed lab")
    try:
        settings = json.loads(text)
    except ValueError:
        raise SetupError(f"output {facts.SETTINGS_OUTPUT} is not JSON") from None
    try:
        return plan_from_context({**context, **settings})
    except (ConfigError, AnalysisError) as error:
        raise SetupError(f"the deployed settings do not make a lab: {error.problems[0]}") from None


def examine(plan: LabPlan, state: State) -> list[Finding]:
    return diagnose(Expectations.of(plan), state)


def findings_for(
    deployed: DeployedLab, *, kubectl: str = "kubectl", cdk_json: Path = CDK_JSON
) -> list[Finding]:
    """The doctor's findings for the deployed lab's cluster (ClusterArn names the kubeconfig
    context). Raises SetupError or Unreachable when it cannot look."""
    plan = deployed_plan(deployed, cdk_json)
    arn = deployed.output(facts.CLUSTER_ARN_OUTPUT, "a deployed lab")
    return examine(plan, read_state(KubectlCluster(arn, kubectl=kubectl)))


def report(findings: list[Finding], out: TextIO) -> int:
    for finding in findings:
        out.write(f"✗ {finding.line()}\n")
    if not findings:
        out.write("doctor: the lab is as deployed\n")
        return EXIT_HEALTHY
    fixes = sorted({f.fix for f in findings if f.fix.startswith("make ")})
    tail = f"; then run {' and '.join(fixes)}" if fixes else ""
    out.write(f"doctor: {len(findings)} differences from the deployed lab{tail}\n")
    return EXIT_DIFFERS


def run(
    stack: str, *, out: TextIO, kubectl: str = "kubectl", cdk_json: Path = CDK_JSON
) -> tuple[int, list[Finding]]:
    """The doctor's verdict and findings; exit 2 (and no findings) when it cannot look."""
    try:
        findings = findings_for(
            read_stack(stack, ["a deployed lab"]), kubectl=kubectl, cdk_json=cdk_json
        )
    except (SetupError, Unreachable) as problem:
        out.write(f"doctor: cannot look at the lab: {problem}\n")
        return EXIT_UNREACHABLE, []
    return report(findings, out), findings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m doctor", description=__doc__.split("\n\n")[0])
    add_cluster_option(parser)
    parser.add_argument("--stack", help="the lab's cluster stack (default: --cluster's)")
    args = parser.parse_args(argv)
    code, _ = run(args.stack or lab_stacks(args.cluster).cluster, out=sys.stdout)
    return code
