"""Fixtures for the smoke check: fake productpage servers and an in-process run of the tool."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from smoke.cli import main
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
