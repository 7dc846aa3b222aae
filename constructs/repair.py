"""RepairStamp: `make repair` re-applies every chart and manifest of the lab in place.

Visited over the cluster stack with a new `repair` value, it writes that value into one
property of every custom resource that applies something to Kubernetes: the charts,
manifests, patches and object reads of aws-cdk-lib's EKS module and the lab's own cluster
tasks. CloudFormation then updates each of them: Helm runs `upgrade --install` (which
recreates what is missing and restores what was changed), kubectl applies the manifests and
patches again, and the tasks run their update. Nothing else in the templates changes: the
cluster, node group, IAM, VPC and the network stack's cleanup stay as they are.
"""

from __future__ import annotations

import jsii
from aws_cdk import CfnResource, IAspect

from constructs import IConstruct
from constructs.kubernetes_resources import KUBERNETES_RESOURCE_TYPES

# The property the handlers never read; only its change matters.
REPAIR_PROPERTY = "LabRepair"


@jsii.implements(IAspect)
class RepairStamp:
    """Sets REPAIR_PROPERTY to `value` on every Kubernetes custom resource it visits."""

    def __init__(self, value: str):
        self.value = value

    def visit(self, node: IConstruct) -> None:
        # Custom resources are plain CfnResources; typed L1 classes are never one of them.
        if type(node) is CfnResource and node.cfn_resource_type in KUBERNETES_RESOURCE_TYPES:
            node.add_property_override(REPAIR_PROPERTY, self.value)
