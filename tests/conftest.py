"""Shared fixtures: the lab is synthesized once per test session, with cdk.json's context
and the cdk-nag checks on (as `cdk synth -c nag=true`)."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import cx_api
from aws_cdk.assertions import Template
from moto.server import ThreadedMotoServer

from stacks.config import LabConfig
from stacks.lab import Lab, build_lab, new_app

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The session's synth runs the cdk-nag checks too. Like the CDK CLI, it has findings written to
# the cloud assembly's validation-report.json instead of failing the synth (and with it every
# test), and tests/test_cdk_nag.py names them.
NAG_CONTEXT = {"nag": True, "@aws-cdk/core:failSynthOnValidationErrors": False}


def cdk_json_context() -> dict[str, Any]:
    return json.loads((PROJECT_ROOT / "cdk.json").read_text(encoding="utf-8"))["context"]


@dataclass(frozen=True)
class SynthesizedLab:
    config: LabConfig
    lab: Lab
    network: Template
    cluster: Template
    # The cloud assembly the templates come from: every template, nested stacks' included,
    # and the validation report.
    assembly: cx_api.CloudAssembly


def synthesize(context: dict[str, Any], outdir: Path) -> SynthesizedLab:
    app = new_app(context=context, outdir=str(outdir))
    config = LabConfig.from_context(context)
    lab = build_lab(app, config)
    assembly = app.synth()
    return SynthesizedLab(
        config=config,
        lab=lab,
        # Both read the assembly synthesized above; the app is not synthesized again.
        network=Template.from_stack(lab.network),
        cluster=Template.from_stack(lab.cluster),
        assembly=assembly,
    )


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedLab:
    """The lab as cdk.json configures it, with the cdk-nag checks."""
    return synthesize({**cdk_json_context(), **NAG_CONTEXT}, tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def synthesized_gateway_api(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedLab:
    """The lab with `-c ingressApi=gateway-api` (synthesized once, for the tests of that
    mode; cdk-nag runs on the default synth)."""
    context = {**cdk_json_context(), "ingressApi": "gateway-api"}
    return synthesize(context, tmp_path_factory.mktemp("cdk.out.gateway-api"))


@pytest.fixture(scope="session")
def synthesized_ambient(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedLab:
    """The lab with `-c dataplane=ambient` (synthesized once, for the tests of that mode)."""
    context = {**cdk_json_context(), "dataplane": "ambient"}
    return synthesize(context, tmp_path_factory.mktemp("cdk.out.ambient"))


@pytest.fixture(scope="session")
def cluster_template(synthesized: SynthesizedLab) -> Template:
    return synthesized.cluster


@pytest.fixture(scope="session")
def network_template(synthesized: SynthesizedLab) -> Template:
    return synthesized.network


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One moto server for the whole test session."""
    port = _free_port()
    # The server logs every request; that would drown the handler's lines in caplog.
    werkzeug_logger = logging.getLogger("werkzeug")
    werkzeug_level = werkzeug_logger.level
    werkzeug_logger.setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        werkzeug_logger.setLevel(werkzeug_level)
