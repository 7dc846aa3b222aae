"""Fixtures for the smoke check: fake productpage servers and an in-process run of the tool."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from plan import facts
from smoke.cli import main
from tests.istio_objects import lab_plan
from tests.smoke.fake_productpage import PROXY_VARIABLES, FakeProductpage, Policy


@pytest.fixture(autouse=True)
def _direct_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib honours proxy variables; the tests' traffic must go straight to 127.0.0.1."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def productpage() -> Iterator[Callable[..., FakeProductpage]]:
    """Starts fake productpage servers: `productpage(policy, **options)`; all stop after."""
    servers: list[FakeProductpage] = []

    def start(policy: Policy, **options) -> FakeProductpage:
        server = FakeProductpage(policy, **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def smoke(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """Runs `python -m smoke ARGS` in-process and returns its exit code and output."""

    def run(*argv: str) -> Run:
        code = main(list(argv))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def fake_aws(directory: Path, *, stdout: str = "", stderr: str = "", status: int = 0) -> Path:
    """A directory with an `aws` that records its arguments (in `args`) and answers as told."""
    directory.mkdir(exist_ok=True)
    (directory / "answer").write_text(stdout, encoding="utf-8")
    (directory / "complaint").write_text(stderr, encoding="utf-8")
    script = directory / "aws"
    cat = shutil.which("cat")
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > "{directory}/args"\n'
        f'{cat} "{directory}/answer"\n'
        f'{cat} "{directory}/complaint" >&2\n'
        f"exit {status}\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return directory


def stack_outputs(url: str | None, settings: dict[str, Any] | None) -> str:
    """What `aws cloudformation describe-stacks --query Stacks[0].Outputs --output json`
    prints for a lab deployed at `url` with these settings (None: no such output)."""
    outputs = []
    if url is not None:
        outputs.append({"OutputKey": facts.BOOKINFO_URL_OUTPUT, "OutputValue": url})
    if settings is not None:
        outputs.append({"OutputKey": facts.SETTINGS_OUTPUT, "OutputValue": json.dumps(settings)})
    return json.dumps(outputs)


@pytest.fixture
def on_path(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], Path]:
    """Puts a directory first on PATH."""

    def put(directory: Path) -> Path:
        monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ['PATH']}")
        return directory

    return put


@pytest.fixture
def deployed_lab(on_path, tmp_path: Path) -> Callable[..., Path]:
    """Puts a fake `aws` first on PATH that describes a lab deployed at `url` with these
    context keys (`deployed_lab(url, scenario=..., tracing=...)`): the LabSettings output is
    the one the lab's plan makes of them. Returns the fake's directory."""

    def deploy(url: str, **context: Any) -> Path:
        settings = lab_plan(**context).settings
        return on_path(fake_aws(tmp_path / "bin", stdout=stack_outputs(url, settings)))

    return deploy
