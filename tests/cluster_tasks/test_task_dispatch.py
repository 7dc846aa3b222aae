"""The handler's entry point: the lab's function runs it from the asset, every task the lab
creates reaches the module of its type and only that one, and anything else fails with a
short message before kubectl runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import Stack

from constructs.cluster_tasks import HANDLER_DIR
from tests.cluster_tasks.task_events import CLUSTER, crds_event, removal_event, stale_event
from tests.conftest import SynthesizedLab
from tests.handler_modules import asset_module_names


def tasks_function(lab: SynthesizedLab) -> tuple[dict, set[str]]:
    """The properties of the ClusterTasks function, and the type of every custom resource its
    provider serves in the lab's cluster stack."""
    tasks = lab.lab.cluster.tasks
    stack = Stack.of(tasks)
    resources = lab.cluster.to_json()["Resources"]
    function = resources[stack.get_logical_id(tasks.handler.node.default_child)]
    token = stack.resolve(tasks.service_token)
    served = {
        r["Type"]
        for r in resources.values()
        if r["Type"].startswith("Custom::") and r["Properties"].get("ServiceToken") == token
    }
    return function["Properties"], served


def test_every_task_the_lab_creates_is_dispatched_to_a_module(
    synthesized, synthesized_gateway_api, index
):
    # GIVEN the custom resources both ingress modes send to the ClusterTasks provider
    served = set()
    for lab in (synthesized, synthesized_gateway_api):
        served |= tasks_function(lab)[1]
    # THEN the handler has a module for each, and none for a type the lab never creates
    assert served == set(index.TASKS)


def test_each_task_module_gets_the_events_of_its_type_and_no_other(asset, index, monkeypatch):
    # GIVEN every module of the asset that declares a resource type, answering with its name
    tasks = {name: m for name, m in asset.items() if hasattr(m, "RESOURCE_TYPE")}
    for name, module in tasks.items():
        monkeypatch.setattr(
            module, "on_event", lambda event, context=None, name=name: {"Module": name}
        )
    assert sorted(m.RESOURCE_TYPE for m in tasks.values()) == sorted(index.TASKS)
    # WHEN the entry point gets an event of each type, THEN that type's module answers
    for name, module in tasks.items():
        event = {
            "RequestType": "Create",
            "ResourceType": module.RESOURCE_TYPE,
            "ResourceProperties": {"ClusterName": CLUSTER},
        }
        assert index.on_event(event) == {"Module": name}


def test_an_unknown_resource_type_fails_with_its_name(index, task_error, kubectl):
    event = {**stale_event("Create"), "ResourceType": "Custom::StaleRoute"}
    with pytest.raises(task_error, match=r"^unknown resource type 'Custom::StaleRoute'$"):
        index.on_event(event)
    assert kubectl() == []


@pytest.mark.parametrize("event_of", [crds_event, removal_event, stale_event])
def test_an_unknown_request_type_fails_every_task_before_kubectl(
    index, task_error, kubectl, event_of
):
    with pytest.raises(task_error, match=r"^unknown RequestType 'Rollback'$"):
        index.on_event(event_of("Rollback"))
    assert kubectl() == []


def test_the_function_runs_the_entry_point_of_its_asset(synthesized, asset):
    # GIVEN the function the lab deploys and the asset CDK staged for it
    properties, _ = tasks_function(synthesized)
    asset_hash = properties["Code"]["S3Key"].removesuffix(".zip")
    staged = Path(synthesized.assembly.directory) / f"asset.{asset_hash}"
    # THEN the asset holds the handler's modules and nothing else (no __pycache__), and the
    # Handler names a function of one of them
    assert sorted(p.name for p in staged.iterdir()) == sorted(
        f"{name}.py" for name in asset_module_names(HANDLER_DIR)
    )
    module, function = properties["Handler"].split(".")
    assert module in asset
    assert callable(getattr(asset[module], function))
