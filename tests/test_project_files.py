"""The project's own files keep their promises: pins, layers, Makefile, CI."""

from __future__ import annotations

import json
import re

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
