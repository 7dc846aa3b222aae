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
    # The handlers first: jsii's waits for the thread that copies Node.js's output to stderr.
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
