#!/usr/bin/env python3
"""CDK entry point: reads the context once, validates it, builds the lab's stacks."""

import sys

import aws_cdk as cdk

from stacks.config import ConfigError, LabConfig
from stacks.lab import build_lab


def main() -> int:
    app = cdk.App()
    try:
        config = LabConfig.from_context(app.node.get_all_context())
    except ConfigError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    build_lab(app, config)
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
