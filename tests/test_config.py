"""Context validation: good values parse, each bad value yields one clear line."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

import pytest

from plan.capacity import INSTANCE_TYPES
from plan.config import DEFAULTS, SUPPORTED_KUBERNETES, ConfigError, LabConfig
from tests.conftest import PROJECT_ROOT, cdk_json_context
from tests.istio_objects import lab_plan


def problems_for(**overrides) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        LabConfig.from_context({**DEFAULTS, **overrides})
    return raised.value.problems


def test_cdk_json_carries_exactly_the_documented_defaults():
    context = cdk_json_context()
    assert {key: context[key] for key in DEFAULTS} == dict(DEFAULTS)


def test_defaults_parse():
    config = LabConfig.from_context({})
    assert config.cluster_name == "bookinfo-lab"
    assert config.kubernetes_version == "1.35"
    assert config.istio_version == "1.31.4"
    assert (config.node_instance_type, config.node_count, config.node_capacity_type) == (
        "m5.large",
        2,
        "ON_DEMAND",
    )
    assert config.nat_gateways == 1


def test_numbers_given_on_the_command_line_arrive_as_strings_and_parse():
    config = LabConfig.from_context(
        {"nodeCount": "3", "natGateways": "2", "tracingSampling": "12.5"}
    )
    assert (config.node_count, config.nat_gateways, config.tracing_sampling) == (3, 2, 12.5)


@pytest.mark.parametrize(("name", "backend"), [("jaeger", "jaeger"), ("zipkin", "zipkin")])
def test_the_tracing_key_picks_the_backend(name, backend):
    assert lab_plan(tracing=name).tracing.name == backend


def test_tracing_none_deploys_no_backend():
    plan = lab_plan(tracing="none")
    assert plan.tracing is None
    assert plan.observability.tracing_objects == ()
    assert "tracing" not in plan.mesh.istiod.values["meshConfig"]["defaultProviders"]


@pytest.mark.parametrize("version", sorted(SUPPORTED_KUBERNETES))
def test_every_supported_kubernetes_version_parses(version):
    assert LabConfig.from_context({"kubernetesVersion": version}).kubernetes_version == version


@pytest.mark.parametrize("version", sorted(SUPPORTED_KUBERNETES))
def test_every_supported_version_names_the_layer_built_for_it(version):
    release = SUPPORTED_KUBERNETES[version]
    digits = version.split(".")[1]
    assert release.layer_module == f"aws_cdk.lambda_layer_kubectl_v{digits}"
    assert release.layer_class == f"KubectlV{digits}Layer"
    assert hasattr(importlib.import_module(release.layer_module), release.layer_class)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("kubernetesVersion", "1.29", "supported versions are 1.35, 1.36"),
        ("istioVersion", "latest", "expected a release number x.y.z"),
        ("istioVersion", "1.24.0", "supported Istio minors are 1.31"),
        ("nodeCount", 0, "expected a whole number from 1 to 10"),
        ("nodeCount", "eleven", "expected a whole number from 1 to 10"),
        ("natGateways", 3, "expected a whole number from 1 to 2"),
        ("clusterName", "-bad", "expected 1-100 letters, digits or '-', starting with a letter"),
        ("clusterName", "x" * 101, "expected 1-100 letters, digits or '-'"),
        # EKS takes both; a CloudFormation stack name neither.
        ("clusterName", "my_lab", "it names the EKS cluster and the lab's stacks"),
        ("clusterName", "2nd-lab", "starting with a letter"),
        ("clusterName", "BookinfoLab", "are the stacks of the default lab (bookinfo-lab)"),
        ("clusterName", "bookinfolab", "are the stacks of the default lab (bookinfo-lab)"),
        ("bookinfoNamespace", "Bookinfo", "expected a Kubernetes namespace name"),
        ("bookinfoNamespace", "istio-system", "expected a Kubernetes namespace name"),
        ("nodeInstanceType", "large", "expected an EC2 instance type"),
        ("nodeCapacityType", "spot", "expected one of ON_DEMAND, SPOT"),
        ("vpcCidr", "10.0.0.0/33", "expected an IPv4 CIDR /16 to /24"),
        ("vpcCidr", "10.0.0.1/16", "expected an IPv4 CIDR /16 to /24"),
        ("scenario", "chaos", "valid scenarios are round-robin, all-v1, reviews-jason-v2, "),
        ("nodeInstanceType", "m7g.large", "the capacity check knows t3.medium, t3.large, "),
        ("clusterName", 5, "expected 1-100 letters, digits or '-'"),
        ("nodeCount", True, "expected a whole number from 1 to 10"),
        ("nodeCount", 2.5, "expected a whole number from 1 to 10"),
        ("kubernetesVersion", 1.35, "supported versions are 1.35, 1.36"),
        ("nag", "maybe", "expected true or false"),
        ("controlPlaneLogs", ["audit", "kubelet"], "expected some of api, audit, authenticator"),
        ("controlPlaneLogs", ["audit", "audit"], "each once (or [] for none)"),
        ("controlPlaneLogs", "all", "expected some of api, audit, authenticator"),
        ("tracing", "skywalking", "valid tracing backends are jaeger, zipkin, none"),
        ("ingressApi", "gateway", "valid ingress APIs are istio, gateway-api"),
        ("dataplane", "sidecarless", "valid data planes are sidecar, ambient"),
        ("tracingSampling", 101, "expected a sampling percentage from 0 to 100"),
        ("tracingSampling", -1, "expected a sampling percentage from 0 to 100"),
        ("tracingSampling", "lots", "expected a sampling percentage from 0 to 100"),
        ("tracingSampling", True, "expected a sampling percentage from 0 to 100"),
        ("tracingSampling", "nan", "expected a sampling percentage from 0 to 100"),
    ],
)
def test_a_bad_value_yields_one_line_naming_key_value_and_expectation(key, value, expected):
    problems = problems_for(**{key: value})
    assert len(problems) == 1
    assert problems[0].startswith(f"context {key}={value!r}: ")
    assert expected in problems[0]


@pytest.mark.parametrize("instance_type", sorted(INSTANCE_TYPES))
def test_the_known_instance_types_are_accepted(instance_type):
    assert LabConfig.from_context({"nodeInstanceType": instance_type}).node_instance_type


@pytest.mark.parametrize("instance_type", ["c7gn.2xlarge", "t3.micro", "m7i-flex.large"])
def test_real_but_unknown_instance_types_name_the_known_ones(instance_type):
    (problem,) = problems_for(nodeInstanceType=instance_type)
    assert ", ".join(INSTANCE_TYPES) in problem


def run_app(context: dict, outdir) -> subprocess.CompletedProcess:
    """app.py as the CDK CLI runs it, with `context`."""
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps(context),
        "CDK_OUTDIR": str(outdir),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    return subprocess.run(
        [sys.executable, "app.py"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_app_exits_with_one_line_per_bad_value_and_no_traceback(tmp_path):
    """GIVEN three bad context values WHEN app.py runs THEN it prints three lines, exits 1."""
    result = run_app(
        {"kubernetesVersion": "1.29", "istioVersion": "latest", "nodeCount": 0}, tmp_path
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "error: context kubernetesVersion='1.29': supported versions are 1.35, 1.36",
        "error: context istioVersion='latest': expected a release number x.y.z, e.g. 1.31.4",
        "error: context nodeCount=0: expected a whole number from 1 to 10",
    ]
    assert not list(tmp_path.iterdir()), "nothing is synthesized from a bad configuration"


def test_app_refuses_a_lab_that_cannot_work_in_one_line(tmp_path):
    """GIVEN valid values that cannot work together WHEN app.py runs THEN one line, exit 1."""
    result = run_app({"nodeInstanceType": "t3.medium", "nodeCount": 1}, tmp_path)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: context nodeInstanceType='t3.medium', nodeCount=1: ")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("nodecount", "context nodecount: unknown key; did you mean nodeCount?"),
        ("istioversion", "context istioversion: unknown key; did you mean istioVersion?"),
        ("flavour", "context flavour: unknown key; known keys are clusterName, "),
    ],
)
def test_an_unknown_key_is_reported_with_the_closest_known_one(key, expected):
    (problem,) = problems_for(**{key: "x"})
    assert problem.startswith(expected)


def test_cdk_keys_in_the_context_are_not_the_labs_business():
    context = {
        **cdk_json_context(),
        "aws:cdk:enable-path-metadata": True,
        "availability-zones:account=123456789012:region=us-east-1": ["us-east-1a"],
    }
    assert LabConfig.from_context(context).cluster_name == "bookinfo-lab"


@pytest.mark.parametrize(("given", "expected"), [("true", True), ("false", False), (True, True)])
def test_nag_accepts_booleans_from_the_command_line_and_cdk_json(given, expected):
    assert LabConfig.from_context({"nag": given}).nag is expected
