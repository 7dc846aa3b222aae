"""Finding the page and the scenario; every way the check cannot run ends in one line, exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from smoke import cli
from smoke.expectations import SCENARIO_NAMES
from tests.conftest import PROJECT_ROOT
from tests.smoke.fake_productpage import (
    BLACK_STARS,
    NO_STARS,
    PROXY_VARIABLES,
    RED_STARS,
    always,
    rotate,
)


def fake_aws(directory: Path, *, stdout: str = "", stderr: str = "", status: int = 0) -> Path:
    """An `aws` on PATH that records its arguments and answers as told."""
    directory.mkdir(exist_ok=True)
    script = directory / "aws"
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > "{directory}/args"\n'
        f"printf '%s' '{stdout}'\n"
        f"printf '%s' '{stderr}' >&2\n"
        f"exit {status}\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return directory


def one_line(text: str) -> str:
    assert text.endswith("\n") and text.count("\n") == 1, text
    return text


def test_without_url_the_stack_output_is_read_with_the_aws_cli(
    productpage, smoke, monkeypatch, tmp_path
):
    server = productpage(always(NO_STARS))
    bin_dir = fake_aws(tmp_path / "bin", stdout=server.url + "\n")
    monkeypatch.setenv("PATH", str(bin_dir))
    run = smoke("--stack", "MyLab-Cluster", "--scenario", "all-v1", "-n", "2")
    assert run.code == 0, run.err
    assert (bin_dir / "args").read_text().splitlines() == [
        "cloudformation",
        "describe-stacks",
        "--stack-name",
        "MyLab-Cluster",
        "--query",
        "Stacks[0].Outputs[?OutputKey=='BookinfoUrl'].OutputValue",
        "--output",
        "text",
    ]
    assert len(server.users_seen) == 2


def test_the_default_stack_is_the_labs_cluster_stack(productpage, smoke, monkeypatch, tmp_path):
    server = productpage(always(NO_STARS))
    bin_dir = fake_aws(tmp_path / "bin", stdout=server.url)
    monkeypatch.setenv("PATH", str(bin_dir))
    assert smoke("--scenario", "all-v1", "-n", "1").code == 0
    assert "BookinfoLab-Cluster" in (bin_dir / "args").read_text().splitlines()


def test_no_url_and_no_aws_cli_is_one_line_and_exit_2(smoke, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    run = smoke("--scenario", "all-v1")
    assert run.code == 2
    assert run.out == ""
    line = one_line(run.err)
    assert line.startswith("smoke: error: no --url given, and the AWS CLI (aws) is not on PATH")
    assert "pass --url" in line


def test_a_failing_aws_cli_is_reported_in_one_line(smoke, monkeypatch, tmp_path):
    message = (
        "An error occurred (ValidationError): Stack with id BookinfoLab-Cluster does not exist"
    )
    bin_dir = fake_aws(tmp_path / "bin", stderr="\n" + message + "\n", status=254)
    monkeypatch.setenv("PATH", str(bin_dir))
    run = smoke("--scenario", "all-v1")
    assert run.code == 2
    assert one_line(run.err) == (
        "smoke: error: no --url given, and reading output BookinfoUrl of stack "
        f"BookinfoLab-Cluster failed: {message}\n"
    )


@pytest.mark.parametrize("answer", ["None\n", ""])
def test_a_stack_without_the_output_is_reported(smoke, monkeypatch, tmp_path, answer):
    monkeypatch.setenv("PATH", str(fake_aws(tmp_path / "bin", stdout=answer)))
    run = smoke("--scenario", "all-v1")
    assert run.code == 2
    assert "stack BookinfoLab-Cluster has no output BookinfoUrl" in one_line(run.err)


def test_unknown_scenario_lists_the_valid_names_in_one_line(smoke):
    run = smoke("--url", "http://127.0.0.1:9/productpage", "--scenario", "all-v2")
    assert run.code == 2
    line = one_line(run.err)
    assert line == (
        "smoke: error: unknown scenario 'all-v2' (from --scenario); "
        f"valid scenarios: {', '.join(SCENARIO_NAMES)}\n"
    )


def test_the_default_scenario_is_the_one_in_cdk_json(productpage, smoke, monkeypatch, tmp_path):
    cdk_json = tmp_path / "cdk.json"
    cdk_json.write_text(json.dumps({"app": "python3 app.py", "context": {"scenario": "all-v1"}}))
    monkeypatch.setattr(cli, "CDK_JSON", cdk_json)
    server = productpage(rotate(NO_STARS, BLACK_STARS, RED_STARS))
    run = smoke("--url", server.url)
    assert run.code == 1
    assert "scenario all-v1 (from cdk.json)" in run.out
    assert "pass --scenario NAME" in run.out


def test_the_projects_cdk_json_names_the_default(productpage, smoke):
    deployed = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]["scenario"]
    server = productpage(always(NO_STARS))
    result = json.loads(smoke("--url", server.url, "-n", "1", "--json").out)
    assert (result["scenario"], result["scenario_source"]) == (deployed, "cdk.json")


def test_without_cdk_json_the_scenario_is_round_robin(productpage, smoke, monkeypatch, tmp_path):
    monkeypatch.setattr(cli, "CDK_JSON", tmp_path / "missing.json")
    server = productpage(rotate(NO_STARS, BLACK_STARS, RED_STARS))
    result = json.loads(smoke("--url", server.url, "--json").out)
    assert (result["scenario"], result["scenario_source"], result["passed"]) == (
        "round-robin",
        "default",
        True,
    )


def test_an_unknown_scenario_in_cdk_json_says_where_it_came_from(smoke, monkeypatch, tmp_path):
    cdk_json = tmp_path / "cdk.json"
    cdk_json.write_text(json.dumps({"context": {"scenario": "canary"}}))
    monkeypatch.setattr(cli, "CDK_JSON", cdk_json)
    run = smoke("--url", "http://127.0.0.1:9/productpage")
    assert run.code == 2
    assert "unknown scenario 'canary' (from cdk.json)" in one_line(run.err)


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
    result = json.loads(smoke("--url", server.base_url, "-n", "1", "--json").out)
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
