"""Every event stays within the function's own scope (its environment, as the construct sets
it): this cluster, the pinned files, the lab's routing kinds, the Gateway API's objects;
anything else is refused before kubectl runs, except CloudFormation's rollback of an update."""

from __future__ import annotations

import json

import pytest

from constructs.cluster_task_handler import tasks_contract
from plan import facts
from plan.gateway_api import CHANNELS
from tests.cluster_tasks.task_events import (
    crd_removal_event,
    crds_event,
    removal_event,
    stale_event,
)
from tests.cluster_tasks.test_task_dispatch import tasks_function

PINNED = CHANNELS["experimental"][0]


def pinned_file(file=PINNED) -> dict:
    return {"Url": file.url(facts.GATEWAY_API_VERSION), "Sha256": file.sha256, "Crds": []}


def test_the_labs_own_events_are_in_scope(synthesized, synthesized_gateway_api, asset):
    # GIVEN every task the lab's templates create, and the function's environment there
    guard = asset["scope_guard"]
    for lab in (synthesized, synthesized_gateway_api):
        function, _ = tasks_function(lab)
        environ = function["Environment"]["Variables"]
        resources = lab.cluster.to_json()["Resources"].values()
        tasks = [r for r in resources if r["Type"] in guard_types()]
        assert tasks
        for task in tasks:
            # THEN nothing is out of scope (the cluster is the same Ref in both places)
            properties = json.loads(json.dumps(task["Properties"]))
            environ_cluster = json.dumps(environ[tasks_contract.ENV_CLUSTER_NAME])
            assert json.dumps(properties[tasks_contract.CLUSTER_NAME]) == environ_cluster
            properties[tasks_contract.CLUSTER_NAME] = "x"
            resolved = {**environ, tasks_contract.ENV_CLUSTER_NAME: "x"}
            assert guard.problems(task["Type"], properties, resolved) == [], task["Type"]


def guard_types() -> set[str]:
    return {
        tasks_contract.CRDS_RESOURCE_TYPE,
        tasks_contract.CRD_REMOVAL_RESOURCE_TYPE,
        tasks_contract.SERVICE_REMOVAL_RESOURCE_TYPE,
        tasks_contract.STALE_ROUTES_RESOURCE_TYPE,
    }


def another_cluster(event: dict) -> dict:
    event["ResourceProperties"][tasks_contract.CLUSTER_NAME] = "someone-elses"
    return event


@pytest.mark.parametrize(
    ("event", "refusal"),
    [
        (another_cluster(removal_event("Delete")), "cluster 'someone-elses' is not this"),
        (another_cluster(stale_event("Update")), "cluster 'someone-elses' is not this"),
        (
            crds_event("Create", [{**pinned_file(), "Sha256": "0" * 64}]),
            "is not one of the pinned files",
        ),
        (
            crd_removal_event("Delete", ["crd/widgets.example.com"]),
            "object 'crd/widgets.example.com' is not the Gateway API's",
        ),
        (
            crds_event("Update", [pinned_file()], replaces=["namespace/kube-system"]),
            "object 'namespace/kube-system' is not the Gateway API's",
        ),
        (
            {
                **stale_event("Create"),
                "ResourceProperties": {
                    **stale_event("Create")["ResourceProperties"],
                    tasks_contract.KINDS: ["secrets"],
                },
            },
            "kind 'secrets' is not one of the lab's routing kinds",
        ),
    ],
)
def test_an_event_out_of_scope_is_refused_before_kubectl(
    index, task_error, kubectl, event, refusal
):
    with pytest.raises(task_error, match="^refused Custom::") as refused:
        index.on_event(event)
    assert refusal in str(refused.value)
    assert kubectl() == []


def test_the_rollback_of_an_update_to_what_was_deployed_before_is_let_through(asset):
    # GIVEN an Update whose new properties name files of an earlier pin (not in the
    # function's environment any more) and whose old ones are the function's: CloudFormation
    # rolling back after a later failure
    guard = asset["scope_guard"]
    earlier = {**pinned_file(), "Sha256": "1" * 64}
    event = crds_event("Update", [earlier])
    event["OldResourceProperties"] = {**event["ResourceProperties"], "Files": [pinned_file()]}
    # THEN it passes; the same files in a Create do not
    guard.check(event)
    with pytest.raises(Exception, match="is not one of the pinned files"):
        guard.check({**event, "RequestType": "Create"})


def test_a_delete_applies_nothing_so_its_pins_are_not_checked(asset):
    # A resource left with an earlier pin (a failed update that was not rolled back) can go.
    guard = asset["scope_guard"]
    guard.check(crds_event("Delete", [{**pinned_file(), "Sha256": "1" * 64}]))


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"Replaces": ["namespace/kube-system"]}, "object 'namespace/kube-system' is not"),
        ({"ClusterName": "someone-elses"}, "cluster 'someone-elses' is not this"),
        (
            {"Files": [{**pinned_file(), "Url": "https://example.com/evil.yaml"}]},
            "file 'https://example.com/evil.yaml' is not from https://raw.githubusercontent.com/",
        ),
    ],
)
def test_an_update_with_old_properties_in_scope_is_still_checked(asset, change, refusal):
    # Only the pins are relaxed for a rollback; anything else in the new properties is not.
    guard = asset["scope_guard"]
    event = crds_event("Update", [pinned_file()])
    event["OldResourceProperties"] = dict(event["ResourceProperties"])
    event["ResourceProperties"] = {**event["ResourceProperties"], **change}
    with pytest.raises(Exception, match="^refused Custom::GatewayApiCrds Update: ") as refused:
        guard.check(event)
    assert refusal in str(refused.value)


def test_what_an_update_deletes_is_checked_in_its_old_properties(asset):
    # An Update deletes what only the old properties name: those must be the Gateway API's.
    guard = asset["scope_guard"]
    event = crds_event("Update", [pinned_file()], old_objects=["namespace/istio-system"])
    with pytest.raises(Exception, match="old object 'namespace/istio-system' is not"):
        guard.check(event)


def test_a_function_without_its_scope_refuses_everything(asset, monkeypatch):
    monkeypatch.delenv(tasks_contract.ENV_CLUSTER_NAME)
    with pytest.raises(Exception, match="has no LAB_CLUSTER_NAME"):
        asset["scope_guard"].check(removal_event("Delete"))


def test_the_contract_names_the_gateway_api_groups_the_plan_uses():
    for group in (facts.GATEWAY_API_GROUP, facts.GATEWAY_API_EXPERIMENTAL_GROUP):
        assert f".{group}" in tasks_contract.GATEWAY_API_GROUPS
