"""Shared fixtures: each variant of the lab is synthesized at most once per test session (per
xdist worker), with the cdk-nag checks on (as `cdk synth -c nag=true`)."""

from __future__ import annotations

import json
import logging
import socket
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_cdk import cx_api
from aws_cdk.assertions import Template
from moto.server import ThreadedMotoServer

from plan.config import LabConfig
from plan.lab_plan import LabPlan, plan_from_context
from stacks.lab import Lab, build_lab, new_app

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The session's synth runs the cdk-nag checks too. Like the CDK CLI, it has findings written to
# the cloud assembly's validation-report.json instead of failing the synth (and with it every
# test), and tests/test_cdk_nag.py names them.
NAG_CONTEXT = {"nag": True, "@aws-cdk/core:failSynthOnValidationErrors": False}


def cdk_json_context() -> dict[str, Any]:
    return json.loads((PROJECT_ROOT / "cdk.json").read_text(encoding="utf-8"))["context"]


# The variants that are synthesized: every pair of ingress API and data plane once, and
# between them every tracing backend, a fault scenario, a namespace the lab creates, the
# experimental Gateway API channel, an Istio setting, a second lab's name and allowed
# addresses.
# Whatever needs no synth is checked on the plans of every accepted combination instead
# (tests/istio_objects.py).
VARIANTS: dict[str, dict[str, Any]] = {
    "synthesized": {},
    "synthesized_gateway_api": {
        # As `make deploy` gives them: the learner's address (here two of them).
        "allowedCidrs": ["81.2.69.160/32", "81.2.70.0/24"],
        "adminPrincipals": [
            "arn:aws:iam::111122223333:role/Admin",
            "arn:aws:iam::111122223333:user/ops/ana",
        ],
        "ingressApi": "gateway-api",
        "tracing": "none",
        "scenario": "reviews-timeout",
        "gatewayApiChannel": "experimental",
        "istio": {"meshConfig": {"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}}},
    },
    "synthesized_ambient": {
        "dataplane": "ambient",
        "adminPrincipals": ["account"],
        "controlPlaneLogs": [],
    },
    "synthesized_ambient_gateway_api": {
        # A second lab beside the default one (tests/test_two_labs.py).
        "clusterName": "second-lab",
        "dataplane": "ambient",
        "ingressApi": "gateway-api",
        "tracing": "zipkin",
        "bookinfoNamespace": "bookinfo",
        "scenario": "reviews-50-v3",
    },
}


@dataclass(frozen=True)
class SynthesizedLab:
    plan: LabPlan
    lab: Lab
    network: Template
    cluster: Template
    # The cloud assembly the templates come from: every template, nested stacks' included,
    # and the validation report.
    assembly: cx_api.CloudAssembly

    @property
    def config(self) -> LabConfig:
        return self.plan.config


def synthesize(context: dict[str, Any], outdir: Path) -> SynthesizedLab:
    app = new_app(context=context, outdir=str(outdir))
    plan = plan_from_context(context)
    lab = build_lab(app, plan)
    assembly = app.synth()
    return SynthesizedLab(
        plan=plan,
        lab=lab,
        # Both read the assembly synthesized above; the app is not synthesized again.
        network=Template.from_stack(lab.network),
        cluster=Template.from_stack(lab.cluster),
        assembly=assembly,
    )


def _synthesize_variant(name: str, factory: pytest.TempPathFactory) -> SynthesizedLab:
    context = {**cdk_json_context(), **VARIANTS[name], **NAG_CONTEXT}
    return synthesize(context, factory.mktemp(f"cdk.out.{name}"))


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedLab:
    """The lab as cdk.json configures it."""
    return _synthesize_variant("synthesized", tmp_path_factory)


@pytest.fixture(scope="session")
def synthesized_gateway_api(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedLab:
    """The lab with `-c ingressApi=gateway-api`, no tracing and a fault scenario."""
    return _synthesize_variant("synthesized_gateway_api", tmp_path_factory)


@pytest.fixture(scope="session")
def synthesized_ambient(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedLab:
    """The lab with `-c dataplane=ambient`."""
    return _synthesize_variant("synthesized_ambient", tmp_path_factory)


@pytest.fixture(scope="session")
def synthesized_ambient_gateway_api(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedLab:
    """Ambient with the Gateway API ingress, Zipkin, and a namespace of its own."""
    return _synthesize_variant("synthesized_ambient_gateway_api", tmp_path_factory)


@pytest.fixture(params=list(VARIANTS))
def any_synthesized(request: pytest.FixtureRequest) -> SynthesizedLab:
    """Each synthesized variant in turn."""
    return request.getfixturevalue(request.param)


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


@pytest.fixture
def moto_environment(moto_endpoint, monkeypatch) -> boto3.session.Session:
    """boto3 pointed at the session's moto server, in us-east-1, with no profile, token or
    region of the machine's in the way; the server's state as earlier tests left it."""
    for name, value in {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    return boto3.session.Session()


@pytest.fixture
def moto_session(moto_endpoint, moto_environment) -> boto3.session.Session:
    """The same, with the moto server reset first (every backend: about half a second)."""
    reset = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset, timeout=10).close()
    return boto3.session.Session()
