"""The Task catalog (plan/tasks.yaml): every page of the Istio docs' Tasks and ambient guides,
the settings each needs (every distinct combination synthesizes and passes the analyzer),
docs/tasks.md generated from it, and `make task`."""

from __future__ import annotations

import json
import subprocess

import pytest

from plan.config import DEFAULTS
from plan.task_catalog import CatalogError, find, load, short_name, task_keys
from scripts import task as task_script
from tests.conftest import PROJECT_ROOT, cdk_json_context, synthesize
from tests.istio_objects import lab_plan

TASKS = load()


def contexts() -> dict[str, dict]:
    """Every distinct context the catalog's pages and tabs ask for, by the first page."""
    found: dict[str, dict] = {}
    seen: set[str] = set()
    for task in TASKS:
        for tab in (None, *task.tabs):
            context = task.context(tab)
            key = json.dumps(context, sort_keys=True)
            if key not in seen:
                seen.add(key)
                found[short_name(task) + (f"/{tab}" if tab else "")] = context
    return found


CONTEXTS = contexts()


def test_every_task_page_and_ambient_guide_is_listed_once():
    pages = [t.page for t in TASKS]
    assert len(pages) == len(set(pages))
    assert sum(p.startswith("tasks/") for p in pages) == 64
    assert sum(p.startswith("ambient/usage/") for p in pages) == 14


def test_only_the_pages_named_here_cannot_run_and_each_says_why():
    cannot = {short_name(t) for t in TASKS if t.verdict == "cannot"}
    locality = {short_name(t) for t in TASKS if "locality-load-balancing" in t.page}
    assert cannot - locality == {"custom-ca-k8s", "secure-metrics"}
    assert all(t.reason for t in TASKS if t.verdict == "cannot")


def test_the_cleanups_that_would_damage_the_lab_say_what_to_run_instead():
    damaging = ("sampling", "gateway-api-inference-extension", "agentgateway", "access-log",
                "ambient/usage/waypoint", "ingress/gateway-api")  # fmt: skip
    for name in damaging:
        cleanup = find(name).cleanup
        assert cleanup is not None, name
        assert cleanup.instead and cleanup.damaging, name


def test_docs_tasks_md_is_generated_from_the_catalog():
    written = (PROJECT_ROOT / "docs" / "tasks.md").read_text(encoding="utf-8")
    assert written == task_script.markdown(TASKS), (
        "docs/tasks.md is stale: python -m scripts.task --markdown > docs/tasks.md"
    )


@pytest.mark.parametrize("name", list(CONTEXTS))
def test_every_settings_combination_synthesizes_and_passes_the_analyzer(name, tmp_path, request):
    context = {**cdk_json_context(), **CONTEXTS[name]}
    # The default lab is the session's own synth (with the cdk-nag checks on as well).
    default = context == cdk_json_context()
    lab = request.getfixturevalue("synthesized") if default else synthesize(context, tmp_path)
    assert lab.plan.findings() == []
    assert lab.cluster.find_resources("Custom::AWSCDK-EKS-HelmChart")


def test_a_pages_settings_reach_the_plan():
    plan = lab_plan(**find("egress-control").context())
    mesh = plan.mesh.istiod.values["meshConfig"]
    assert mesh["outboundTrafficPolicy"] == {"mode": "REGISTRY_ONLY"}
    assert lab_plan(**find("zipkin").context()).config.tracing == "zipkin"


def test_every_short_name_finds_its_page():
    for task in TASKS:
        assert find(short_name(task)) is task
    with pytest.raises(CatalogError, match="names several pages"):
        find("telemetry-api")
    with pytest.raises(CatalogError, match="no Task page"):
        find("egress-contrl")


def test_apply_resets_what_the_previous_page_set(tmp_path):
    cdk_json = tmp_path / "cdk.json"
    cdk_json.write_text(json.dumps({"app": "x", "context": cdk_json_context()}))
    egress = find("egress-control")
    changed = task_script.apply(egress, None, cdk_json)
    assert changed == [
        'istio: {} -> {"meshConfig": {"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}}}'
    ]
    task_script.apply(find("zipkin"), None, cdk_json)
    context = json.loads(cdk_json.read_text())["context"]
    assert context["istio"] == {}
    assert context["tracing"] == "zipkin"
    task_script.apply(find("request-routing"), "gateway-api", cdk_json)
    context = json.loads(cdk_json.read_text())["context"]
    assert (context["tracing"], context["ingressApi"]) == (DEFAULTS["tracing"], "gateway-api")
    assert set(task_keys()) <= set(context)


def test_make_task_refuses_a_tab_the_page_does_not_have(capsys):
    assert task_script.main(["egress-control", "--tab", "gateway-api"]) == 2
    assert "has no tab 'gateway-api'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"needs": {"tracin": "zipkin"}, "verdict": "settings"}, "needs names tracin"),
        ({"verdict": "settings"}, "names no needs or istio settings"),
        ({"verdict": "runs", "needs": {"tracing": "zipkin"}}, "only a `settings` page"),
        ({"verdict": "cannot"}, "a reason goes with verdict cannot"),
        (
            {
                "verdict": "settings",
                "istio": ["meshConfig.outboundTraficPolicy.mode=REGISTRY_ONLY"],
            },
            "did you mean meshConfig.outboundTrafficPolicy?",
        ),
        ({"verdict": "maybe"}, "verdict 'maybe'"),
    ],
)
def test_a_bad_entry_stops_the_catalog(tmp_path, entry, problem):
    path = tmp_path / "tasks.yaml"
    path.write_text(json.dumps([{"page": "tasks/security/x", "title": "Y", **entry}]))
    with pytest.raises(CatalogError, match=problem):
        load.__wrapped__(path)


def test_apply_without_a_page_deploys_nothing(capsys):
    assert task_script.main(["--apply"]) == 2
    assert "needs the page" in capsys.readouterr().err


@pytest.mark.parametrize(("apply", "deploys"), [("1", True), ("0", False), ("", False)])
def test_make_task_deploys_only_with_apply_1(apply, deploys):
    planned = subprocess.run(
        ["make", "-n", "--no-print-directory", "task", "NAME=egress-control", f"APPLY={apply}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert ("cdk deploy" in planned) is deploys
    assert ("--apply" in planned) is deploys
