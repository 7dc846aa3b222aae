"""What the lab's pods ask of the nodes, and what the nodes offer.

Every construct that starts pods says which, with their requests taken from the same values
or objects it deploys them with (a chart's `resources` value, a manifest's containers, the
sidecar's requests for injected pods). The cluster stack adds them up; a test checks that
the default node group holds them with room for the Istio Tasks' own sample apps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_CPU = re.compile(r"^(\d+(?:\.\d+)?)(m?)$")
_MEMORY = re.compile(r"^(\d+)(Mi|Gi)$")


@dataclass(frozen=True)
class Requests:
    cpu_millicores: int = 0
    memory_mib: int = 0

    @classmethod
    def of(cls, resources: Mapping[str, Any] | None) -> Requests:
        """The `requests` of a Kubernetes `resources` block ("100m", "0.5"; "128Mi", "1Gi")."""
        requests = (resources or {}).get("requests", {})
        cpu = memory = 0
        if "cpu" in requests:
            match = _CPU.match(str(requests["cpu"]))
            if not match:
                raise ValueError(f"unreadable CPU request {requests['cpu']!r}")
            cpu = round(float(match[1]) * (1 if match[2] else 1000))
        if "memory" in requests:
            match = _MEMORY.match(str(requests["memory"]))
            if not match:
                raise ValueError(f"unreadable memory request {requests['memory']!r}")
            memory = int(match[1]) * (1024 if match[2] == "Gi" else 1)
        return cls(cpu, memory)

    def __add__(self, other: Requests) -> Requests:
        return Requests(
            self.cpu_millicores + other.cpu_millicores, self.memory_mib + other.memory_mib
        )

    def times(self, count: int) -> Requests:
        return Requests(self.cpu_millicores * count, self.memory_mib * count)


@dataclass(frozen=True)
class Pods:
    """`count` pods of `what`, each requesting `requests` (all its containers, a sidecar
    included); `per_node` pods are a DaemonSet's, `count` of them on every node."""

    what: str
    requests: Requests
    count: int = 1
    per_node: bool = False

    def total(self, nodes: int) -> tuple[Requests, int]:
        pods = self.count * (nodes if self.per_node else 1)
        return self.requests.times(pods), pods


def pods_of_manifest(
    objects: Iterable[Mapping[str, Any]], *, sidecar: Requests | None
) -> list[Pods]:
    """The pods of the Deployments among `objects`; `sidecar` is added to each when the
    pods are injected."""
    pods = []
    for obj in objects:
        if obj.get("kind") != "Deployment":
            continue
        spec = obj["spec"]
        requests = Requests()
        for container in spec["template"]["spec"]["containers"]:
            requests += Requests.of(container.get("resources"))
        if sidecar is not None:
            requests += sidecar
        pods.append(Pods(f"{obj['metadata']['name']}", requests, spec.get("replicas", 1)))
    return pods


@dataclass(frozen=True)
class NodeType:
    """What one node of an instance type offers pods (the kubelet's allocatable)."""

    name: str
    allocatable: Requests
    max_pods: int


# m5.large: 2 vCPU, 8 GiB. Allocatable as the EKS AMIs compute it: CPU minus kube-reserved
# (6% of the first core, 1% of the second: 70m); memory as the kubelet reports it on this
# type (about 7.5 GiB after the kernel's share) minus kube-reserved (255Mi + 11Mi per pod
# at 29 pods: 574Mi) and the 100Mi hard eviction threshold. 29 pods: the VPC CNI's limit
# for 3 network interfaces of 10 addresses.
NODE_TYPES: Mapping[str, NodeType] = {
    "m5.large": NodeType("m5.large", Requests(2000 - 70, 7680 - 574 - 100), 29),
}

# Pods EKS runs on every cluster of this shape, with the requests of its default add-ons:
# the VPC CNI (aws-node) and kube-proxy on every node, CoreDNS twice.
EKS_SYSTEM_PODS: tuple[Pods, ...] = (
    Pods("aws-node", Requests(25, 0), per_node=True),
    Pods("kube-proxy", Requests(100, 0), per_node=True),
    Pods("coredns", Requests(100, 70), count=2),
)


def sample_app_headroom(sidecar: Requests) -> Pods:
    """Room for the sample apps the Istio Tasks apply (httpbin, curl, fortio, helloworld
    v1/v2 at most at a time): four injected pods whose apps request nothing themselves."""
    return Pods("room for the Tasks' sample apps", sidecar, count=4)


def add_up(pods: Iterable[Pods], nodes: int) -> tuple[Requests, int]:
    total, count = Requests(), 0
    for entry in pods:
        requests, pod_count = entry.total(nodes)
        total += requests
        count += pod_count
    return total, count
