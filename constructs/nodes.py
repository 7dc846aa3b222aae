"""What keeps the nodes' credentials on the nodes: the node group's own role without the VPC
CNI's policy, a launch template that gives pods no way to the instance metadata service, and
the VPC CNI's own role for its service account (IRSA).

With IMDSv2 required and a PUT response hop limit of 1, a token can only be fetched from
the node's own network namespace: aws-node, kube-proxy and istio-cni-node run there
(hostNetwork) and keep working; a pod's request for a token gets no answer, and without a
token the metadata service answers 401, so a pod cannot take the node role's credentials.
Nothing else the lab runs reads the metadata service from a pod: the load balancer
controller gets its region and VPC from its chart values (aws-cdk-lib's AlbController sets
both) and its credentials through IRSA; Istio's proxies look for AWS metadata only to label
their platform (pkg/bootstrap/platform, release-1.31: a 100 ms token request, then the 401)
and take their locality from the node's topology labels.
"""

from __future__ import annotations

from aws_cdk import CfnJson
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam

from constructs import Construct
from plan import facts

# What a managed node needs to join the cluster and pull images; the CNI's policy is on the
# add-on's role instead.
NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly")
CNI_POLICY = "AmazonEKS_CNI_Policy"
# The service account the VPC CNI add-on runs aws-node as.
CNI_SERVICE_ACCOUNT = ("kube-system", "aws-node")
METADATA_HOP_LIMIT = 1


def node_role(scope: Construct, construct_id: str) -> iam.Role:
    return iam.Role(
        scope,
        construct_id,
        assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
        description="The lab's EKS nodes: join the cluster, pull images (no VPC CNI policy)",
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(p) for p in NODE_POLICIES],
    )


def node_launch_template(scope: Construct, construct_id: str) -> ec2.CfnLaunchTemplate:
    """Metadata options only: EKS adds its AMI, bootstrap and security groups."""
    return ec2.CfnLaunchTemplate(
        scope,
        construct_id,
        launch_template_data=ec2.CfnLaunchTemplate.LaunchTemplateDataProperty(
            metadata_options=ec2.CfnLaunchTemplate.MetadataOptionsProperty(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=METADATA_HOP_LIMIT,
            )
        ),
    )


def launch_template_spec(template: ec2.CfnLaunchTemplate) -> eks.LaunchTemplateSpec:
    return eks.LaunchTemplateSpec(id=template.ref, version=template.attr_latest_version_number)


def cni_role(scope: Construct, construct_id: str, cluster: eks.Cluster) -> iam.Role:
    """A role only the aws-node service account of `cluster` may assume, through the
    cluster's OIDC provider, with the VPC CNI's policy."""
    provider = cluster.open_id_connect_provider
    issuer = provider.open_id_connect_provider_issuer
    namespace, name = CNI_SERVICE_ACCOUNT
    # The issuer is known at deploy time only, and it is part of the condition's keys.
    conditions = CfnJson(
        scope,
        f"{construct_id}Conditions",
        value={
            f"{issuer}:sub": f"system:serviceaccount:{namespace}:{name}",
            f"{issuer}:aud": "sts.amazonaws.com",
        },
    )
    return iam.Role(
        scope,
        construct_id,
        assumed_by=iam.OpenIdConnectPrincipal(provider).with_conditions(
            {"StringEquals": conditions}
        ),
        description=f"The {facts.VPC_CNI_ADDON} add-on (aws-node) of the lab's cluster",
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(CNI_POLICY)],
    )
