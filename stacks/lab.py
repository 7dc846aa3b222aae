"""Builds the lab's stacks into an app; shared by app.py and the tests."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import App, CrossStackReferences, ReferenceStrength

from stacks.cluster_stack import ClusterStack
from stacks.config import LabConfig
from stacks.network_stack import NetworkStack

NETWORK_STACK_NAME = "BookinfoLab-Network"
CLUSTER_STACK_NAME = "BookinfoLab-Cluster"


@dataclass(frozen=True)
class Lab:
    network: NetworkStack
    cluster: ClusterStack


def build_lab(app: App, config: LabConfig) -> Lab:
    # Strong references (exports) keep the VPC from being deleted while the cluster stack,
    # and the load balancers its controllers made, still exist.
    CrossStackReferences.of(app).consume(ReferenceStrength.STRONG)
    network = NetworkStack(
        app,
        NETWORK_STACK_NAME,
        config=config,
        description="Istio Bookinfo lab: VPC",
    )
    cluster = ClusterStack(
        app,
        CLUSTER_STACK_NAME,
        config=config,
        vpc=network.vpc,
        description="Istio Bookinfo lab: EKS, AWS Load Balancer Controller, Istio, Kiali, Bookinfo",
    )
    return Lab(network=network, cluster=cluster)
