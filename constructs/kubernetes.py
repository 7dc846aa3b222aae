"""Applying the plan's Helm releases and Kubernetes objects to the cluster.

Every chart and manifest of the lab is made here, so the rule of the load balancer
controller's Service webhook is applied in one place: what may create a Service is held by
the `service_webhook` barrier, and only a chart whose release carries the evidence that it
renders no Service (`HelmRelease.no_services`) starts without it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_eks_v2 as eks

from constructs import Construct
from constructs.barriers import Barrier
from constructs.service_webhook import creates_no_services
from plan.charts import HelmRelease


def helm_chart(
    scope: Construct,
    construct_id: str,
    *,
    cluster: eks.ICluster,
    release: HelmRelease,
    service_webhook: Barrier,
    timeout: Duration | None = None,
) -> eks.HelmChart:
    """Install `release` (its namespace created if missing); `timeout` bounds its wait."""
    options: dict[str, Any] = {}
    if release.wait:
        options.update(wait=True, timeout=timeout)
    chart = eks.HelmChart(
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
    if release.no_services is None:
        service_webhook.hold(chart)
    else:
        creates_no_services(chart, release.no_services)
    return chart


def manifest(
    scope: Construct,
    construct_id: str,
    *,
    cluster: eks.ICluster,
    objects: Iterable[dict[str, Any]],
    service_webhook: Barrier,
    overwrite: bool | None = None,
) -> eks.KubernetesManifest:
    """Apply `objects` with `kubectl apply`; held by the Service webhook's barrier, since a
    manifest may hold a Service (or a Gateway API Gateway, whose Service istiod creates)."""
    applied = eks.KubernetesManifest(
        scope, construct_id, cluster=cluster, manifest=list(objects), overwrite=overwrite
    )
    service_webhook.hold(applied)
    return applied
