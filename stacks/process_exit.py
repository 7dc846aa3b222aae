"""How a CDK app process of this project ends once its cloud assembly is written."""

from __future__ import annotations

import atexit
import os
import sys


def leave(code: int) -> None:
    """Exit with `code`: the exit handlers run (the jsii runtime's stops its Node.js process
    and removes its temporary files), then the process ends without the interpreter tearing
    down every loaded module one by one, which for aws-cdk-lib's modules takes a noticeable
    share of a synth. Nothing is left to write: the assembly is complete."""
    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()
    os._exit(code)
