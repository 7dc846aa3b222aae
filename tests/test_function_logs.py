"""No log group outlives the lab: every Lambda function, the ones aws-cdk-lib generates
included, logs into a log group of its own stack that is deleted after it."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from constructs.function_logs import FunctionLogGroups


def every_template(assembly_dir: Path) -> dict[str, dict]:
    """Every template of the cloud assembly, any nested stack's included."""
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(assembly_dir.glob("*.template.json"))
    }


def check_function_logs(templates: dict[str, dict]) -> list[str]:
    """One line per function or log group that would outlive a destroy."""
    problems = []
    for name, template in templates.items():
        resources = template.get("Resources", {})
        for logical_id, resource in resources.items():
            where = f"{name}: {logical_id}"
            if resource["Type"] == "AWS::Logs::LogGroup":
                if resource.get("DeletionPolicy") != "Delete":
                    problems.append(f"{where}: log group kept on delete")
                if not 1 <= resource["Properties"].get("RetentionInDays", 10**6) <= 7:
                    problems.append(f"{where}: retention not within a week")
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            group = resource["Properties"].get("LoggingConfig", {}).get("LogGroup")
            # A Ref makes the function wait for the group: created before, deleted after it.
            if not (isinstance(group, dict) and set(group) == {"Ref"}):
                problems.append(f"{where}: logs to no log group of its stack ({group})")
            elif resources.get(group["Ref"], {}).get("Type") != "AWS::Logs::LogGroup":
                problems.append(f"{where}: LoggingConfig names no log group of this template")
    return problems


def test_every_function_of_the_lab_logs_into_a_group_deleted_after_it(synthesized):
    templates = every_template(Path(synthesized.assembly.directory))
    assert len(templates) >= 2
    functions = sum(
        resource["Type"] == "AWS::Lambda::Function"
        for template in templates.values()
        for resource in template["Resources"].values()
    )
    assert functions >= 8, "the provider frameworks' and CDK's own functions count"
    assert check_function_logs(templates) == []


def test_the_check_finds_a_function_with_an_implicit_log_group(tmp_path):
    # GIVEN a function without the aspect, and one with it
    app = cdk.App(outdir=str(tmp_path))
    bare = cdk.Stack(app, "Bare")
    covered = cdk.Stack(app, "Covered")
    for stack in (bare, covered):
        lambda_.Function(
            stack,
            "Function",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="index.handler",
            code=lambda_.Code.from_inline("def handler(*_): pass"),
        )
    cdk.Aspects.of(covered).add(FunctionLogGroups())

    # WHEN both are synthesized THEN only the first one is reported
    templates = {
        stack.stack_name: Template.from_stack(stack).to_json() for stack in (bare, covered)
    }
    problems = check_function_logs(templates)
    assert problems and all(line.startswith("Bare: ") for line in problems)
