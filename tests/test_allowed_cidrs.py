"""Who gets in: allowedCidrs is checked like every key, and every deploy lets in the deploying
machine's address when cdk.json sets none (scripts/allowed_cidrs.py, with a fake lookup)."""

from __future__ import annotations

import json
import subprocess

import pytest

from plan.config import LabConfig
from plan.problems import ConfigError
from scripts import allowed_cidrs
from tests.conftest import PROJECT_ROOT


def problems_for(value) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        LabConfig.from_context({"allowedCidrs": value})
    return raised.value.problems


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (["81.2.69.160/32"], ("81.2.69.160/32",)),
        ("81.2.69.160/32,81.2.70.0/24", ("81.2.69.160/32", "81.2.70.0/24")),
        ('["0.0.0.0/0"]', ("0.0.0.0/0",)),
        ([], ()),
    ],
)
def test_allowed_cidrs_from_cdk_json_or_the_command_line(given, expected):
    assert LabConfig.from_context({"allowedCidrs": given}).allowed_cidrs == expected


def test_a_bare_address_is_its_own_slash_32():
    # as EKS and the load balancer controller read it
    assert LabConfig.from_context({"allowedCidrs": ["81.2.69.160"]}).allowed_cidrs == (
        "81.2.69.160",
    )


@pytest.mark.parametrize(
    "value",
    [
        ["81.2.69.161/24"],  # host bits set
        ["10.0.0.0/8"],  # private: nobody on the internet has it
        ["::/0"],  # IPv6: the NLB is IPv4 only
        ["not-an-address/32"],
        "0.0.0.0/0;1.2.3.4/32",
        [32],
    ],
)
def test_a_bad_cidr_is_one_line(value):
    (problem,) = problems_for(value)
    assert problem.startswith("context allowedCidrs=")
    assert "expected a list of IPv4 CIDRs" in problem


def test_more_cidrs_than_a_security_group_holds_rules_for_are_refused():
    (problem,) = problems_for([f"81.2.{i}.0/24" for i in range(11)])
    assert "at most 10" in problem


def cdk_json(tmp_path, **context):
    path = tmp_path / "cdk.json"
    path.write_text(json.dumps({"app": "x", "context": context}))
    return path


def test_without_allowed_cidrs_the_deploy_lets_in_the_callers_address(tmp_path):
    path = cdk_json(tmp_path, allowedCidrs=[])
    arguments, said = allowed_cidrs.deploy_context(path, fetch=lambda: "81.2.69.160\n")
    assert arguments == "-c allowedCidrs=81.2.69.160/32"
    assert "81.2.69.160/32, your public address" in said


def test_allowed_cidrs_in_cdk_json_are_kept(tmp_path):
    path = cdk_json(tmp_path, allowedCidrs=["0.0.0.0/0"])

    def no_lookup():
        raise AssertionError("no lookup when cdk.json says who gets in")

    assert allowed_cidrs.deploy_context(path, fetch=no_lookup)[0] == ""


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("<html>captive portal</html>", "not an IPv4 address"),
        ("10.1.2.3", "not a public address"),
        (OSError("timed out"), "cannot ask https://checkip.amazonaws.com"),
    ],
)
def test_an_address_that_cannot_be_found_is_an_error_not_an_open_lab(tmp_path, answer, reason):
    def fetch():
        if isinstance(answer, Exception):
            raise answer
        return answer

    with pytest.raises(ValueError, match=reason):
        allowed_cidrs.deploy_context(cdk_json(tmp_path), fetch=fetch)


def test_the_error_says_what_to_put_in_cdk_json(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    cdk_json(tmp_path)

    def offline(url=allowed_cidrs.CHECKIP_URL):
        raise OSError("no route")

    monkeypatch.setattr(allowed_cidrs, "fetch_address", offline)
    assert allowed_cidrs.main([]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "set allowedCidrs in cdk.json to the addresses that may reach the lab" in err


def test_every_deploy_of_the_makefile_finds_the_address_first():
    for target, extra in (
        ("deploy", []),
        ("repair", []),
        ("istio-set", ["SET=meshConfig.accessLogFile=/dev/stdout"]),
        ("istio-unset", []),
        ("task", ["NAME=request-routing", "APPLY=1"]),
    ):
        done = subprocess.run(
            ["make", "-n", "--no-print-directory", target, *extra],
            cwd=PROJECT_ROOT, capture_output=True, text=True, check=True,
        )  # fmt: skip
        (line,) = [line for line in done.stdout.splitlines() if "cdk deploy" in line]
        assert 'address="$(.venv/bin/python -m scripts.allowed_cidrs)" && ' in line, target
        assert line.index("scripts.allowed_cidrs") < line.index("cdk deploy"), target
        assert " $address " in line, target
