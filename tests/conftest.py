"""Shared fixtures: the lab is synthesized once per test session, with cdk.json's context."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from stacks.config import LabConfig
from stacks.lab import Lab, build_lab

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def cdk_json_context() -> dict[str, Any]:
    return json.loads((PROJECT_ROOT / "cdk.json").read_text(encoding="utf-8"))["context"]


@dataclass(frozen=True)
class SynthesizedLab:
    config: LabConfig
    lab: Lab
    network: Template
    cluster: Template


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedLab:
    context = cdk_json_context()
    app = cdk.App(context=context, outdir=str(tmp_path_factory.mktemp("cdk.out")))
    config = LabConfig.from_context(context)
    lab = build_lab(app, config)
    return SynthesizedLab(
        config=config,
        lab=lab,
        network=Template.from_stack(lab.network),
        cluster=Template.from_stack(lab.cluster),
    )


@pytest.fixture(scope="session")
def cluster_template(synthesized: SynthesizedLab) -> Template:
    return synthesized.cluster


@pytest.fixture(scope="session")
def network_template(synthesized: SynthesizedLab) -> Template:
    return synthesized.network
