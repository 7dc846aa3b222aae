"""The plan is pure Python: the analyzer, smoke and the tests read it without the CDK."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import PROJECT_ROOT

LOADED_CDK_MODULES = (
    "import sys, plan.lab_plan, smoke.cli; "
    "print(sorted(m for m in sys.modules if m.split('.')[0] in ('aws_cdk', 'jsii', 'constructs')))"
)


def test_the_plan_and_smoke_load_nothing_of_the_cdk():
    done = subprocess.run(
        [sys.executable, "-c", LOADED_CDK_MODULES],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[]", done.stdout


def test_the_check_sees_the_cdk_when_it_is_loaded():
    # The test above can fail: importing a stack module loads aws_cdk.
    code = LOADED_CDK_MODULES.replace("smoke.cli", "stacks.lab")
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert "aws_cdk" in done.stdout
