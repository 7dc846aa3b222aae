"""cdk-nag: every synthesized variant runs the AwsSolutions checks exactly as `npx cdk synth -c
nag=true` does (build_lab enables them from the same `nag` context key). Every finding must be
acknowledged, with its reason, in stacks/nag.py, or fixed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Validations
from aws_cdk import aws_ec2 as ec2

from stacks.nag import NAG_PACK, acknowledge, enable_nag_checks


@pytest.fixture
def nag_report(any_synthesized) -> dict[str, Any]:
    """The cdk-nag report of each synthesized variant in turn."""
    path = Path(any_synthesized.assembly.directory) / "validation-report.json"
    report = json.loads(path.read_text(encoding="utf-8"))
    packs = [r for r in report["pluginReports"] if r["pluginName"] == NAG_PACK]
    assert len(packs) == 1, f"the {NAG_PACK} checks did not run: {path}"
    return packs[0]


def describe(violation: dict[str, Any]) -> list[str]:
    return [
        f"{construct['constructPath']}: {violation['ruleName']}: {violation['description']}"
        for construct in violation["violatingConstructs"]
    ]


def test_every_finding_is_fixed_or_acknowledged(nag_report):
    unacknowledged = [line for v in nag_report["violations"] for line in describe(v)]
    assert not unacknowledged, (
        "cdk-nag findings without an acknowledgement in stacks/nag.py (fix them, or "
        "acknowledge each on its construct with a reason):\n" + "\n".join(unacknowledged)
    )
    assert nag_report["conclusion"] == "success"


def recorded_acknowledgements(assembly_dir: Path) -> set[tuple[str, str]]:
    """(construct path, rule id) of every acknowledgement of the rule pack in the stacks'
    metadata, as the CLI reads it."""
    manifest = json.loads((assembly_dir / "manifest.json").read_text(encoding="utf-8"))
    recorded = set()
    for artifact in manifest["artifacts"].values():
        metadata = dict(artifact.get("metadata", {}))
        if "additionalMetadataFile" in artifact:
            extra = assembly_dir / artifact["additionalMetadataFile"]
            metadata.update(json.loads(extra.read_text(encoding="utf-8")))
        recorded |= {
            (path.lstrip("/"), rule_id)
            for path, entries in metadata.items()
            for entry in entries
            if entry["type"] == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
            for rule_id in entry["data"]
            if rule_id.startswith(f"{NAG_PACK}::")
        }
    return recorded


def test_every_acknowledgement_still_matches_a_finding(any_synthesized, nag_report):
    # A finding that was fixed must not stay acknowledged: it would hide its return.
    recorded = recorded_acknowledgements(Path(any_synthesized.assembly.directory))
    used = {(s["acknowledgedAt"], s["acknowledgedId"]) for s in nag_report["suppressedViolations"]}
    assert recorded, "stacks/nag.py acknowledged nothing"
    stale = [f"{path}: {rule_id}" for path, rule_id in sorted(recorded - used)]
    assert not stale, "acknowledged in stacks/nag.py, but no such finding (remove):\n" + "\n".join(
        stale
    )


def test_acknowledgements_sit_on_constructs_and_give_reasons(any_synthesized, nag_report):
    root = any_synthesized.lab.network.node.root
    for where in {s["acknowledgedAt"] for s in nag_report["suppressedViolations"]}:
        construct = root
        for construct_id in where.split("/"):
            construct = construct.node.find_child(construct_id)
        assert not isinstance(construct, cdk.Stack), f"acknowledged on a whole stack: {where}"
    for suppressed in nag_report["suppressedViolations"]:
        assert len(suppressed["reason"]) > 40, suppressed["acknowledgedId"]


def probe_app(tmp_path) -> tuple[cdk.App, ec2.CfnVPC]:
    """A one-resource app with one known finding: a VPC without flow logs (VPC7)."""
    app = cdk.App(outdir=str(tmp_path))
    enable_nag_checks(app)
    vpc = ec2.CfnVPC(cdk.Stack(app, "Probe"), "Vpc", cidr_block="10.0.0.0/16")
    return app, vpc


def test_an_unacknowledged_finding_fails_the_synth_and_is_named(tmp_path):
    app, _ = probe_app(tmp_path)
    with pytest.raises(RuntimeError) as failure:
        app.synth()
    assert "AwsSolutions-VPC7" in str(failure.value)
    assert "Probe/Vpc" in str(failure.value)


def test_an_acknowledged_finding_passes(tmp_path):
    app, vpc = probe_app(tmp_path)
    acknowledge(vpc, "AwsSolutions-VPC7", "a probe")
    app.synth()
