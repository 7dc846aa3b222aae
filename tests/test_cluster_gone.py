"""`make destroy` after the cluster was deleted outside CloudFormation: the cluster stack is
deleted without its Kubernetes resources, which could not reach the cluster (fakes of
CloudFormation and EKS; the decision logic only)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from constructs.kubernetes_resources import KUBERNETES_RESOURCE_TYPES
from plan import facts
from scripts import cluster_gone

STACK = facts.lab_stacks("lab").cluster
HELM = "Custom::AWSCDK-EKS-HelmChart"
MANIFEST = "Custom::AWSCDK-EKS-KubernetesResource"


def not_found(operation: str, message: str, code: str = "ValidationError") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


class FakeCloudFormation:
    """A stack whose deletion fails, round after round, for the resources in `failing`
    (logical ID -> type) that are not retained."""

    def __init__(self, status: str | None, failing: dict[str, str]):
        self.status = status
        self.failing = failing
        self.deletes: list[list[str]] = []

    def describe_stacks(self, StackName):
        if self.status is None:
            raise not_found("DescribeStacks", f"Stack with id {StackName} does not exist")
        return {"Stacks": [{"StackStatus": self.status}]}

    def delete_stack(self, StackName, RetainResources=()):
        self.deletes.append(list(RetainResources))
        still = {i: t for i, t in self.failing.items() if i not in RetainResources}
        self.status = "DELETE_FAILED" if still else None

    def get_paginator(self, name):
        assert name == "list_stack_resources"
        fake = self

        class Pages:
            def paginate(self, StackName):
                return [{"StackResourceSummaries": [
                    {"LogicalResourceId": i, "ResourceType": t, "ResourceStatus": "DELETE_FAILED"}
                    for i, t in fake.failing.items()
                    if i not in (fake.deletes[-1] if fake.deletes else [])
                ] + [{"LogicalResourceId": "Vpc", "ResourceType": "AWS::EC2::VPC",
                      "ResourceStatus": "DELETE_COMPLETE"}]}]  # fmt: skip

        return Pages()


class FakeEks:
    def __init__(self, exists: bool):
        self.exists = exists

    def describe_cluster(self, name):
        if not self.exists:
            raise not_found("DescribeCluster", f"No cluster found for name: {name}.",
                            "ResourceNotFoundException")  # fmt: skip
        return {"cluster": {"name": name, "status": "ACTIVE"}}


class FakeSession:
    def __init__(self, cloudformation, eks):
        self.clients = {"cloudformation": cloudformation, "eks": eks}

    def client(self, name):
        return self.clients[name]


def test_nothing_is_done_while_the_cluster_exists():
    cloudformation = FakeCloudFormation("CREATE_COMPLETE", {"Istiod": HELM})
    assert cluster_gone.run(FakeSession(cloudformation, FakeEks(True)), "lab") == 0
    assert cloudformation.deletes == []


def test_nothing_is_done_without_the_stack():
    cloudformation = FakeCloudFormation(None, {})
    assert cluster_gone.run(FakeSession(cloudformation, FakeEks(False)), "lab") == 0
    assert cloudformation.deletes == []


def test_a_stack_whose_cluster_is_gone_is_deleted_retaining_its_kubernetes_resources():
    failing = {"Istiod": HELM, "RoutingResources": MANIFEST, "StaleRoutes": "Custom::StaleRoutes"}
    cloudformation = FakeCloudFormation("UPDATE_COMPLETE", failing)
    said: list[str] = []
    cluster_gone.delete_without_cluster(cloudformation, STACK, wait=lambda s: None, say=said.append)
    assert cloudformation.deletes == [[], sorted(failing)]
    assert cloudformation.status is None
    assert said[-1] == f"stack {STACK} deleted"
    assert set(failing.values()) <= KUBERNETES_RESOURCE_TYPES


def test_through_run_it_says_why_it_acts(capsys, monkeypatch):
    cloudformation = FakeCloudFormation("UPDATE_COMPLETE", {"Istiod": HELM})
    monkeypatch.setattr(
        cloudformation, "get_waiter", lambda name: type("W", (), {"wait": lambda *a, **k: None})(),
        raising=False,
    )  # fmt: skip
    assert cluster_gone.run(FakeSession(cloudformation, FakeEks(False)), "lab") == 0
    out = capsys.readouterr().out
    assert out.startswith(f"EKS has no cluster lab, but stack {STACK} (UPDATE_COMPLETE)")
    assert cloudformation.deletes == [[], ["Istiod"]]


def test_a_resource_that_is_not_kubernetes_stops_it_in_one_line():
    cloudformation = FakeCloudFormation(
        "UPDATE_COMPLETE", {"Istiod": HELM, "NodeGroup": "AWS::EKS::Nodegroup"}
    )
    with pytest.raises(cluster_gone.CannotDelete, match="NodeGroup \\(AWS::EKS::Nodegroup\\)"):
        cluster_gone.delete_without_cluster(cloudformation, STACK, wait=lambda s: None)
    assert cloudformation.deletes == [[]]


def test_make_destroy_runs_it_before_cdk_destroy():
    from tests.conftest import PROJECT_ROOT

    makefile = (PROJECT_ROOT / "Makefile").read_text()
    recipe = makefile.split("\ndestroy: bootstrap cdk-version\n", 1)[1].split("\n\n", 1)[0]
    assert recipe.index("scripts.cluster_gone") < recipe.index("--all --force")


def test_it_acts_on_the_stack_of_the_lab_named(capsys, monkeypatch):
    # GIVEN two labs' cluster stacks, of which only "lab" lost its cluster
    class TwoStacks(FakeCloudFormation):
        def describe_stacks(self, StackName):
            assert StackName in (STACK, facts.DEFAULT_STACKS.cluster)
            return super().describe_stacks(StackName)

    cloudformation = TwoStacks("UPDATE_COMPLETE", {"Istiod": HELM})
    asked: list[str] = []

    class Eks(FakeEks):
        def describe_cluster(self, name):
            asked.append(name)
            return super().describe_cluster(name)

    # WHEN the default lab is checked THEN only its stack and cluster are looked at
    assert cluster_gone.run(FakeSession(cloudformation, Eks(True)), "bookinfo-lab") == 0
    assert asked == ["bookinfo-lab"] and cloudformation.deletes == []
    # and "lab" is deleted under its own stack's name, not the default's
    said: list[str] = []
    monkeypatch.setattr(cluster_gone, "delete_without_cluster",
                        lambda cfn, stack, wait, say: said.append(stack))  # fmt: skip
    assert cluster_gone.run(FakeSession(cloudformation, FakeEks(False)), "lab") == 0
    assert said == ["lab-Cluster"]
