"""What the deployed lab says about itself: the outputs of its cluster stack, read with the
AWS CLI. `BookinfoUrl` is where the product page answers; `LabSettings` holds the settings the
lab was deployed with (scenario, tracing, data plane, ...), whatever cdk.json or `-c` said."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from plan.facts import BOOKINFO_URL_OUTPUT, SETTINGS_OUTPUT

AWS_CLI_TIMEOUT_S = 60


class SetupError(Exception):
    """The check cannot run; the message is the one line the user sees."""


@dataclass(frozen=True)
class DeployedLab:
    """stack: the cluster stack's name. outputs: its outputs by key.

    Each value read here stands in for an option of smoke's: the URL for --url, a setting for
    the option of the same name (--scenario, --tracing, --dataplane); an error names it."""

    stack: str
    outputs: Mapping[str, str]

    def output(self, key: str, option: str) -> str:
        value = self.outputs.get(key, "").strip()
        if not value or value == "None":
            raise SetupError(
                f"stack {self.stack} has no output {key}; is it deployed by this version of "
                f"the lab? Or pass {option}"
            )
        return value

    @property
    def url(self) -> str:
        return self.output(BOOKINFO_URL_OUTPUT, "--url")

    def setting(self, key: str) -> str:
        """The deployed value of the context key `key`."""
        option = f"--{key}"
        text = self.output(SETTINGS_OUTPUT, option)
        try:
            settings = json.loads(text)
        except ValueError:
            settings = None
        if not isinstance(settings, dict):
            raise SetupError(f"output {SETTINGS_OUTPUT} of stack {self.stack} is not a JSON object")
        if key not in settings:
            raise SetupError(
                f"output {SETTINGS_OUTPUT} of stack {self.stack} has no {key}; pass {option}"
            )
        return str(settings[key])


def read_stack(stack: str, instead: Sequence[str]) -> DeployedLab:
    """The outputs of `stack`, through the AWS CLI (its credentials and region)."""
    command = [
        "aws",
        "cloudformation",
        "describe-stacks",
        "--stack-name",
        stack,
        "--query",
        "Stacks[0].Outputs",
        "--output",
        "json",
    ]
    hint = f"pass {_options(instead)}"
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=AWS_CLI_TIMEOUT_S, check=False
        )
    except FileNotFoundError:
        raise SetupError(
            f"the AWS CLI (aws) is not on PATH to read the outputs of stack {stack}; {hint}"
        ) from None
    except subprocess.TimeoutExpired:
        raise SetupError(
            f"the AWS CLI did not answer within {AWS_CLI_TIMEOUT_S} s reading stack {stack}; {hint}"
        ) from None
    if done.returncode != 0:
        stderr_lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        reason = stderr_lines[-1] if stderr_lines else f"exit status {done.returncode}"
        raise SetupError(
            f"reading the outputs of stack {stack} in the AWS CLI's region failed: {reason}; {hint}"
        )
    try:
        listed = json.loads(done.stdout or "null") or []
        outputs = {entry["OutputKey"]: str(entry["OutputValue"]) for entry in listed}
    except (ValueError, TypeError, KeyError):
        raise SetupError(f"the AWS CLI's answer for stack {stack} is not its outputs") from None
    return DeployedLab(stack, outputs)


def _options(options: Sequence[str]) -> str:
    return (
        " and ".join(options)
        if len(options) < 3
        else ", ".join(options[:-1]) + " and " + options[-1]
    )
