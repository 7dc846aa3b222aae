#!/usr/bin/env python3
"""CDK entry point: reads the context once, plans the lab, builds its stacks."""

import sys

from checks.istio_analyzer import AnalysisError
from plan.config import ConfigError
from plan.lab_plan import plan_from_context
from stacks.lab import build_lab, new_app
from stacks.process_exit import leave


def report(problems: list[str]) -> int:
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1


def main() -> int:
    app = new_app()
    try:
        plan = plan_from_context(app.node.get_all_context())
    except (ConfigError, AnalysisError) as error:
        return report(error.problems)
    build_lab(app, plan)
    app.synth()
    return 0


if __name__ == "__main__":
    leave(main())
