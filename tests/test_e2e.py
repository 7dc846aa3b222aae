"""`make e2e`: the phases run in order with fake commands (a failure skips the checks but
never the destroy and the scan, unless KEEP=1), the CloudFormation reasons of failed
resources, and the report's shape. Nothing here talks to AWS."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from plan import facts
from scripts import e2e

NAMES = ["deploy", "kubeconfig", "doctor", "targets", "smoke", "kiali", "destroy", "leftovers"]


class FakeCommands:
    """Answers each phase's command by its name; records the order."""

    def __init__(self, failing: set[str] = frozenset(), outputs: dict[str, str] | None = None):
        self.failing = failing
        self.outputs = outputs or {}
        self.ran: list[str] = []

    def __call__(self, command: list[str]) -> tuple[int, str]:
        name = command[0]
        self.ran.append(name)
        return (1 if name in self.failing else 0), self.outputs.get(name, f"{name} output\n")


def fake_plan() -> list[e2e.Phase]:
    return [e2e.Phase(name, [name], always=name in ("destroy", "leftovers")) for name in NAMES]


def ticking():
    moments = iter(range(0, 10_000, 60))
    return lambda: float(next(moments))


def test_the_phases_are_the_ones_a_real_run_needs(tmp_path):
    allowed = ["-c", "allowedCidrs=81.2.69.160/32"]
    plan = e2e.phases(tmp_path / "outputs.json", "bookinfo-lab", allowed)
    # the deploy lets in the address make deploy would (scripts/allowed_cidrs.py)
    assert plan[0].command[plan[0].command.index("allowedCidrs=81.2.69.160/32") - 1] == "-c"
    assert [p.name for p in plan] == NAMES
    assert [p.name for p in plan if p.always] == ["destroy", "leftovers"]
    deploy = plan[0].command
    assert deploy[-2:] == ["--outputs-file", str(tmp_path / "outputs.json")]
    assert "--require-approval" in deploy and "never" in deploy


def test_every_phase_runs_when_all_pass():
    commands = FakeCommands()
    results = e2e.run_phases(fake_plan(), keep=False, runner=commands, clock=ticking())
    assert commands.ran == NAMES
    assert all(r.passed for r in results)
    assert all(r.seconds == 60.0 for r in results)


def test_a_failing_smoke_still_destroys_and_scans():
    commands = FakeCommands(failing={"smoke"})
    results = e2e.run_phases(fake_plan(), keep=False, runner=commands, clock=ticking())
    assert commands.ran == [n for n in NAMES if n != "kiali"]
    smoke = results[4]
    assert (smoke.passed, smoke.exit_status) == (False, 1)
    # kiali, after smoke, is skipped; the destroy and the scan are not.
    assert [r.name for r in results if r.skipped_because] == ["kiali"]


def test_a_failed_deploy_skips_the_checks_but_not_the_destroy():
    commands = FakeCommands(failing={"deploy"})
    results = e2e.run_phases(fake_plan(), keep=False, runner=commands, clock=ticking())
    assert commands.ran == ["deploy", "destroy", "leftovers"]
    assert [r.skipped_because for r in results[1:6]] == ["deploy failed"] * 5


def test_keep_keeps_the_lab():
    commands = FakeCommands(failing={"doctor"})
    results = e2e.run_phases(fake_plan(), keep=True, runner=commands, clock=ticking())
    assert commands.ran == ["deploy", "kubeconfig", "doctor"]
    assert [r.skipped_because for r in results[3:]] == [
        "doctor failed",
        "doctor failed",
        "doctor failed",
        "KEEP=1 keeps the lab",
        "KEEP=1 keeps the lab",
    ]


def outputs_file(tmp_path, cluster="bookinfo-lab", **settings) -> object:
    path = tmp_path / "outputs.json"
    path.write_text(
        json.dumps(
            {
                facts.lab_stacks(cluster).cluster: {
                    facts.SETTINGS_OUTPUT: json.dumps(
                        {
                            "clusterName": cluster,
                            "bookinfoNamespace": "bookinfo",
                            **settings,
                        }  # fmt: skip
                    ),
                    facts.KUBECONFIG_OUTPUT: "aws eks update-kubeconfig --name bookinfo-lab "
                    "--region us-east-1 --role-arn arn:aws:iam::1:role/Admin",
                }
            }
        )
    )
    return path


def commands_run(path, cluster: str, keep: bool) -> list[list[str]]:
    """The commands of every phase of lab `cluster`, each succeeding, as prepared from the
    outputs file `path`."""
    plan = e2e.phases(path, cluster)
    commands = []
    e2e.run_phases(
        plan,
        keep=keep,
        runner=lambda command: (commands.append(command), (0, "[]"))[1],
        before=e2e.prepare(plan, path, cluster),
    )
    return commands


@pytest.mark.parametrize(
    ("settings", "traces"),
    [
        ({"tracing": "jaeger", "dataplane": "sidecar"}, True),
        ({"tracing": "none", "dataplane": "sidecar"}, False),
        ({"tracing": "zipkin", "dataplane": "ambient"}, False),
    ],
)
def test_the_kubeconfig_and_smokes_traces_come_from_what_was_deployed(tmp_path, settings, traces):
    commands = commands_run(outputs_file(tmp_path, **settings), "bookinfo-lab", keep=True)
    assert commands[1][:3] == ["aws", "eks", "update-kubeconfig"]
    assert commands[3][-2:] == ["--cluster", "bookinfo-lab"]
    assert ("--traces" in commands[4]) is traces
    assert commands[5][-2:] == ["--namespace", "bookinfo"]


def test_the_failed_resources_reasons_are_reported_and_nothing_else():
    client = boto3.client("cloudformation", region_name="us-east-1")
    stubber = Stubber(client)
    event = {
        "StackId": "arn:aws:cloudformation:us-east-1:1:stack/x/1",
        "EventId": "1",
        "StackName": facts.DEFAULT_STACKS.cluster,
        "Timestamp": "2026-12-01T00:00:00Z",
    }
    stubber.add_response(
        "describe_stack_events",
        {
            "StackEvents": [
                {**event, "LogicalResourceId": "Istiod", "ResourceType": "Custom::X",
                 "ResourceStatus": "CREATE_FAILED", "ResourceStatusReason": "helm timed out",
                 "ResourceProperties": '{"Values": "secret"}'},
                {**event, "LogicalResourceId": "Nodes", "ResourceType": "AWS::EKS::Nodegroup",
                 "ResourceStatus": "CREATE_COMPLETE"},
            ]
        },
        {"StackName": facts.DEFAULT_STACKS.cluster},
    )  # fmt: skip
    with stubber:
        events = e2e.failed_resource_events(client, [facts.DEFAULT_STACKS.cluster])
    assert events == [
        {
            "stack": facts.DEFAULT_STACKS.cluster,
            "resource": "Istiod",
            "type": "Custom::X",
            "status": "CREATE_FAILED",
            "reason": "helm timed out",
        }
    ]


def test_the_report_says_what_passed_what_took_how_long_and_what_is_left(tmp_path):
    left = [{"what": "log group X", "command": "aws logs delete-log-group --log-group-name X",
             "the_labs": True}]  # fmt: skip
    commands = FakeCommands(
        failing={"leftovers"}, outputs={"leftovers": json.dumps(left, indent=1) + "\n"}
    )
    results = e2e.run_phases(fake_plan(), keep=False, runner=commands, clock=ticking())
    document = e2e.report(
        results,
        settings={"scenario": "round-robin"},
        versions={"commit": "abc1234"},
        events=[],
        leftovers=e2e.leftovers_of(results[-1]),
    )
    assert set(document) == {
        "versions", "settings", "stack_deploy_seconds", "phases", "passed",
        "failed_resources", "leftovers",
    }  # fmt: skip
    assert document["passed"] is False
    assert document["leftovers"] == left
    phase = document["phases"][0]
    assert set(phase) == {
        "name", "command", "passed", "exit_status", "seconds", "output_tail", "skipped_because"
    }  # fmt: skip
    text = e2e.summary(document)
    assert text.splitlines()[0] == "make e2e: FAILED"
    assert "  deploy     ok in 1.0 min" in text
    assert "  leftovers  failed (exit 1) in 1.0 min" in text
    assert "    log group X: aws logs delete-log-group --log-group-name X" in text
    e2e.write(document, tmp_path)
    assert json.loads((tmp_path / "report.json").read_text()) == document
    assert (tmp_path / "summary.txt").read_text() == text


def test_a_kept_lab_passes_without_destroy_or_scan():
    results = e2e.run_phases(fake_plan(), keep=True, runner=FakeCommands(), clock=ticking())
    document = e2e.report(results, settings={}, versions={}, events=[], leftovers=None)
    assert document["passed"] is True
    text = e2e.summary(document)
    assert "  destroy    skipped (KEEP=1 keeps the lab)" in text
    assert "  leftovers:" not in text


def test_the_reports_are_not_committed():
    from tests.conftest import PROJECT_ROOT

    assert "e2e-reports/" in (PROJECT_ROOT / ".gitignore").read_text().splitlines()


def test_bench_takes_the_measured_times_of_committed_reports(tmp_path):
    from bench.run import measured_lines, measured_runs

    results = e2e.run_phases(fake_plan(), keep=False, runner=FakeCommands(), clock=ticking())
    document = e2e.report(
        results, settings={"dataplane": "sidecar"}, versions={}, events=[], leftovers=[]
    )
    (tmp_path / "2026-12-03-us-east-1.json").write_text(json.dumps(document))
    runs = measured_runs(tmp_path)
    assert runs == [
        {"file": "2026-12-03-us-east-1.json", "settings": {"dataplane": "sidecar"},
         "deploy": 1.0, "destroy": 1.0}
    ]  # fmt: skip
    assert "| 2026-12-03-us-east-1.json | 1.0 min | 1.0 min | dataplane=sidecar |" in (
        measured_lines(runs)
    )
    assert measured_lines(measured_runs(tmp_path / "none"))[0].startswith(
        "No deploy has been measured yet"
    )


def test_each_stacks_deploy_time_is_read_from_the_cdk_clis_output():
    output = (
        "BookinfoLab-Network: deploying... [1/2]\n"
        " ✅  BookinfoLab-Network\n\n✨  Deployment time: 163.62s\n\nOutputs:\n"
        " ✅  BookinfoLab-Cluster\n\n✨  Deployment time: 1432.1s\n"
    )
    assert e2e.stack_seconds(output) == {
        "BookinfoLab-Network": 163.62,
        "BookinfoLab-Cluster": 1432.1,
    }


def test_every_phase_acts_on_the_lab_named(tmp_path):
    # GIVEN a second lab's deploy outputs beside the default's stack name
    path = outputs_file(tmp_path, cluster="second-lab", tracing="jaeger", dataplane="sidecar")
    commands = commands_run(path, "second-lab", keep=False)
    by_phase = dict(zip(NAMES, commands, strict=True))
    # THEN the deploy names it to the CDK, every check and the scan to the scripts, the
    # destroy to make, and the kubeconfig and traces come from its own stack's outputs
    assert by_phase["deploy"][by_phase["deploy"].index("-c") + 1] == "clusterName=second-lab"
    for name in ("doctor", "targets", "smoke", "leftovers"):
        command = by_phase[name]
        assert command[command.index("--cluster") + 1] == "second-lab", name
    assert "CLUSTER=second-lab" in by_phase["destroy"]
    assert by_phase["kubeconfig"][:3] == ["aws", "eks", "update-kubeconfig"]
    assert "--traces" in by_phase["smoke"]
