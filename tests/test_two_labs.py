"""Two labs in one account and region: clusterName names the stacks and everything that must
be unique there, so a second name is a second lab beside the first, and every command of the
Makefile acts on the lab of the name given."""

from __future__ import annotations

from typing import Any

import pytest

from plan import facts
from scripts import cdk_json
from tests.conftest import SynthesizedLab
from tests.make_dry_run import dry_run

# The CloudFormation properties that hold a name unique in an account and region (or in the
# whole partition), by resource type: the lab sets none but the EKS cluster's, and leaves
# the others to CloudFormation, which derives them from the stack's name.
PHYSICAL_NAMES = {
    "AWS::EKS::Cluster": "Name",
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::EC2::SecurityGroup": "GroupName",
    "AWS::EC2::LaunchTemplate": "LaunchTemplateName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::SSM::Parameter": "Name",
    "AWS::S3::Bucket": "BucketName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::KMS::Alias": "AliasName",
}


def names_of(lab: SynthesizedLab) -> dict[str, Any]:
    """Every name of `lab` that another lab in the account and region must not share."""
    names: dict[str, Any] = {}
    for stack in (lab.lab.network, lab.lab.cluster):
        names[f"stack {stack.stack_name}"] = stack.stack_name
        template = lab.assembly.get_stack_by_name(stack.stack_name).template
        for logical_id, resource in template["Resources"].items():
            key = PHYSICAL_NAMES.get(resource["Type"])
            if key and key in resource.get("Properties", {}):
                names[f"{stack.stack_name}/{logical_id}.{key}"] = resource["Properties"][key]
        for output_id, output in template.get("Outputs", {}).items():
            if "Export" in output:
                names[f"{stack.stack_name} export {output_id}"] = output["Export"]["Name"]
    return names


def test_the_default_lab_keeps_its_stack_names(synthesized):
    assert synthesized.config.cluster_name == facts.DEFAULT_CLUSTER_NAME
    assert (synthesized.lab.network.stack_name, synthesized.lab.cluster.stack_name) == (
        "BookinfoLab-Network",
        "BookinfoLab-Cluster",
    )


def test_another_name_names_the_stacks(synthesized_ambient_gateway_api):
    lab = synthesized_ambient_gateway_api
    assert lab.config.cluster_name == "second-lab"
    assert (lab.lab.network.stack_name, lab.lab.cluster.stack_name) == (
        "second-lab-Network",
        "second-lab-Cluster",
    )


def test_two_labs_of_two_names_share_no_name(synthesized, synthesized_ambient_gateway_api):
    first, second = names_of(synthesized), names_of(synthesized_ambient_gateway_api)
    # Every name set is the cluster's own name, begins with its own stack's name, or is
    # EKS's log group of the cluster.
    for lab, names in ((synthesized, first), (synthesized_ambient_gateway_api, second)):
        name_of_lab = lab.config.cluster_name
        stacks = facts.lab_stacks(name_of_lab)
        for what, name in names.items():
            assert name in (name_of_lab, f"/aws/eks/{name_of_lab}/cluster") or str(name).startswith(
                stacks.all()
            ), what
        (cluster,) = [n for w, n in names.items() if w.endswith(".Name")]
        assert cluster == lab.config.cluster_name
    assert not set(map(str, first.values())) & set(map(str, second.values()))


def test_the_cleanup_is_scoped_by_the_labs_name(synthesized, synthesized_ambient_gateway_api):
    # The destroy-time cleanup deletes only what the controllers tagged with its cluster's
    # name, in its own VPC: two labs' cleanups never touch each other's load balancers.
    for lab in (synthesized, synthesized_ambient_gateway_api):
        (cleanup,) = lab.network.find_resources("Custom::LoadBalancerCleanup").values()
        assert cleanup["Properties"]["ClusterName"] == lab.config.cluster_name


@pytest.mark.parametrize("which", ["network", "cluster"])
def test_the_makefile_finds_the_stacks_of_the_lab_named(which, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no cdk.json: the default lab
    assert cdk_json.main(["stack", which]) == 0
    assert capsys.readouterr().out == getattr(facts.DEFAULT_STACKS, which) + "\n"
    assert cdk_json.main(["stack", which, "--cluster", "second-lab"]) == 0
    assert capsys.readouterr().out == f"second-lab-{which.capitalize()}\n"
    (tmp_path / "cdk.json").write_text('{"context": {"clusterName": "third"}}')
    assert cdk_json.main(["stack", which]) == 0
    assert capsys.readouterr().out == f"third-{which.capitalize()}\n"


# Each target that acts on a deployed (or to be deployed) lab.
TARGETS = {
    "synth": [],
    "nag": [],
    "deploy": [],
    "destroy": [],
    "smoke": [],
    "doctor": [],
    "leftovers": [],
    "repair": [],
    "e2e": [],
    "istio-set": ["SET=meshConfig.accessLogFile=/dev/stdout"],
    "istio-unset": [],
    "task": ["NAME=request-routing", "APPLY=1"],
}
# What acts on a lab: a CDK command that synthesizes the app, or one of the lab's scripts.
CDK_COMMANDS = ("cdk synth", "cdk deploy", "cdk destroy")
LAB_SCRIPTS = (
    "-m smoke",
    "-m doctor",
    "scripts.leftovers",
    "scripts.cluster_gone",
    "scripts.lab_kubeconfig arn",
    "scripts.e2e",
    "scripts.cdk_json stack cluster",
)


@pytest.mark.parametrize("target", TARGETS)
def test_every_target_acts_on_the_lab_named_by_cluster(target):
    lines = dry_run(target, *TARGETS[target], "CLUSTER=second-lab")
    acting = [line for line in lines if any(c in line for c in CDK_COMMANDS + LAB_SCRIPTS)]
    assert acting, lines
    for line in acting:
        for command in CDK_COMMANDS:
            if command in line:
                assert f"{command} -c clusterName='second-lab'" in line, line
        for script in LAB_SCRIPTS:
            if script in line:
                assert f"{script} --cluster 'second-lab'" in line, line
    # Without CLUSTER, cdk.json's clusterName is the lab: nothing is added.
    assert not any("second-lab" in line for line in dry_run(target, *TARGETS[target]))
