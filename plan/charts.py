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
    no_services: the evidence, when there is some, that the chart renders no Service, so that
        it need not wait for the load balancer controller's Service webhook; None for a chart
        that may create one (most do).
    """

    repository: str
    chart: str
    version: str
    release: str
    namespace: str
    values: Mapping[str, Any]
    wait: bool = False
    no_services: str | None = None
