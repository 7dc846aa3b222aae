"""Builds the lab's stacks into an app; shared by app.py and the tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import App, CrossStackReferences, ReferenceStrength

from checks.istio_analyzer import (
    AnalysisError,
    Finding,
    GatewayApiWorkload,
    GatewayWorkload,
    ServicePort,
    analyze,
)
from constructs.bookinfo_routing import RESERVED_SUBSETS
from constructs.data_plane import DataPlane
from constructs.function_logs import FunctionLogGroups
from constructs.ingress_gateway import GatewayApiIngress, IngressGateway
from constructs.tree_walk import visit_tree
from stacks.cluster_stack import ClusterStack
from stacks.config import LabConfig
from stacks.nag import acknowledge_lab_findings, enable_nag_checks
from stacks.network_stack import NetworkStack

NETWORK_STACK_NAME = "BookinfoLab-Network"
CLUSTER_STACK_NAME = "BookinfoLab-Cluster"


def new_app(**props) -> App:
    """The CDK app the lab is built in (app.py's, and the tests').

    aws-cdk-lib's built-in CloudFormation validation is off: it re-checks every template on
    every synth (about half of the lab's synth time) and only warns, while `make test` runs
    cfn-lint on the same templates and fails on any error or warning
    (tests/test_cfn_lint.py).
    """
    return App(builtin_cloud_formation_validation=False, **props)


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
    lab = Lab(network=network, cluster=cluster)
    # Every function's logs, the generated ones' included, go with the stacks on destroy.
    visit_tree(app, FunctionLogGroups())
    check_istio_config(lab)
    # Recorded on every synth (inert metadata without the checks), so the tests check the
    # same tree as `cdk synth -c nag=true`.
    acknowledge_lab_findings(lab)
    if config.nag:
        enable_nag_checks(app)
    return lab


def gateway_workload(gateway: IngressGateway) -> GatewayWorkload:
    """The gateway as the istio/gateway chart deploys it: a Service named after the release."""
    return GatewayWorkload(
        namespace=gateway.namespace,
        service_name=gateway.release,
        pod_labels=dict(gateway.labels),
        ports=tuple(ServicePort(p.port, p.target_port) for p in gateway.service_ports),
    )


def gateway_api_workload(ingress: GatewayApiIngress) -> GatewayApiWorkload:
    """The Service istiod generates for the Gateway: the status port first, then the
    listener's port."""
    return GatewayApiWorkload(
        namespace=ingress.namespace,
        gateway_name=ingress.name,
        service_name=ingress.service_name,
        ports=(ingress.nlb.status_port.port, ingress.listen_port),
    )


def istio_findings(
    objects: Iterable[Mapping[str, Any]],
    *,
    ingress: IngressGateway | GatewayApiIngress,
    data_plane: DataPlane,
    namespace: str,
    reserved_subsets: Mapping[str, Iterable[str]] = RESERVED_SUBSETS,
) -> list[Finding]:
    """The analyzer's findings for `objects`, applied with this ingress and data plane
    (Bookinfo's namespace labelled by it)."""
    return analyze(
        objects,
        gateways=[gateway_workload(ingress)] if isinstance(ingress, IngressGateway) else [],
        gateway_api_workloads=(
            [gateway_api_workload(ingress)] if isinstance(ingress, GatewayApiIngress) else []
        ),
        reserved_subsets=reserved_subsets,
        namespace_labels={namespace: data_plane.namespace_labels},
    )


def check_istio_config(lab: Lab) -> None:
    """Fail the synth, naming object and rule, if the applied Istio config would not work."""
    cluster = lab.cluster
    findings = istio_findings(
        cluster.applied_objects,
        ingress=cluster.ingress,
        data_plane=cluster.data_plane,
        namespace=cluster.bookinfo.namespace_name,
    )
    if findings:
        raise AnalysisError(findings)
