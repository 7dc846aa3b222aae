"""Applying the plan's Helm releases and Kubernetes objects to the cluster: every chart and
manifest of the lab is made here."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_eks_v2 as eks

from constructs import Construct
from plan.charts import HelmRelease


def helm_chart(
    scope: Construct,
    construct_id: str,
    *,
    cluster: eks.ICluster,
    release: HelmRelease,
    timeout: Duration | None = None,
) -> eks.HelmChart:
    """Install `release` (its namespace created if missing); `timeout` bounds its wait."""
    options: dict[str, Any] = {}
    if release.wait:
        options.update(wait=True, timeout=timeout)
    return eks.HelmChart(
        scope,
        construct_id,
        cluster=cluster,
        repository=release.repository,
        chart=release.chart,
        version=release.version,
        release=release.release,
        namespace=release.namespace,
        values=dict(release.values),
        create_namespace=True,
        **options,
    )


def manifest(
    scope: Construct,
    construct_id: str,
    *,
    cluster: eks.ICluster,
    objects: Iterable[dict[str, Any]],
    overwrite: bool | None = None,
) -> eks.KubernetesManifest:
    """Apply `objects` with `kubectl apply`."""
    return eks.KubernetesManifest(
        scope, construct_id, cluster=cluster, manifest=list(objects), overwrite=overwrite
    )
