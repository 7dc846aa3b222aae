"""The project's own files keep their promises: pins, layers, Makefile, CI."""

from __future__ import annotations

import json
import re
import subprocess

from plan.config import SUPPORTED_KUBERNETES
from tests.conftest import PROJECT_ROOT

PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==[0-9][^\s;]*$")


def requirement_lines(name: str) -> list[str]:
    lines = (PROJECT_ROOT / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_every_requirement_is_pinned():
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in requirement_lines(name):
            assert PIN.match(line), f"{name}: {line!r} is not pinned with =="


def test_every_supported_kubernetes_version_has_its_kubectl_layer_pinned():
    packages = {line.split("==")[0].lower() for line in requirement_lines("requirements.txt")}
    for version in SUPPORTED_KUBERNETES:
        minor = version.split(".")[1]
        assert f"aws-cdk.lambda-layer-kubectl-v{minor}" in packages


def test_cdk_cli_is_pinned_exactly():
    package = json.loads((PROJECT_ROOT / "package.json").read_text(encoding="utf-8"))
    version = package["devDependencies"]["aws-cdk"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), version
    lock = json.loads((PROJECT_ROOT / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"]["node_modules/aws-cdk"]["version"] == version


def test_makefile_silences_the_node_banner_and_ci_runs_make_test():
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20" in makefile
    assert "make test" in (PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_lambda_code_needs_no_docker():
    # Code.from_asset of a plain folder: no bundling image is ever requested.
    for path in list(PROJECT_ROOT.glob("constructs/*.py")) + list(PROJECT_ROOT.glob("stacks/*.py")):
        assert "bundling" not in path.read_text(encoding="utf-8"), path


def fake_cli(tmp_path, version: str) -> str:
    script = tmp_path / "cdk"
    script.write_text(f'#!/bin/sh\necho "{version} (build 1a2b3c4)"\n', encoding="utf-8")
    script.chmod(0o755)
    return str(script)


def make_cdk_version(cli: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "-s", "--no-print-directory", "cdk-version", f"CDK={cli}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_make_refuses_a_cdk_cli_of_another_major_in_one_line(tmp_path):
    # npm's aws-cdk 3.0.0 was published by accident and cannot read this app's assembly.
    refused = make_cdk_version(fake_cli(tmp_path, "3.0.0"))
    assert refused.returncode != 0
    pin = json.loads((PROJECT_ROOT / "package.json").read_text())["devDependencies"]["aws-cdk"]
    assert refused.stderr.splitlines()[0] == (
        f"error: the CDK CLI is 3.0.0, not 2.x; run npm ci (package.json pins {pin})"
    )
    assert make_cdk_version(fake_cli(tmp_path, pin)).returncode == 0


def test_every_target_that_runs_the_cdk_cli_checks_its_major_first():
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    rules = re.findall(r"^([a-z-]+):([^\n]*)\n((?:\t[^\n]*\n?)*)", makefile, re.M)
    # DEPLOY_CLUSTER_STACK runs `$(CDK) deploy` for the lab's cluster stack.
    cli = ("$(CDK)", "$(DEPLOY_CLUSTER_STACK)")
    running = [
        (t, deps)
        for t, deps, recipe in rules
        if any(c in recipe for c in cli) and t != "cdk-version"
    ]
    assert {t for t, _ in running} >= {"synth", "deploy", "destroy", "repair", "task"}
    for target, deps in running:
        assert "cdk-version" in deps, target
