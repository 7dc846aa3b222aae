"""Who gets in: allowedCidrs and adminPrincipals are checked like every key, and every deploy
lets in the deploying machine's address and IAM principal when cdk.json sets none
(scripts/deploy_context.py, with fake lookups)."""

from __future__ import annotations

import json

import pytest

from plan.config import LabConfig
from plan.problems import ConfigError
from scripts import deploy_context as who
from tests.make_dry_run import dry_run


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


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ([], ()),
        (["account"], ("account",)),
        ("arn:aws:iam::111122223333:role/Admin", ("arn:aws:iam::111122223333:role/Admin",)),
        (
            ["arn:aws:iam::111122223333:user/ops/ana", "arn:aws-cn:iam::111122223333:role/x"],
            ("arn:aws:iam::111122223333:user/ops/ana", "arn:aws-cn:iam::111122223333:role/x"),
        ),
    ],
)
def test_admin_principals_from_cdk_json_or_the_command_line(given, expected):
    assert LabConfig.from_context({"adminPrincipals": given}).admin_principals == expected


@pytest.mark.parametrize(
    "value",
    [
        ["arn:aws:sts::111122223333:assumed-role/Admin/me"],  # a session, not a principal
        ["arn:aws:iam::111122223333:root"],
        ["account", "arn:aws:iam::111122223333:role/Admin"],  # "account" stands alone
        ["Admin"],
        "everyone",
    ],
)
def test_a_bad_principal_is_one_line(value):
    with pytest.raises(ConfigError) as raised:
        LabConfig.from_context({"adminPrincipals": value})
    (problem,) = raised.value.problems
    assert problem.startswith("context adminPrincipals=")
    assert "expected IAM role or user ARNs" in problem


def cdk_json(tmp_path, **context):
    path = tmp_path / "cdk.json"
    path.write_text(json.dumps({"app": "x", "context": context}))
    return path


ROLE_SESSION = "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0a1b/ana@example"


def test_without_either_key_the_deploy_lets_in_the_callers_address_and_principal(tmp_path):
    path = cdk_json(tmp_path, allowedCidrs=[], adminPrincipals=[])
    arguments, said = who.deploy_context(
        path, address=lambda: "81.2.69.160\n", caller=lambda: ROLE_SESSION
    )
    assert arguments.split() == [
        "-c",
        "allowedCidrs=81.2.69.160/32",
        "-c",
        "adminPrincipals=arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_0a1b",
    ]
    assert "81.2.69.160/32, your public address" in said[0]
    assert said[1].startswith("adminPrincipals: arn:aws:iam::111122223333:role/")


def test_what_cdk_json_sets_is_kept(tmp_path):
    path = cdk_json(tmp_path, allowedCidrs=["0.0.0.0/0"], adminPrincipals=["account"])

    def no_lookup():
        raise AssertionError("no lookup when cdk.json says who gets in")

    assert who.deploy_context(path, address=no_lookup, caller=no_lookup)[0] == ""


@pytest.mark.parametrize(
    ("caller", "principal"),
    [
        ("arn:aws:iam::111122223333:user/ops/ana", "arn:aws:iam::111122223333:user/ops/ana"),
        (ROLE_SESSION, "arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_0a1b"),
        (
            "arn:aws-cn:sts::111122223333:assumed-role/Ops/i-0abc",
            "arn:aws-cn:iam::111122223333:role/Ops",
        ),
    ],
)
def test_the_principal_of_the_credentials(caller, principal):
    assert who.principal_of(caller) == principal


@pytest.mark.parametrize(
    "caller",
    [
        "arn:aws:iam::111122223333:root",
        "arn:aws:sts::111122223333:federated-user/ana",
        "arn:aws:sts::111122223333:assumed-role/Ops,Eng/i-0abc",
    ],
)
def test_credentials_that_cannot_be_trusted_as_given_are_refused(caller):
    with pytest.raises(ValueError):
        who.principal_of(caller)


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
        who.deploy_context(cdk_json(tmp_path), address=fetch, caller=lambda: ROLE_SESSION)


def test_the_error_says_what_to_put_in_cdk_json(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    cdk_json(tmp_path, allowedCidrs=["81.2.69.160/32"])

    def no_credentials():
        raise OSError("Unable to locate credentials")

    monkeypatch.setattr(who, "fetch_caller_arn", no_credentials)
    assert who.main([]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: cannot tell who your AWS credentials are (Unable to locate")
    assert 'set adminPrincipals in cdk.json, e.g. "adminPrincipals": ["arn:aws:iam::' in err


def test_every_deploy_of_the_makefile_finds_the_deployer_first():
    for target, extra in (
        ("deploy", []),
        ("repair", []),
        ("istio-set", ["SET=meshConfig.accessLogFile=/dev/stdout"]),
        ("istio-unset", []),
        ("task", ["NAME=request-routing", "APPLY=1"]),
    ):
        (line,) = [line for line in dry_run(target, *extra) if "cdk deploy" in line]
        assert 'deployer="$(.venv/bin/python -m scripts.deploy_context)" && ' in line, target
        assert line.index("scripts.deploy_context") < line.index("cdk deploy"), target
        assert " $deployer " in line, target


def lab_warnings(lab) -> list[str]:
    from aws_cdk.assertions import Annotations, Match

    found = Annotations.from_stack(lab.lab.cluster).find_warning("*", Match.any_value())
    return [str(w.entry.data) for w in found]


def test_a_lab_that_lets_nobody_in_says_so(
    synthesized, synthesized_gateway_api, synthesized_ambient
):
    # cdk.json sets neither key (make deploy fills both): a plain cdk deploy is warned
    (warning,) = [w for w in lab_warnings(synthesized) if "gets in" in w or "is empty" in w]
    assert warning.startswith("allowedCidrs is empty: the ingress NLB admits the VPC only")
    assert "adminPrincipals is empty: nobody may assume the cluster admin role" in warning
    assert "`make deploy` gives your address and IAM principal" in warning
    # only what is empty is named; with both set, nothing is said
    (partial,) = [w for w in lab_warnings(synthesized_ambient) if "is empty" in w]
    assert "adminPrincipals" not in partial
    assert not [w for w in lab_warnings(synthesized_gateway_api) if "is empty" in w]


def test_context_for_one_command_reaches_the_cdk_with_the_deployer():
    lines = dry_run("deploy", "CONTEXT=scenario=all-v1 nodeCount=3")
    (line,) = [line for line in lines if "cdk deploy" in line]
    assert "cdk deploy  -c 'scenario=all-v1' -c 'nodeCount=3' $deployer --all" in line


def test_the_example_in_the_refusal_is_itself_accepted():
    # The line names an address to copy: it must pass the same check.
    (problem,) = problems_for(["10.0.0.0/8"])
    example = problem.split("or -c allowedCidrs=")[1]
    assert LabConfig.from_context({"allowedCidrs": example}).allowed_cidrs == (example,)
