"""`make destroy` removes the lab's kubeconfig entries, and only those."""

from __future__ import annotations

import io
import json
import os
import stat
import urllib.request

import boto3
import pytest
import yaml

from plan import facts
from scripts.lab_kubeconfig import (
    CLUSTER_ARN_OUTPUT,
    forget,
    kubeconfig_paths,
    lab_cluster_arn,
)
from tests.conftest import PROJECT_ROOT

LAB = "arn:aws:eks:eu-west-1:123456789012:cluster/bookinfo-lab"
# Another account's cluster of the same name, and an unrelated one: both must survive.
SAME_NAME = "arn:aws:eks:eu-west-1:210987654321:cluster/bookinfo-lab"
OTHER = "arn:aws:eks:us-east-1:123456789012:cluster/payments"


def entries(arn: str) -> dict[str, dict]:
    """What `aws eks update-kubeconfig --name ... --role-arn ...` adds for `arn`."""
    return {
        "clusters": {
            "name": arn,
            "cluster": {
                "server": f"https://{arn.rsplit('/', 1)[1]}.eks.example",
                "certificate-authority-data": "Q0E=",
            },
        },
        "contexts": {"name": arn, "context": {"cluster": arn, "user": arn}},
        "users": {
            "name": arn,
            "user": {
                "exec": {
                    "apiVersion": "client.authentication.k8s.io/v1beta1",
                    "command": "aws",
                    "args": ["--region", "eu-west-1", "eks", "get-token", "--cluster-name", "x"],
                }
            },
        },
    }


def kubeconfig(*arns: str, current: str) -> dict:
    config = {"apiVersion": "v1", "kind": "Config", "preferences": {}}
    for section in ("clusters", "contexts", "users"):
        config[section] = [entries(arn)[section] for arn in arns]
    config["current-context"] = current
    return config


def write(path, config) -> None:
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    path.chmod(0o600)


def test_removes_the_labs_entries_and_keeps_every_other(tmp_path):
    # GIVEN a kubeconfig with the lab and two other clusters, the lab's context current
    path = tmp_path / "config"
    write(path, kubeconfig(SAME_NAME, LAB, OTHER, current=LAB))
    out = io.StringIO()

    # WHEN the lab's entries are forgotten
    removed = forget(LAB, [path], out)

    # THEN exactly the lab's cluster, context and user are gone, current-context is unset,
    # and everything else is as it was
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == kubeconfig(
        SAME_NAME, OTHER, current=""
    )
    assert len(removed) == 4
    for kind in ("cluster", "context", "user", "current-context"):
        assert f"kubeconfig: removed {kind} {LAB}" in out.getvalue()
    # AND the file still holds credentials for its owner only
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_another_current_context_stays_current(tmp_path):
    path = tmp_path / "config"
    write(path, kubeconfig(LAB, OTHER, current=OTHER))
    forget(LAB, [path], io.StringIO())
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["current-context"] == OTHER


def test_entries_in_any_file_of_kubeconfig_are_found(tmp_path):
    # GIVEN KUBECONFIG naming a missing file, a file of another cluster, and the lab's file
    missing, others, labs = tmp_path / "missing", tmp_path / "others", tmp_path / "labs"
    write(others, kubeconfig(OTHER, current=OTHER))
    write(labs, kubeconfig(LAB, current=LAB))
    paths = kubeconfig_paths({"KUBECONFIG": os.pathsep.join(map(str, (missing, others, labs)))})
    assert paths == [missing, others, labs]
    out = io.StringIO()

    # WHEN the lab's entries are forgotten THEN its file loses them and the others are kept
    forget(LAB, paths, out)
    assert yaml.safe_load(labs.read_text(encoding="utf-8")) == kubeconfig(current="")
    assert yaml.safe_load(others.read_text(encoding="utf-8")) == kubeconfig(OTHER, current=OTHER)
    assert f"no file {missing}" in out.getvalue()


def test_without_a_kubeconfig_or_an_arn_it_says_so_and_succeeds(tmp_path):
    out = io.StringIO()
    assert forget(LAB, [tmp_path / "config"], out) == []
    assert "no file" in out.getvalue() and f"no entries named {LAB}" in out.getvalue()
    path = tmp_path / "config"
    write(path, kubeconfig(LAB, current=LAB))
    before = path.read_text(encoding="utf-8")
    out = io.StringIO()
    assert forget("", [path], out) == []
    assert "ARN is unknown" in out.getvalue()
    assert path.read_text(encoding="utf-8") == before


def test_default_path_is_the_users_kube_config():
    assert kubeconfig_paths({}) == [kubeconfig_paths({"KUBECONFIG": "~/.kube/config"})[0]]


@pytest.fixture
def aws_session(moto_endpoint, monkeypatch) -> boto3.session.Session:
    reset = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(reset, timeout=10) as response:
        assert response.status == 200
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    return boto3.session.Session(region_name="eu-west-1")


# moto parses no WaitConditionHandle, and says so; the stack and its output are all we need.
@pytest.mark.filterwarnings("ignore:Tried to parse AWS.{2}CloudFormation.{2}WaitConditionHandle")
def test_the_arn_comes_from_the_cluster_stack_while_it_exists(aws_session):
    # GIVEN the cluster stack with its ClusterArn output
    template = {
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {CLUSTER_ARN_OUTPUT: {"Value": LAB}},
    }
    aws_session.client("cloudformation").create_stack(
        StackName=facts.DEFAULT_STACKS.cluster, TemplateBody=json.dumps(template)
    )
    # WHEN the default lab's ARN is looked up THEN it is the output's
    assert lab_cluster_arn(aws_session, "bookinfo-lab", io.StringIO()) == LAB
    # and another lab's is not: it has stacks of its own (here none, so the ARN is built)
    other = lab_cluster_arn(aws_session, "second-lab", io.StringIO())
    assert other == LAB.replace("cluster/bookinfo-lab", "cluster/second-lab")


def test_with_the_stack_gone_the_arn_is_built_from_account_and_region(aws_session):
    # moto's caller is account 123456789012 in the aws partition
    arn = lab_cluster_arn(aws_session, "bookinfo-lab", io.StringIO())
    assert arn == LAB


def test_make_destroy_forgets_the_entries_only_after_the_stacks_are_gone():
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\ndestroy: bootstrap cdk-version\n", 1)[1].split("\n\n", 1)[0]
    lookup = recipe.index("lab_kubeconfig arn")
    destroy = recipe.index("--all --force")
    removal = recipe.index("lab_kubeconfig forget")
    assert lookup < destroy < removal
    # `&&`: a failed destroy leaves the kubeconfig alone
    assert recipe[destroy:removal].count("&&") == 1


def test_the_cluster_stack_prints_the_arn_the_lookup_reads(cluster_template, synthesized):
    assert synthesized.lab.cluster.stack_name == facts.DEFAULT_STACKS.cluster
    output = cluster_template.find_outputs(CLUSTER_ARN_OUTPUT)[CLUSTER_ARN_OUTPUT]
    (cluster_id,) = cluster_template.find_resources("AWS::EKS::Cluster")
    assert output["Value"] == {"Fn::GetAtt": [cluster_id, "Arn"]}


def test_a_context_renamed_with_alias_goes_and_a_shared_user_stays(tmp_path):
    # GIVEN `aws eks update-kubeconfig --alias lab`, and another context using the lab's user
    path = tmp_path / "config"
    config = kubeconfig(LAB, OTHER, current="lab")
    config["contexts"][0]["name"] = "lab"
    shared = {"name": "shares-the-user", "context": {"cluster": OTHER, "user": LAB}}
    config["contexts"].append(shared)
    write(path, config)
    out = io.StringIO()
    # WHEN the lab's entries are forgotten
    forget(LAB, [path], out)
    # THEN the renamed context and the cluster go, the user another context uses stays
    after = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert [c["name"] for c in after["contexts"]] == [OTHER, "shares-the-user"]
    assert [c["name"] for c in after["clusters"]] == [OTHER]
    assert [u["name"] for u in after["users"]] == [LAB, OTHER]
    assert after["current-context"] == ""
    assert "removed context lab" in out.getvalue()


def test_a_symlinked_kubeconfig_stays_a_link_and_its_target_is_edited(tmp_path):
    target = tmp_path / "dotfiles" / "kubeconfig"
    target.parent.mkdir()
    write(target, kubeconfig(LAB, OTHER, current=OTHER))
    link = tmp_path / "config"
    link.symlink_to(target)
    forget(LAB, [link], io.StringIO())
    assert link.is_symlink()
    assert yaml.safe_load(target.read_text(encoding="utf-8")) == kubeconfig(OTHER, current=OTHER)
    assert not (tmp_path / "dotfiles" / "kubeconfig.lock").exists()


def test_a_file_another_kubectl_holds_is_left_alone(tmp_path, monkeypatch):
    path = tmp_path / "config"
    write(path, kubeconfig(LAB, current=LAB))
    before = path.read_text(encoding="utf-8")
    (tmp_path / "config.lock").write_text("")
    monkeypatch.setattr("time.sleep", lambda s: None)
    out = io.StringIO()
    assert forget(LAB, [path], out) == []
    assert path.read_text(encoding="utf-8") == before
    assert f"{path} is locked" in out.getvalue()
    # The lock is kubectl's: it stays.
    assert (tmp_path / "config.lock").exists()


def test_a_file_that_is_not_yaml_is_one_line_after_a_successful_destroy(tmp_path):
    path = tmp_path / "config"
    path.write_text("clusters: [\n  - name: x\n", encoding="utf-8")
    out = io.StringIO()
    assert forget(LAB, [path], out) == []
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"kubeconfig: {path} is not valid YAML (line ")
    assert lines[0].endswith(f"the lab is gone, remove its entries named {LAB} by hand")


def test_comments_it_cannot_keep_are_named(tmp_path):
    path = tmp_path / "config"
    path.write_text("# my notes\n" + yaml.safe_dump(kubeconfig(LAB, current=LAB)), "utf-8")
    out = io.StringIO()
    forget(LAB, [path], out)
    assert f"the comments in {path} are not kept" in out.getvalue()
