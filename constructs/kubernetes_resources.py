"""The CloudFormation types of the custom resources that act on Kubernetes: aws-cdk-lib's EKS
charts, manifests, patches and object reads, and the lab's own cluster tasks. `make repair`
updates all of them; a destroy after the cluster was deleted outside CloudFormation retains
them. Plain Python: scripts import it without loading aws-cdk-lib."""

from __future__ import annotations

from constructs.cluster_task_handler import tasks_contract

KUBERNETES_RESOURCE_TYPES = frozenset(
    {
        "Custom::AWSCDK-EKS-HelmChart",
        "Custom::AWSCDK-EKS-KubernetesResource",
        "Custom::AWSCDK-EKS-KubernetesPatch",
        "Custom::AWSCDK-EKS-KubernetesObjectValue",
        tasks_contract.CRDS_RESOURCE_TYPE,
        tasks_contract.CRD_REMOVAL_RESOURCE_TYPE,
        tasks_contract.SERVICE_REMOVAL_RESOURCE_TYPE,
        tasks_contract.STALE_ROUTES_RESOURCE_TYPE,
    }
)
