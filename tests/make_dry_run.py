"""What the Makefile would run, without running it (`make -n`): for the tests of its recipes."""

from __future__ import annotations

import subprocess

from tests.conftest import PROJECT_ROOT


def dry_run(*args: str) -> list[str]:
    """The commands `make -n` would run, one per line."""
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", *args],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.splitlines()
