"""A Helm release as the plan describes it: where the chart comes from, its pinned version,
where it is installed and the values it gets. Constructs install it as it is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HelmRelease:
    """
    wait: whether the install waits for the release's workloads to be ready (and its
        uninstall for its resources to be gone).
    """

    repository: str
    chart: str
    version: str
    release: str
    namespace: str
    values: Mapping[str, Any]
    wait: bool = False
