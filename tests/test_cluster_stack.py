"""The EKS cluster, its nodes, the load balancer controller and the stack outputs."""

import json

from aws_cdk.assertions import Match

from bench.critical_path import dependencies
from tests.template_queries import (
    HELM_CHART,
    OBJECT_VALUE,
    ancestors,
    chart_values,
    depends_on,
    helm_chart,
    only,
)

CLUSTER = "AWS::EKS::Cluster"


def cluster_properties(template) -> dict:
    _, cluster = only(template.find_resources(CLUSTER), "EKS cluster")
    return cluster["Properties"]


def test_cluster_is_a_native_eks_cluster_named_and_versioned_from_context(
    cluster_template, synthesized
):
    config = synthesized.config
    props = cluster_properties(cluster_template)
    assert (props["Name"], props["Version"]) == (config.cluster_name, config.kubernetes_version)
    # aws_eks_v2: no custom resource and no provider nested stack create the cluster
    assert not cluster_template.find_resources("Custom::AWSCDK-EKS-Cluster")
    assert not cluster_template.find_resources("AWS::CloudFormation::Stack")


def test_access_is_by_access_entries_only_and_nobody_is_admin_by_having_deployed(
    cluster_template,
):
    access = cluster_properties(cluster_template)["AccessConfig"]
    assert access == {"AuthenticationMode": "API", "BootstrapClusterCreatorAdminPermissions": False}


def test_eks_auto_mode_is_off(cluster_template):
    # The lab's own node group runs the pods and the load balancer controller owns the NLB.
    props = cluster_properties(cluster_template)
    assert props["ComputeConfig"] == {"Enabled": False}
    assert props["KubernetesNetworkConfig"]["ElasticLoadBalancing"] == {"Enabled": False}
    assert props["StorageConfig"] == {"BlockStorage": {"Enabled": False}}


def test_without_allowed_addresses_the_endpoint_is_private_only(cluster_template):
    # cdk.json sets no allowedCidrs (`make deploy` gives the learner's address): nobody
    # reaches the control plane from the internet. (cdk-nag's EKS1 does not see aws_eks_v2's
    # cluster.)
    props = cluster_properties(cluster_template)
    vpc_config = props["ResourcesVpcConfig"]
    assert (vpc_config["EndpointPublicAccess"], vpc_config["EndpointPrivateAccess"]) == (
        False,
        True,
    )
    assert "PublicAccessCidrs" not in vpc_config


def test_the_audit_trail_goes_to_a_log_group_of_the_stack(cluster_template, synthesized):
    # controlPlaneLogs (audit and authenticator by default) go to the group EKS writes to,
    # which the stack makes before the cluster, keeps a week and deletes after the cluster.
    cluster_id, cluster = only(cluster_template.find_resources(CLUSTER), "EKS cluster")
    assert cluster["Properties"]["Logging"] == {
        "ClusterLogging": {"EnabledTypes": [{"Type": "audit"}, {"Type": "authenticator"}]}
    }
    groups = cluster_template.find_resources(
        "AWS::Logs::LogGroup",
        {"Properties": {"LogGroupName": f"/aws/eks/{synthesized.config.cluster_name}/cluster"}},
    )
    group_id, group = only(groups, "control plane log group")
    assert group["Properties"]["RetentionInDays"] == 7
    assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Delete"
    assert group_id in cluster["DependsOn"]


def test_without_control_plane_logs_there_is_no_group(synthesized_ambient):
    # No types enabled (not a Logging section left out, which would leave a deployed lab's
    # logs on, writing to a group EKS makes that never expires).
    props = cluster_properties(synthesized_ambient.cluster)
    assert props["Logging"] == {"ClusterLogging": {"EnabledTypes": []}}
    groups = synthesized_ambient.cluster.find_resources("AWS::Logs::LogGroup")
    assert not [g for g in groups.values() if "LogGroupName" in g["Properties"]]


def test_the_public_endpoint_takes_the_allowed_addresses_only(synthesized_gateway_api):
    lab = synthesized_gateway_api
    vpc_config = cluster_properties(lab.cluster)["ResourcesVpcConfig"]
    assert (vpc_config["EndpointPublicAccess"], vpc_config["EndpointPrivateAccess"]) == (
        True,
        True,
    )
    assert vpc_config["PublicAccessCidrs"] == ["81.2.69.160/32", "81.2.70.0/24"]
    assert lab.config.allowed_cidrs == ("81.2.69.160/32", "81.2.70.0/24")


def test_the_ingress_nlb_takes_the_allowed_addresses_only(synthesized_gateway_api):
    # With the Gateway API ingress istiod makes the Service: its class defaults carry the
    # source ranges, for Bookinfo's Gateway and every Task's.
    values = chart_values(helm_chart(synthesized_gateway_api.cluster, "istiod")[1])
    annotations = values["gatewayClasses"]["istio"]["service"]["metadata"]["annotations"]
    assert annotations["service.beta.kubernetes.io/load-balancer-source-ranges"] == (
        "81.2.69.160/32,81.2.70.0/24"
    )


def test_no_default_capacity_and_one_managed_node_group_in_private_subnets(
    cluster_template, synthesized
):
    config = synthesized.config
    cluster_template.resource_count_is("AWS::AutoScaling::AutoScalingGroup", 0)
    _, nodegroup = only(cluster_template.find_resources("AWS::EKS::Nodegroup"), "node group")
    props = nodegroup["Properties"]
    assert props["InstanceTypes"] == [config.node_instance_type]
    assert props["CapacityType"] == config.node_capacity_type
    assert props["ScalingConfig"] == {
        "DesiredSize": config.node_count,
        "MinSize": config.node_count,
        "MaxSize": config.node_count,
    }
    subnet_refs = json.dumps(props["Subnets"])
    assert "PrivateSubnet" in subnet_refs and "PublicSubnet" not in subnet_refs


def test_the_vpc_cni_enforces_network_policy_and_stays_when_the_stack_goes(cluster_template):
    _, addon = only(cluster_template.find_resources("AWS::EKS::Addon"), "EKS add-on")
    props = addon["Properties"]
    assert props["AddonName"] == "vpc-cni"
    # The add-on's configuration schema takes the switch as the string "true".
    assert json.loads(props["ConfigurationValues"]) == {"enableNetworkPolicy": "true"}
    # It takes over the aws-node DaemonSet EKS created with the cluster, and leaves it running
    # on delete while the rest of the stack is removed.
    assert props["ResolveConflicts"] == "OVERWRITE"
    assert props["PreserveOnDelete"] is True
    assert props["ClusterName"] == {"Ref": only(cluster_template.find_resources(CLUSTER), "")[0]}
    # aws-node's own role (IRSA): see the test below.
    assert "ServiceAccountRoleArn" in props


def test_kubectl_layer_matches_the_kubernetes_version(cluster_template, synthesized):
    layers = {
        logical_id: layer
        for logical_id, layer in cluster_template.find_resources(
            "AWS::Lambda::LayerVersion"
        ).items()
        if "/opt/kubectl/kubectl" in layer["Properties"].get("Description", "")
    }
    layer_id, layer = only(layers, "kubectl layer")
    description = layer["Properties"]["Description"]
    assert f"/opt/kubectl/kubectl {synthesized.config.kubernetes_version}." in description
    # the kubectl provider's handler uses it
    handlers = cluster_template.find_resources(
        "AWS::Lambda::Function",
        {"Properties": {"Description": "onEvent handler for EKS kubectl resource provider"}},
    )
    _, handler = only(handlers, "kubectl handler")
    assert {"Ref": layer_id} in handler["Properties"]["Layers"]


def test_load_balancer_controller_is_installed_at_a_pinned_version(cluster_template):
    _, chart = helm_chart(cluster_template, "aws-load-balancer-controller")
    assert chart["Properties"]["Version"] == "3.2.2"
    assert chart["Properties"]["Wait"] is True


def admin_role(template) -> tuple[str, dict]:
    admin_roles = template.find_resources(
        "AWS::IAM::Role",
        {"Properties": {"Description": Match.string_like_regexp("kubectl access")}},
    )
    return only(admin_roles, "admin role")


def admin_trust(template) -> dict:
    """The one statement of the admin role's trust policy."""
    (statement,) = admin_role(template)[1]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRole" and statement["Effect"] == "Allow"
    assert ":root" in json.dumps(statement["Principal"])  # this account's principals only
    return statement


def test_without_admin_principals_nobody_may_assume_the_admin_role(cluster_template):
    # cdk.json sets none (make deploy gives the deployer's): the condition asks for a
    # request without a principal ARN, which AWS never sends.
    assert admin_trust(cluster_template)["Condition"] == {"Null": {"aws:PrincipalArn": "true"}}


def test_the_admin_role_trusts_the_admin_principals_only(synthesized_gateway_api):
    condition = admin_trust(synthesized_gateway_api.cluster)["Condition"]
    assert condition == {
        "ArnLike": {
            "aws:PrincipalArn": [
                # a role given without a path: that role name under any path as well
                "arn:aws:iam::111122223333:role/Admin",
                "arn:aws:iam::111122223333:role/*/Admin",
                "arn:aws:iam::111122223333:user/ops/ana",
            ]
        }
    }


def test_account_trusts_every_principal_of_the_account(synthesized_ambient):
    assert "Condition" not in admin_trust(synthesized_ambient.cluster)


def test_admin_role_gets_cluster_admin_through_an_access_entry(cluster_template):
    admin_role_id, _ = admin_role(cluster_template)
    entries = cluster_template.find_resources(
        "AWS::EKS::AccessEntry",
        {"Properties": {"PrincipalArn": {"Fn::GetAtt": [admin_role_id, "Arn"]}}},
    )
    _, entry = only(entries, "admin role's access entry")
    policies = json.dumps(entry["Properties"]["AccessPolicies"])
    assert "AmazonEKSClusterAdminPolicy" in policies and '"Type": "cluster"' in policies


def test_charts_wait_for_the_kubectl_providers_own_access_entry(cluster_template):
    # aws-cdk-lib gives the kubectl provider's role its own cluster-admin access entry, and
    # every chart waits (through the cluster's kubectl-ready barrier) until it exists.
    handlers = cluster_template.find_resources(
        "AWS::Lambda::Function",
        {"Properties": {"Description": "onEvent handler for EKS kubectl resource provider"}},
    )
    _, handler = only(handlers, "kubectl handler")
    provider_role = handler["Properties"]["Role"]
    entries = cluster_template.find_resources(
        "AWS::EKS::AccessEntry", {"Properties": {"PrincipalArn": provider_role}}
    )
    entry_id, _ = only(entries, "kubectl provider's access entry")
    graph = dependencies(cluster_template.to_json())
    for chart_id in cluster_template.find_resources(HELM_CHART):
        assert entry_id in ancestors(graph, chart_id), chart_id


def test_kubeconfig_output_assumes_the_admin_role(cluster_template, synthesized):
    output = cluster_template.find_outputs("KubeconfigCommand")["KubeconfigCommand"]
    parts = output["Value"]["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else json.dumps(p) for p in parts)
    assert text.startswith("aws eks update-kubeconfig --name ")
    assert "--region " in text and "--role-arn " in text
    assert "ClusterAdminRole" in text


def test_bookinfo_url_reads_the_gateway_service_hostname(cluster_template, synthesized):
    gateway = synthesized.plan.ingress
    value_id, value = only(cluster_template.find_resources(OBJECT_VALUE), "object value")
    props = value["Properties"]
    assert (props["ObjectType"], props["ObjectName"], props["ObjectNamespace"]) == (
        "service",
        gateway.release,
        gateway.namespace,
    )
    assert props["JsonPath"] == ".status.loadBalancer.ingress[0].hostname"
    gateway_chart_id, _ = helm_chart(cluster_template, gateway.release)
    assert gateway_chart_id in depends_on(value)

    url = cluster_template.find_outputs("BookinfoUrl")["BookinfoUrl"]["Value"]["Fn::Join"][1]
    assert url == [
        "http://",
        {"Fn::GetAtt": [value_id, "Value"]},
        f":{gateway.nlb.http_port.port}/productpage",
    ]


def test_the_settings_output_is_the_resolved_configuration(any_synthesized):
    # GIVEN the settings a variant was synthesized with, whatever came from cdk.json or -c
    config = any_synthesized.config
    outputs = any_synthesized.cluster.find_outputs("LabSettings")
    # THEN the output carries them, as make smoke reads them
    settings = json.loads(outputs["LabSettings"]["Value"])
    assert settings["scenario"] == config.scenario
    assert settings["tracing"] == config.tracing
    assert settings["dataplane"] == config.dataplane
    assert settings["ingressApi"] == config.ingress_api
    assert settings["bookinfoNamespace"] == config.bookinfo_namespace
    assert settings["istioVersion"] == config.istio_version


def test_kiali_output_is_a_port_forward_command(cluster_template):
    output = cluster_template.find_outputs("KialiCommand")["KialiCommand"]["Value"]
    assert output.startswith("kubectl port-forward -n istio-system svc/kiali 20001:20001")
    assert "http://localhost:20001/kiali" in output


def test_vpc_comes_from_the_network_stack_as_a_strong_reference(cluster_template):
    # An export pins the network stack until the cluster stack is gone.
    assert "Fn::ImportValue" in json.dumps(cluster_template.to_json())
    assert "Fn::GetStackOutput" not in json.dumps(cluster_template.to_json())


def _role_of(function: dict) -> str | None:
    role = function["Properties"].get("Role")
    return role["Fn::GetAtt"][0] if isinstance(role, dict) and "Fn::GetAtt" in role else None


def test_every_function_that_talks_to_the_cluster_runs_in_its_private_subnets(cluster_template):
    # A function talks to the cluster when its role is in an access entry (it runs kubectl
    # or helm) or may describe the cluster (to build its kubeconfig). Each must reach the
    # private endpoint, so that the public one can be limited to the learner's addresses.
    entries = cluster_template.find_resources("AWS::EKS::AccessEntry").values()
    admins = {e["Properties"]["PrincipalArn"].get("Fn::GetAtt", [None])[0] for e in entries}
    describers = {
        role["Ref"]
        for policy in cluster_template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "eks:DescribeCluster" in json.dumps(statement["Action"])
        for role in policy["Properties"]["Roles"]
    }
    functions = cluster_template.find_resources("AWS::Lambda::Function")
    talking = {k: f for k, f in functions.items() if _role_of(f) in (admins | describers) - {None}}
    # the CDK's kubectl handler, its provider framework, and the lab's cluster tasks
    assert any(k.startswith("ClusterKubectlProviderHandler") for k in talking)
    assert any(k.startswith("ClusterTasksHandler") for k in talking)
    (cluster_id,) = cluster_template.find_resources(CLUSTER)
    for logical_id, function in talking.items():
        vpc_config = function["Properties"].get("VpcConfig")
        assert vpc_config, f"{logical_id} runs outside the VPC"
        assert vpc_config["SecurityGroupIds"] == [
            {"Fn::GetAtt": [cluster_id, "ClusterSecurityGroupId"]}
        ], logical_id
        assert (
            vpc_config["SubnetIds"]
            == cluster_properties(cluster_template)["ResourcesVpcConfig"]["SubnetIds"]
        ), logical_id


def test_pods_cannot_take_the_node_roles_credentials(cluster_template):
    # IMDSv2 only, and a token answer that dies one hop from the node: hostNetwork pods
    # (aws-node, kube-proxy, istio-cni) still reach the metadata service, other pods cannot.
    _, nodegroup = only(cluster_template.find_resources("AWS::EKS::Nodegroup"), "node group")
    template_ref = nodegroup["Properties"]["LaunchTemplate"]["Id"]["Ref"]
    launch_template = cluster_template.find_resources("AWS::EC2::LaunchTemplate")[template_ref]
    assert launch_template["Properties"]["LaunchTemplateData"] == {
        "MetadataOptions": {
            "HttpEndpoint": "enabled",
            "HttpTokens": "required",
            "HttpPutResponseHopLimit": 1,
        }
    }
    assert nodegroup["Properties"]["LaunchTemplate"]["Version"] == {
        "Fn::GetAtt": [template_ref, "LatestVersionNumber"]
    }


def _managed_policies(role: dict) -> list[str]:
    return [
        json.dumps(arn).rsplit("/", 1)[1].strip('"]}')
        for arn in role["Properties"]["ManagedPolicyArns"]
    ]


def test_the_vpc_cni_has_its_own_role_and_the_nodes_do_not_hold_its_policy(cluster_template):
    _, nodegroup = only(cluster_template.find_resources("AWS::EKS::Nodegroup"), "node group")
    roles = cluster_template.find_resources("AWS::IAM::Role")
    node_role = roles[nodegroup["Properties"]["NodeRole"]["Fn::GetAtt"][0]]
    assert _managed_policies(node_role) == [
        "AmazonEKSWorkerNodePolicy",
        "AmazonEC2ContainerRegistryReadOnly",
    ]
    addon_id, addon = only(cluster_template.find_resources("AWS::EKS::Addon"), "add-on")
    cni_role_id = addon["Properties"]["ServiceAccountRoleArn"]["Fn::GetAtt"][0]
    assert _managed_policies(roles[cni_role_id]) == ["AmazonEKS_CNI_Policy"]
    (statement,) = roles[cni_role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert "Federated" in statement["Principal"]
    # only aws-node in kube-system, for STS (the condition's keys name the cluster's issuer)
    condition_id = statement["Condition"]["StringEquals"]["Fn::GetAtt"][0]
    condition = json.dumps(cluster_template.find_resources("Custom::AWSCDKCfnJson")[condition_id])
    assert ':sub\\":\\"system:serviceaccount:kube-system:aws-node\\"' in condition
    assert ':aud\\":\\"sts.amazonaws.com\\"' in condition
    # The nodes join once aws-node runs with that role.
    assert addon_id in nodegroup["DependsOn"]
