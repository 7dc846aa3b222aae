"""Two checks of `make e2e` that only a deployed lab can answer.

    python -m scripts.e2e_checks targets --cluster NAME [--wait SECONDS]
    python -m scripts.e2e_checks kiali --namespace NS [--wait SECONDS]

`targets`: every target group the load balancer controller made for the cluster (tag
elbv2.k8s.aws/cluster) has a healthy target, i.e. the NLB reaches the gateway pods.
`kiali`: Kiali's graph of Bookinfo's namespace has Bookinfo's apps in it, i.e. Kiali reads
the mesh's metrics from Prometheus (run it after traffic, e.g. after `make smoke`).
Each asks again until it passes or SECONDS have passed.

Exit status: 0 passed, 1 did not, 2 could not ask.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from plan.observability import KIALI, KIALI_WEB_ROOT
from smoke.traces import PortForward, TracesError, TracingApi

CONTROLLER_CLUSTER_TAG = "elbv2.k8s.aws/cluster"
# What Kiali must show of Bookinfo: the apps every product page request passes.
BOOKINFO_APPS = ("productpage", "details", "reviews")


def cluster_target_groups(elbv2, cluster: str) -> list[str]:
    arns = [
        group["TargetGroupArn"]
        for page in elbv2.get_paginator("describe_target_groups").paginate()
        for group in page["TargetGroups"]
    ]
    ours = []
    for start in range(0, len(arns), 20):  # DescribeTags takes 20 at a time
        described = elbv2.describe_tags(ResourceArns=arns[start : start + 20])
        for entry in described["TagDescriptions"]:
            tags = {t["Key"]: t["Value"] for t in entry.get("Tags", [])}
            if tags.get(CONTROLLER_CLUSTER_TAG) == cluster:
                ours.append(entry["ResourceArn"])
    return ours


def target_health(elbv2, cluster: str) -> dict[str, tuple[int, int]]:
    """Target group ARN -> (healthy targets, targets)."""
    health = {}
    for arn in cluster_target_groups(elbv2, cluster):
        states = [
            d["TargetHealth"]["State"]
            for d in elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
        ]
        health[arn] = (states.count("healthy"), len(states))
    return health


def targets_healthy(health: dict[str, tuple[int, int]]) -> bool:
    return bool(health) and all(healthy > 0 for healthy, _ in health.values())


def graph_url(base: str, namespace: str) -> str:
    query = {"namespaces": namespace, "graphType": "versionedApp", "duration": "600s"}
    return f"{base}{KIALI_WEB_ROOT}/api/namespaces/graph?{urllib.parse.urlencode(query)}"


def graph_apps(document: dict[str, Any]) -> set[str]:
    """The apps of the nodes of a Kiali graph (its cytoscape JSON)."""
    nodes = (document.get("elements") or {}).get("nodes") or []
    return {n["data"]["app"] for n in nodes if n.get("data", {}).get("app")}


def until(
    check: Callable[[], tuple[bool, str]], wait_s: float, *, sleep=time.sleep
) -> tuple[bool, str]:
    deadline = time.monotonic() + wait_s
    while True:
        passed, said = check()
        if passed or time.monotonic() >= deadline:
            return passed, said
        sleep(min(10.0, max(0.0, deadline - time.monotonic())))


def _targets(args) -> int:
    elbv2 = boto3.client("elbv2")

    def check() -> tuple[bool, str]:
        health = target_health(elbv2, args.cluster)
        lines = [f"target group {arn.rsplit('/', 2)[-2]}: {h} of {n} healthy"
                 for arn, (h, n) in health.items()]  # fmt: skip
        return targets_healthy(health), "\n".join(lines) or "no target group of the cluster"

    try:
        passed, said = until(check, args.wait)
    except (BotoCoreError, ClientError) as error:
        print(f"targets: could not ask: {error}", file=sys.stderr)
        return 2
    print(said)
    return 0 if passed else 1


def _kiali(args) -> int:
    api = TracingApi("kiali", KIALI.name, KIALI.port, KIALI.namespace)

    def check_with(base: str) -> Callable[[], tuple[bool, str]]:
        def check() -> tuple[bool, str]:
            with urllib.request.urlopen(graph_url(base, args.namespace), timeout=30) as response:
                apps = graph_apps(json.loads(response.read().decode("utf-8")))
            missing = missing_apps(apps)
            said = f"Kiali's graph of {args.namespace}: {', '.join(sorted(apps)) or 'empty'}"
            return not missing, said + (f" (missing {', '.join(missing)})" if missing else "")

        return check

    try:
        with PortForward(api) as forward:
            passed, said = until(check_with(forward.base_url), args.wait)
    except (TracesError, OSError, ValueError) as error:
        print(f"kiali: could not ask: {error}", file=sys.stderr)
        return 2
    print(said)
    return 0 if passed else 1


def missing_apps(apps: Iterable[str]) -> list[str]:
    return [app for app in BOOKINFO_APPS if app not in set(apps)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.e2e_checks", description=__doc__)
    commands = parser.add_subparsers(dest="check", required=True)
    targets = commands.add_parser("targets")
    targets.add_argument("--cluster", required=True)
    targets.add_argument("--wait", type=float, default=300)
    kiali = commands.add_parser("kiali")
    kiali.add_argument("--namespace", required=True)
    kiali.add_argument("--wait", type=float, default=120)
    args = parser.parse_args(argv)
    return _targets(args) if args.check == "targets" else _kiali(args)


if __name__ == "__main__":
    sys.exit(main())
