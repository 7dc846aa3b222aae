"""What the lab's pods ask of the nodes, and what the nodes offer.

Every part of the plan that starts pods says which, with their requests taken from the same
values or objects it deploys them with (a chart's `resources` value, a manifest's containers,
the sidecar's requests for injected pods). The plan adds them up and refuses, at synth, a node
group that cannot hold them with room for the Istio Tasks' own sample apps.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
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
class InstanceType:
    """An EC2 instance type as EC2 describes it, with the VPC CNI's limit on pods: its network
    interfaces times their IPv4 addresses less the interface's own, plus the two host-network
    pods (aws-node, kube-proxy), as in the VPC CNI's misc/eni-max-pods.txt."""

    name: str
    vcpus: int
    memory_mib: int
    interfaces: int
    ipv4_per_interface: int

    @property
    def max_pods(self) -> int:
        return self.interfaces * (self.ipv4_per_interface - 1) + 2

    @property
    def allocatable(self) -> Requests:
        """What the kubelet of an Amazon Linux 2023 EKS node offers pods, as nodeadm
        configures it (awslabs/amazon-eks-ami, nodeadm/internal/kubelet/config.go):
        kube-reserved CPU of 6% of the first core, 1% of the second, 0.5% of the third and
        fourth and 0.25% of every further one; kube-reserved memory of 255Mi plus 11Mi per
        pod; a hard eviction threshold of 100Mi; no system-reserved. Of the instance's
        memory, the kubelet sees what the kernel leaves, estimated as Karpenter does
        (VM_MEMORY_OVERHEAD_PERCENT, default 7.5%; aws/karpenter-provider-aws): real nodes
        report a little more, so the check errs on the safe side."""
        reserved_cpu = sum(
            share * min(max(self.vcpus - first, 0), cores) * 1000 // 10_000
            for first, cores, share in ((0, 1, 600), (1, 1, 100), (2, 2, 50), (4, 10**6, 25))
        )
        capacity_mib = self.memory_mib - math.ceil(self.memory_mib * KERNEL_MEMORY_SHARE)
        reserved_mib = 255 + 11 * self.max_pods
        return Requests(
            self.vcpus * 1000 - reserved_cpu, capacity_mib - reserved_mib - EVICTION_HARD_MIB
        )


KERNEL_MEMORY_SHARE = 0.075
EVICTION_HARD_MIB = 100


def _types(*rows: tuple[str, int, int, int, int]) -> Mapping[str, InstanceType]:
    return MappingProxyType({row[0]: InstanceType(*row) for row in rows})


# x86_64 types only: the lab's images were not checked for arm64 builds. vCPUs and memory as
# EC2 describes the type; interfaces and IPv4 addresses per interface from the VPC CNI's
# pkg/vpc/vpc_ip_resource_limit.go (aws/amazon-vpc-cni-k8s, v1.23.1).
INSTANCE_TYPES: Mapping[str, InstanceType] = _types(
    ("t3.medium", 2, 4096, 3, 6),
    ("t3.large", 2, 8192, 3, 12),
    ("t3.xlarge", 4, 16384, 4, 15),
    ("m5.large", 2, 8192, 3, 10),
    ("m5.xlarge", 4, 16384, 4, 15),
    ("m5.2xlarge", 8, 32768, 4, 15),
    ("m6i.large", 2, 8192, 3, 10),
    ("m6i.xlarge", 4, 16384, 4, 15),
    ("m6i.2xlarge", 8, 32768, 4, 15),
    ("m7i.large", 2, 8192, 3, 10),
    ("m7i.xlarge", 4, 16384, 4, 15),
    ("m6a.large", 2, 8192, 3, 10),
    ("m6a.xlarge", 4, 16384, 4, 15),
    ("m7a.large", 2, 8192, 3, 10),
    ("m7a.xlarge", 4, 16384, 4, 15),
    ("c5.xlarge", 4, 8192, 4, 15),
    ("c6i.xlarge", 4, 8192, 4, 15),
    ("r5.large", 2, 16384, 3, 10),
    ("r6i.large", 2, 16384, 3, 10),
)


# Pods EKS runs on every cluster of this shape, with the requests of its default add-ons:
# the VPC CNI (aws-node: its aws-node and aws-eks-nodeagent containers ask 25m each) and
# kube-proxy on every node, CoreDNS twice.
EKS_SYSTEM_PODS: tuple[Pods, ...] = (
    Pods("aws-node", Requests(50, 0), per_node=True),
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
