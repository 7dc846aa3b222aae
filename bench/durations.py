"""Typical durations, in minutes, of creating and deleting each resource type of the lab.

These are estimates of what CloudFormation usually spends per resource in one region, for
the critical-path calculation; they are not measured here (no deploy can run on this
machine). The big ones carry the result: the EKS control plane (about 10-12 minutes to
create, 8-10 to delete), the managed node group (3-4 to create, 5-6 to delete), the NAT
gateway, and Helm releases that wait for their pods.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench.critical_path import critical_path
from constructs.kubernetes_resources import KUBERNETES_RESOURCE_TYPES

# type -> (create, delete)
DURATIONS: Mapping[str, tuple[float, float]] = {
    "AWS::EKS::Cluster": (11.0, 9.0),
    "AWS::EKS::Nodegroup": (3.5, 6.0),
    "AWS::EKS::AccessEntry": (0.2, 0.2),
    # The VPC CNI taken over as an add-on (aws-node rolled on the nodes); kept on delete.
    "AWS::EKS::Addon": (1.5, 0.2),
    "Custom::AWSCDK-EKS-HelmChart": (0.5, 0.5),
    "Custom::AWSCDK-EKS-KubernetesResource": (0.3, 0.3),
    "Custom::AWSCDK-EKS-KubernetesPatch": (0.3, 0.3),
    # Waits for the load balancer controller to give the Service an NLB hostname.
    "Custom::AWSCDK-EKS-KubernetesObjectValue": (0.5, 0.1),
    # Nothing to do on create; on delete, waits until the NLB's interfaces are released.
    "Custom::LoadBalancerCleanup": (0.2, 4.0),
    # Downloads and applies the Gateway API's CRDs, then waits until they are Established.
    "Custom::GatewayApiCrds": (0.5, 0.1),
    # Nothing on create; on delete, deletes the CRDs (and the Gateways with them).
    "Custom::GatewayApiCrdRemoval": (0.1, 0.3),
    # On delete, waits until the load balancer controller has removed a Gateway's NLB.
    "Custom::ServiceRemoval": (0.1, 1.0),
    # Lists the routing objects and deletes the ones no manifest lists any more.
    "Custom::StaleRoutes": (0.3, 0.1),
    "Custom::AWSCDKCfnJson": (0.2, 0.1),
    "AWS::EC2::NatGateway": (2.0, 1.5),
    "AWS::EC2::VPCGatewayAttachment": (0.3, 0.5),
    "AWS::EC2::VPC": (0.3, 0.3),
    "AWS::IAM::Role": (0.3, 0.2),
    "AWS::IAM::Policy": (0.3, 0.2),
    "AWS::IAM::OIDCProvider": (0.2, 0.1),
    "AWS::Lambda::Function": (0.3, 0.2),
    "AWS::Lambda::LayerVersion": (0.3, 0.1),
    "AWS::StepFunctions::StateMachine": (0.2, 0.2),
}
# A Helm release installed with --wait: until its pods are ready (image pulls included).
HELM_WAIT_MINUTES = 2.5
# Every other resource type (subnets, routes, log groups, parameters...).
DEFAULT_MINUTES = (0.1, 0.1)
NESTED_STACK_OVERHEAD_MINUTES = 0.3


def repair_weigher(cloud_assembly: Path | None):
    """A weigh function for `make repair`: every Kubernetes custom resource is updated as long
    as it takes to create (Helm's upgrade waits as its install does); nothing else changes."""
    create = weigher(cloud_assembly, deleting=False)

    def weigh(logical_id: str, resource: Mapping[str, Any]) -> float:
        if resource["Type"] in KUBERNETES_RESOURCE_TYPES:
            return create(logical_id, resource)
        return 0.0

    return weigh


def weigher(cloud_assembly: Path | None, *, deleting: bool):
    """A weigh function for critical_path; nested stacks weigh their own critical path,
    read from the cloud assembly (found through the asset path in their metadata)."""
    index = 1 if deleting else 0

    def weigh(logical_id: str, resource: Mapping[str, Any]) -> float:
        kind = resource["Type"]
        if kind == "AWS::CloudFormation::Stack":
            nested = _nested_template(cloud_assembly, resource)
            if nested is not None:
                inner = critical_path(nested, weigh, deleting=deleting)
                return round(inner.minutes + NESTED_STACK_OVERHEAD_MINUTES, 2)
        waits = resource.get("Properties", {}).get("Wait") in (True, "true")
        if kind == "Custom::AWSCDK-EKS-HelmChart" and waits and not deleting:
            return HELM_WAIT_MINUTES
        return DURATIONS.get(kind, DEFAULT_MINUTES)[index]

    return weigh


def _nested_template(cloud_assembly: Path | None, resource: Mapping[str, Any]):
    asset_path = resource.get("Metadata", {}).get("aws:asset:path")
    if cloud_assembly is None or not asset_path:
        return None
    path = cloud_assembly / asset_path
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))
