#!/usr/bin/env python3
"""CDK entry point: reads the context once, validates it, builds the lab's stacks."""

import sys

from checks.istio_analyzer import AnalysisError
from stacks.config import ConfigError, LabConfig
from stacks.lab import build_lab, new_app


def report(problems: list[str]) -> int:
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1


def main() -> int:
    app = new_app()
    try:
        config = LabConfig.from_context(app.node.get_all_context())
        build_lab(app, config)
    except (ConfigError, AnalysisError) as error:
        return report(error.problems)
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
