"""Finding the page and the scenario (from the options, else from the deployed lab's stack
outputs); every way the check cannot run ends in one line, exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from plan import facts
from smoke.cli import SCENARIO_NAMES
from tests.conftest import PROJECT_ROOT
from tests.doctor import fake_kubectl, lab_state
from tests.istio_objects import lab_plan
from tests.smoke.conftest import fake_aws, stack_outputs
from tests.smoke.fake_productpage import (
    BLACK_STARS,
    NO_STARS,
    PROXY_VARIABLES,
    RED_STARS,
    always,
    rotate,
)


def one_line(text: str) -> str:
    assert text.endswith("\n") and text.count("\n") == 1, text
    return text


def test_without_options_the_deployed_labs_outputs_say_url_and_scenario(
    productpage, smoke, deployed_lab
):
    server = productpage(always(NO_STARS))
    aws = deployed_lab(server.url + "\n", scenario="all-v1", tracing="jaeger")
    run = smoke("--stack", "MyLab-Cluster", "-n", "2")
    assert run.code == 0, run.err
    assert (aws / "args").read_text().splitlines() == [
        "cloudformation",
        "describe-stacks",
        "--stack-name",
        "MyLab-Cluster",
        "--query",
        "Stacks[0].Outputs",
        "--output",
        "json",
    ]
    assert f"scenario all-v1 (from {facts.SETTINGS_OUTPUT} of MyLab-Cluster)" in run.out
    assert len(server.users_seen) == 2


def test_the_deployed_scenario_is_judged_not_cdk_json(productpage, smoke, deployed_lab):
    # cdk.json says round-robin; the lab was deployed with -c scenario=reviews-v3.
    assert json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]["scenario"] != (
        "reviews-v3"
    )
    server = productpage(always(RED_STARS))
    deployed_lab(server.url, scenario="reviews-v3")
    result = json.loads(smoke("-n", "3", "--json").out)
    assert (result["scenario"], result["passed"]) == ("reviews-v3", True)


def test_the_default_stack_is_the_labs_cluster_stack(productpage, smoke, deployed_lab):
    server = productpage(always(NO_STARS))
    aws = deployed_lab(server.url, scenario="all-v1")
    assert smoke("-n", "1").code == 0
    assert facts.DEFAULT_STACKS.cluster in (aws / "args").read_text().splitlines()


def test_with_url_and_scenario_given_the_stack_is_not_read(
    productpage, smoke, monkeypatch, tmp_path
):
    monkeypatch.setenv("PATH", str(fake_aws(tmp_path / "bin", status=1)))
    server = productpage(always(NO_STARS))
    assert smoke("--url", server.url, "--scenario", "all-v1", "-n", "1").code == 0
    assert not (tmp_path / "bin" / "args").exists()


def test_no_aws_cli_is_one_line_naming_the_options_to_pass(smoke, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    run = smoke("--scenario", "all-v1")
    assert run.code == 2
    assert run.out == ""
    assert one_line(run.err) == (
        "smoke: error: the AWS CLI (aws) is not on PATH to read the outputs of stack "
        f"{facts.DEFAULT_STACKS.cluster}; pass --url\n"
    )
    run = smoke("--url", "http://127.0.0.1:9/productpage", "--traces")
    assert one_line(run.err).endswith("; pass --scenario, --tracing and --dataplane\n")


def test_a_failing_aws_cli_is_reported_in_one_line(smoke, monkeypatch, tmp_path):
    message = (
        "An error occurred (ValidationError): Stack with id BookinfoLab-Cluster does not exist"
    )
    bin_dir = fake_aws(tmp_path / "bin", stderr="\n" + message + "\n", status=254)
    monkeypatch.setenv("PATH", str(bin_dir))
    run = smoke("--scenario", "all-v1")
    assert run.code == 2
    assert one_line(run.err) == (
        "smoke: error: reading the outputs of stack BookinfoLab-Cluster in the AWS CLI's region "
        f"failed: {message}; "
        "pass --url\n"
    )


@pytest.mark.parametrize("answer", ["null", "[]", stack_outputs(None, {"scenario": "all-v1"})])
def test_a_stack_without_the_url_output_is_reported(smoke, monkeypatch, tmp_path, answer):
    monkeypatch.setenv("PATH", str(fake_aws(tmp_path / "bin", stdout=answer)))
    run = smoke("--scenario", "all-v1")
    assert run.code == 2
    assert "stack BookinfoLab-Cluster has no output BookinfoUrl" in one_line(run.err)


def test_a_lab_deployed_without_settings_asks_for_the_scenario(smoke, on_path, tmp_path):
    # As a stack deployed by a version of the lab from before the LabSettings output.
    outputs = stack_outputs("http://127.0.0.1:9/productpage", None)
    on_path(fake_aws(tmp_path / "bin", stdout=outputs))
    run = smoke()
    assert run.code == 2
    line = one_line(run.err)
    assert f"has no output {facts.SETTINGS_OUTPUT}" in line
    assert line.endswith("pass --scenario\n")


def test_an_answer_that_is_not_outputs_is_reported(smoke, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(fake_aws(tmp_path / "bin", stdout="<html>")))
    run = smoke("--scenario", "all-v1")
    assert "is not its outputs" in one_line(run.err)


def test_unknown_scenario_lists_the_valid_names_in_one_line(smoke):
    run = smoke("--url", "http://127.0.0.1:9/productpage", "--scenario", "all-v2")
    assert run.code == 2
    line = one_line(run.err)
    assert line == (
        "smoke: error: unknown scenario 'all-v2' (from --scenario); "
        f"valid scenarios: {', '.join(SCENARIO_NAMES)}\n"
    )


def test_an_unknown_deployed_scenario_says_where_it_came_from(smoke, on_path, tmp_path):
    outputs = stack_outputs("http://127.0.0.1:9/productpage", {"scenario": "canary"})
    on_path(fake_aws(tmp_path / "bin", stdout=outputs))
    run = smoke()
    assert run.code == 2
    assert (
        f"unknown scenario 'canary' (from {facts.SETTINGS_OUTPUT} of BookinfoLab-Cluster)"
        in one_line(run.err)
    )


def test_a_mismatch_on_the_deployed_scenario_says_how_to_check_another(
    productpage, smoke, deployed_lab
):
    server = productpage(rotate(NO_STARS, BLACK_STARS, RED_STARS))
    deployed_lab(server.url, scenario="all-v1")
    run = smoke()
    assert run.code == 1
    assert "pass --scenario NAME" in run.out


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/productpage", "productpage", "http://", "http://host:http/productpage"],
)
def test_a_url_that_is_not_http_is_refused(smoke, url):
    run = smoke("--url", url, "--scenario", "all-v1")
    assert run.code == 2
    assert "expected an http(s) URL" in one_line(run.err)


def test_a_bare_host_url_gets_the_product_page_path(productpage, smoke):
    server = productpage(always(NO_STARS))
    run = smoke("--url", server.base_url, "--scenario", "all-v1", "-n", "1", "--json")
    result = json.loads(run.out)
    assert result["url"] == server.url


@pytest.mark.parametrize(
    "options", [["-n", "0"], ["-n", "many"], ["--timeout", "0"], ["--timeout", "-1"], ["--bogus"]]
)
def test_bad_options_exit_2(smoke, options):
    run = smoke("--url", "http://127.0.0.1:9/productpage", *options)
    assert run.code == 2
    assert "error:" in run.err


def test_help_lists_the_scenarios_and_exits_0(smoke):
    run = smoke("--help")
    assert run.code == 0
    assert run.out.startswith("usage: python -m smoke")
    for name in SCENARIO_NAMES:
        assert name in run.out


def test_python_dash_m_smoke_runs_as_a_module(productpage):
    server = productpage(always(NO_STARS))
    environment = {
        name: value for name, value in os.environ.items() if name.lower() not in PROXY_VARIABLES
    }
    done = subprocess.run(
        [sys.executable, "-m", "smoke", "--url", server.url, "--scenario", "all-v1", "-n", "3"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "PASS: all-v1 as anonymous: v1 100%" in done.stdout
    assert done.stderr == ""
    assert len(server.users_seen) == 3


def deployed_with_cluster(on_path, tmp_path, url: str, state_of, **context):
    """A deployed lab whose outputs name its cluster, and a kubectl on PATH that lists
    `state_of(plan)` for it."""
    plan = lab_plan(**context)
    outputs = json.loads(stack_outputs(url, plan.settings))
    outputs.append({"OutputKey": facts.CLUSTER_ARN_OUTPUT, "OutputValue": "arn:aws:eks:x"})
    on_path(fake_aws(tmp_path / "bin", stdout=json.dumps(outputs)))
    fake_kubectl.install(tmp_path / "bin", state_of(plan))


def test_a_damaged_lab_is_reported_instead_of_the_scenario(productpage, smoke, on_path, tmp_path):
    server = productpage(always(NO_STARS))
    deployed_with_cluster(
        on_path, tmp_path, server.url, lambda p: lab_state.uninstall_purge(lab_state.healthy(p))
    )
    run = smoke("-n", "2")
    assert run.code == 2
    assert one_line(run.err).startswith("smoke: error: the lab itself differs from what was")
    assert run.err.endswith("run `make repair`, then smoke again\n")
    assert server.users_seen == []


def test_a_lab_as_deployed_is_judged(productpage, smoke, on_path, tmp_path):
    server = productpage(rotate(NO_STARS, BLACK_STARS, RED_STARS))
    deployed_with_cluster(on_path, tmp_path, server.url, lab_state.healthy)
    run = smoke("-n", "3")
    assert (run.code, run.err) == (0, "")


def test_without_a_reachable_cluster_the_mesh_is_still_judged(
    productpage, smoke, on_path, tmp_path, monkeypatch
):
    server = productpage(rotate(NO_STARS, BLACK_STARS, RED_STARS))
    deployed_with_cluster(on_path, tmp_path, server.url, lab_state.healthy)
    monkeypatch.setenv("FAKE_STDERR", "error: You must be logged in to the server (Unauthorized)")
    run = smoke("-n", "3")
    assert run.code == 0
    assert one_line(run.err).startswith(
        "smoke: the doctor could not examine the cluster (the cluster refused your credentials"
    )
