"""cfn-lint on every template of every synthesized variant, the nested stacks' included,
configured by .cfnlintrc.yaml alone: the same result as `.venv/bin/cfn-lint` after `make synth`
with each variant's settings. A template that several variants share is linted once."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from aws_cdk import NestedStack
from cfnlint.api import ConfigMixIn, Runner
from cfnlint.rules import Match

from tests.conftest import PROJECT_ROOT, VARIANTS

CONFIG_FILE = PROJECT_ROOT / ".cfnlintrc.yaml"


def lint(templates: list[Path], config_file: Path) -> list[Match]:
    # The arguments of `cfn-lint --config-file <file> <template>...`.
    config = ConfigMixIn(["--config-file", str(config_file), *map(str, templates)])
    return list(Runner(config).run())


def describe(matches: list[Match]) -> str:
    return "\n".join(f"{m.rule.id} {m.filename}:{m.linenumber} {m.message}" for m in matches)


def assembly_templates(synthesized) -> list[Path]:
    assembly_dir = Path(synthesized.assembly.directory)
    top_level = [Path(stack.template_full_path) for stack in synthesized.assembly.stacks]
    nested = [
        assembly_dir / construct.template_file
        for stack in (synthesized.lab.network, synthesized.lab.cluster)
        for construct in stack.node.find_all()
        if isinstance(construct, NestedStack)
    ]
    return sorted(top_level + nested)


@pytest.fixture(scope="module")
def templates(request) -> list[Path]:
    """Every variant's templates, one file per distinct content."""
    unique: dict[bytes, Path] = {}
    for variant in VARIANTS:
        for path in assembly_templates(request.getfixturevalue(variant)):
            unique.setdefault(path.read_bytes(), path)
    return sorted(unique.values())


@pytest.fixture(scope="module")
def matches(templates) -> list[Match]:
    return lint(templates, CONFIG_FILE)


def test_every_template_of_the_assembly_is_linted(synthesized):
    # The stacks' templates and any nested stack's (aws_eks_v2 makes none today; a nested
    # stack added later is found below the stacks and must be linted too).
    found = assembly_templates(synthesized)
    assert found == sorted(Path(synthesized.assembly.directory).glob("*.template.json"))
    assert len(found) >= 2


def test_every_variants_cluster_template_is_linted(templates):
    # One network template per lab name (the modes do not change it; the name is in its
    # description and exports) and one cluster template per variant.
    names = {variant.get("clusterName") for variant in VARIANTS.values()}
    assert len(templates) == len(names) + len(VARIANTS)


def test_templates_have_no_cfn_lint_errors_or_warnings(matches):
    assert not matches, "cfn-lint (ignores in .cfnlintrc.yaml):\n" + describe(matches)


def test_every_ignored_check_still_matches(synthesized, tmp_path):
    # An ignore that no longer matches anything would hide the check's return; matching in
    # the default lab's templates is enough to keep it.
    config = yaml.safe_load(CONFIG_FILE.read_text(encoding="utf-8"))
    ignored = set(config.pop("ignore_checks"))
    without_ignores = tmp_path / "cfnlintrc.yaml"
    without_ignores.write_text(yaml.safe_dump(config), encoding="utf-8")
    matched = {m.rule.id for m in lint(assembly_templates(synthesized), without_ignores)}
    stale = sorted(ignored - matched)
    assert not stale, f".cfnlintrc.yaml ignores checks that match nothing (remove): {stale}"
