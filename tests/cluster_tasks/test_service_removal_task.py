"""Custom::ServiceRemoval: nothing until delete; then a wait until the Service is gone, which
gives up without failing the destroy."""

from __future__ import annotations

import pytest

from tests.cluster_tasks.task_events import (
    CLUSTER,
    NAMESPACE,
    SERVICE,
    removal_event,
    without_kubectl_options,
)


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_service_removal_does_nothing_until_delete(index, eks, kubectl, request_type):
    result = index.on_event(removal_event(request_type))
    assert result == {"PhysicalResourceId": f"service-removal/{CLUSTER}/{NAMESPACE}/{SERVICE}"}
    assert kubectl() == []


def test_on_delete_it_waits_until_the_service_is_gone(index, eks, kubectl, monkeypatch):
    monkeypatch.setenv("FAKE_KUBECTL_STDOUT", f"service/{SERVICE}")
    index.on_event(removal_event("Delete"))
    get, wait = (without_kubectl_options(c["args"]) for c in kubectl())
    assert get[:2] == ["get", f"service/{SERVICE}"]
    assert wait == [
        "wait",
        "--for=delete",
        f"service/{SERVICE}",
        "-n",
        NAMESPACE,
        "--timeout=480s",
    ]


def test_a_service_already_gone_needs_no_wait(index, eks, kubectl):
    index.on_event(removal_event("Delete"))
    (get,) = kubectl()
    assert without_kubectl_options(get["args"])[0] == "get"


def test_a_wait_that_times_out_logs_and_succeeds(index, eks, kubectl, monkeypatch, caplog):
    monkeypatch.setenv("FAKE_KUBECTL_STDOUT", f"service/{SERVICE}")
    monkeypatch.setenv("FAKE_KUBECTL_EXIT", "1")
    index.on_event(removal_event("Delete"))
    assert "may still be there" in caplog.text
