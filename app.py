#!/usr/bin/env python3
"""CDK entry point: reads the context once, validates it, builds the lab's stacks."""

import sys

import aws_cdk as cdk

from stacks.config import DEFAULTS, ConfigError, LabConfig
from stacks.lab import build_lab


def main() -> int:
    app = cdk.App()
    context = {key: app.node.try_get_context(key) for key in DEFAULTS}
    try:
        config = LabConfig.from_context(
            {key: value for key, value in context.items() if value is not None}
        )
    except ConfigError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    build_lab(app, config)
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
