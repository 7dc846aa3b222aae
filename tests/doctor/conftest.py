"""The doctor's fixtures."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.doctor import fake_kubectl as fake


@pytest.fixture
def fake_kubectl(tmp_path) -> Callable[[dict], str]:
    """`fake_kubectl(state)` serves `state` and returns the kubectl to run."""
    return lambda state: str(fake.install(tmp_path / "kubectl-bin", state))
