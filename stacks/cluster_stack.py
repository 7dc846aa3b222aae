"""The lab's cluster: EKS, the load balancer controller, Istio, observability and Bookinfo."""

from __future__ import annotations

import importlib

from aws_cdk import Annotations, CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from constructs import Construct
from constructs.barriers import Barrier
from constructs.bookinfo import Bookinfo, BookinfoProps
from constructs.bookinfo_routing import BookinfoRouting, BookinfoRoutingProps
from constructs.cluster_tasks import (
    ClusterTasks,
    ClusterTasksProps,
    GatewayApiCrdRemoval,
    GatewayApiCrdRemovalProps,
    ServiceRemoval,
    ServiceRemovalProps,
    StaleRoutes,
    StaleRoutesProps,
)
from constructs.istio_mesh import IstioMesh, IstioMeshProps
from constructs.load_balancer_controller_policy import controller_policy
from constructs.nodes import cni_role, launch_template_spec, node_launch_template, node_role
from constructs.observability import Observability, ObservabilityProps
from plan import facts
from plan.config import WHOLE_ACCOUNT, KubernetesRelease, LabConfig, snake_case
from plan.lab_plan import LabPlan


def _member(enum_class, version: str):
    """aws-cdk-lib's constant for a version, e.g. KubernetesVersion.V1_35."""
    return getattr(enum_class, "V" + version.replace(".", "_"))


def kubectl_layer(
    scope: Construct, construct_id: str, release: KubernetesRelease
) -> lambda_.ILayerVersion:
    """The kubectl/helm layer of the release, as aws_eks_v2's kubectl provider takes it."""
    module = importlib.import_module(release.layer_module)
    return getattr(module, release.layer_class)(scope, construct_id)


def _log_type(name: str) -> eks.ClusterLoggingTypes:
    """aws-cdk-lib's constant for an EKS log type: controllerManager -> CONTROLLER_MANAGER."""
    return getattr(eks.ClusterLoggingTypes, snake_case(name).upper())


def warn_if_closed(scope: Construct, config: LabConfig) -> None:
    """A warning on synth and deploy when the lab would let nobody in: a plain `cdk deploy`
    without the keys `make deploy` fills (scripts/deploy_context.py)."""
    closed = []
    if not config.allowed_cidrs:
        closed.append(
            "allowedCidrs is empty: the ingress NLB admits the VPC only and the cluster "
            "endpoint is private"
        )
    if not config.admin_principals:
        closed.append("adminPrincipals is empty: nobody may assume the cluster admin role")
    if closed:
        Annotations.of(scope).add_warning_v2(
            "lab:nobody-gets-in",
            "; ".join(closed)
            + ". `make deploy` gives your address and IAM principal; or set them in cdk.json",
        )


def control_plane_log_group(
    scope: Construct, cluster: eks.Cluster, config: LabConfig
) -> logs.LogGroup | None:
    """The group EKS writes the control plane logs to, /aws/eks/<cluster>/cluster, made by the
    stack before the cluster and deleted after it: left to EKS, the group would be created
    on the first log line, never expire, and outlive `make destroy`. None without logs."""
    if not config.control_plane_logs:
        return None
    group = logs.LogGroup(
        scope,
        "ControlPlaneLogs",
        log_group_name=f"/aws/eks/{config.cluster_name}/cluster",
        retention=logs.RetentionDays.ONE_WEEK,
        removal_policy=RemovalPolicy.DESTROY,
    )
    cluster.node.default_child.node.add_dependency(group)
    return group


def admin_trust(principals: tuple[str, ...]) -> iam.IPrincipal:
    """The cluster admin role's trust: principals of this account whose ARN (aws:PrincipalArn:
    a user's, or the role of an assumed-role session, path included) is one of `principals`;
    a role given without a path matches that role name under any path (an assumed role's
    session does not show its path). `("account",)` trusts every principal of the account
    whose own policy allows sts:AssumeRole on the role; no principals, nobody (the condition
    asks for a request without a principal ARN, which AWS never sends)."""
    account = iam.AccountRootPrincipal()
    if principals == (WHOLE_ACCOUNT,):
        return account
    if not principals:
        return account.with_conditions({"Null": {"aws:PrincipalArn": "true"}})
    patterns: list[str] = []
    for arn in principals:
        patterns.append(arn)
        kind_and_path = arn.split(":", 5)[5]
        if kind_and_path.startswith("role/") and kind_and_path.count("/") == 1:
            prefix, name = arn.rsplit("/", 1)
            patterns.append(f"{prefix}/*/{name}")
    return account.with_conditions({"ArnLike": {"aws:PrincipalArn": patterns}})


class ClusterStack(Stack):
    """Applies the plan on an EKS cluster in `vpc` and prints how to reach it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        plan: LabPlan,
        vpc: ec2.IVpc,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        config = plan.config
        private_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)

        # Whoever may assume this role administers the cluster: adminPrincipals (the
        # deployer's own, as `make deploy` gives it), or every principal of the account.
        admin_role = iam.Role(
            self,
            "ClusterAdminRole",
            assumed_by=admin_trust(config.admin_principals),
            description=f"kubectl access to the {config.cluster_name} EKS cluster",
        )

        # A native AWS::EKS::Cluster; access only through EKS access entries. Charts and
        # manifests still go through the CDK's kubectl provider (the layer of this version),
        # whose role gets its own cluster-admin access entry from aws-cdk-lib.
        layer = kubectl_layer(self, "KubectlLayer", plan.kubernetes)
        self.cluster = eks.Cluster(
            self,
            "Cluster",
            cluster_name=config.cluster_name,
            version=_member(eks.KubernetesVersion, plan.kubernetes.version),
            kubectl_provider_options=eks.KubectlProviderOptions(kubectl_layer=layer),
            vpc=vpc,
            vpc_subnets=[private_subnets],
            # Public as well as private: the lab is driven from the learner's own machine
            # (kubectl, port-forwards) without a VPN or bastion, and every request is
            # authenticated by IAM through an access entry; the public endpoint takes only
            # allowedCidrs (the learner's address, as `make deploy` sets it), and without
            # them there is none. Nodes and every function that talks to the cluster use
            # the private endpoint.
            endpoint_access=(
                eks.EndpointAccess.PUBLIC_AND_PRIVATE.only_from(*config.allowed_cidrs)
                if config.allowed_cidrs
                else eks.EndpointAccess.PRIVATE
            ),
            # Not EKS Auto Mode (aws_eks_v2's default): it would hide the node and load
            # balancer mechanics the lab is for, and EKS, not the AWS Load Balancer Controller,
            # would own the ingress NLB, which the destroy-time cleanup finds by the
            # controller's tags. The lab's own managed node group is added below.
            default_capacity_type=eks.DefaultCapacityType.NODEGROUP,
            default_capacity=0,
            # No access entry for whoever ran CloudFormation: the admin role below and the
            # kubectl provider's role are the only cluster admins.
            bootstrap_cluster_creator_admin_permissions=False,
            output_config_command=False,
            # The audit trail (controlPlaneLogs), into the log group made below. An empty
            # list is written as no enabled types, so turning the logs off on a deployed lab
            # turns them off in EKS (a Logging section left out would leave them on).
            cluster_logging=[_log_type(t) for t in config.control_plane_logs],
            alb_controller=eks.AlbControllerOptions(
                version=_member(eks.AlbControllerVersion, plan.load_balancer_controller.version),
                additional_helm_chart_values=plan.load_balancer_controller.values,
                # Upstream's actions, held to this cluster's tag, region, account and VPC.
                policy=controller_policy(self, config.cluster_name, vpc.vpc_id),
            ),
        )
        self.control_plane_logs = control_plane_log_group(self, self.cluster, config)
        warn_if_closed(self, config)
        self.admin_access = self.cluster.grant_cluster_admin("LabAdminAccess", admin_role.role_arn)
        # The nodes' own role (no VPC CNI policy) and a launch template that keeps pods
        # away from the instance metadata service (constructs/nodes.py).
        self.node_role = node_role(self, "NodeRole")
        self.nodegroup = self.cluster.add_nodegroup_capacity(
            "Nodes",
            instance_types=[ec2.InstanceType(config.node_instance_type)],
            capacity_type=eks.CapacityType[config.node_capacity_type],
            desired_size=config.node_count,
            min_size=config.node_count,
            max_size=config.node_count,
            subnets=private_subnets,
            node_role=self.node_role,
            launch_template_spec=launch_template_spec(
                node_launch_template(self, "NodeLaunchTemplate")
            ),
            # With a launch template aws-cdk-lib leaves the AMI type to EKS; the instance
            # types the capacity check knows are all x86_64.
            ami_type=eks.NodegroupAmiType.AL2023_X86_64_STANDARD,
        )
        # The VPC CNI EKS installed, as a managed add-on with NetworkPolicy enforced (the
        # ambient network policy guide, the egress gateway Task's policy). OVERWRITE takes
        # over the self-managed aws-node DaemonSet EKS created with the cluster; the add-on is
        # kept on delete, so aws-node keeps running while the rest of the lab is removed.
        # Its version is EKS's default for the cluster's Kubernetes version.
        self.vpc_cni = eks.Addon(
            self,
            "VpcCni",
            cluster=self.cluster,
            addon_name=facts.VPC_CNI_ADDON,
            configuration_values=facts.VPC_CNI_CONFIGURATION,
            preserve_on_delete=True,
        )
        self.vpc_cni.node.default_child.add_property_override("ResolveConflicts", "OVERWRITE")
        # aws-node's credentials: its own role through IRSA, not the node role's. The nodes
        # join once the add-on runs aws-node with it, or their pods would get no addresses.
        self.cni_role = cni_role(self, "VpcCniRole", self.cluster)
        self.vpc_cni.node.default_child.add_property_override(
            "ServiceAccountRoleArn", self.cni_role.role_arn
        )
        self.nodegroup.node.add_dependency(self.vpc_cni)
        self.tasks = ClusterTasks(
            self,
            "ClusterTasks",
            props=ClusterTasksProps(cluster=self.cluster, kubectl_layer=layer),
        )
        # On destroy, every LoadBalancer Service goes (and its NLB with it) while the load
        # balancer controller still runs: after what makes such Services (the gateway chart,
        # the edge routing's Gateway API Gateway), before the controller is uninstalled. On
        # create only it and what it holds wait for the controller, not istiod. The construct id
        # is that of the earlier wait for the Gateway API Gateway's Service, which it replaces
        # in place. (aws-cdk-lib already orders the controller's chart after the nodes.)
        self.service_removal = ServiceRemoval(
            self,
            "IngressServiceRemoval",
            props=ServiceRemovalProps(tasks=self.tasks, cluster_name=self.cluster.cluster_name),
        )
        self.service_removal.node.add_dependency(self.cluster.alb_controller)
        load_balancers = Barrier((self.service_removal,))

        self.mesh = IstioMesh(
            self,
            "Istio",
            props=IstioMeshProps(
                cluster=self.cluster,
                mesh=plan.mesh,
                tasks=self.tasks,
                nodes=Barrier((self.nodegroup,)),
                load_balancers=load_balancers,
            ),
        )
        self.observability = Observability(
            self,
            "Observability",
            props=ObservabilityProps(cluster=self.cluster, observability=plan.observability),
        )
        self.bookinfo = Bookinfo(
            self,
            "Bookinfo",
            props=BookinfoProps(
                cluster=self.cluster,
                bookinfo=plan.bookinfo,
                mesh_ready=self.mesh.data_plane_ready,
            ),
        )
        # On delete, the Gateway API's CRDs (and with them every Gateway, a Task's too) go
        # after the routing that uses them and before the load balancer controller, which
        # removes the NLBs of the Gateways' Services. On create it is a no-op after the CRDs
        # and the controller, which the routing waits for anyway.
        self.crd_removal = GatewayApiCrdRemoval(
            self,
            "GatewayApiCrdRemoval",
            props=GatewayApiCrdRemovalProps(
                tasks=self.tasks,
                cluster_name=self.cluster.cluster_name,
                crds=self.mesh.gateway_api_crds,
            ),
        )
        self.crd_removal.node.add_dependency(self.cluster.alb_controller)
        self.routing = BookinfoRouting(
            self,
            "Routing",
            props=BookinfoRoutingProps(
                cluster=self.cluster,
                routing=plan.routing,
                after=Barrier((self.mesh.istiod, self.bookinfo.namespace, self.crd_removal))
                + load_balancers,
            ),
        )

        # A switch of ingress API or data plane updates the routing manifests in place;
        # this then removes the routes of the old form, which kubectl's pruning keeps.
        self.stale_routes = StaleRoutes(
            self,
            "StaleRoutes",
            props=StaleRoutesProps(
                tasks=self.tasks,
                cluster_name=self.cluster.cluster_name,
                namespace=plan.bookinfo.namespace,
                manifests=(self.routing.manifest, self.routing.scenario),
                keep=tuple(plan.routing.keep),
                other_forms=tuple(plan.routing.other_forms),
            ),
        )

        self._add_outputs(plan, admin_role)

    def _add_outputs(self, plan: LabPlan, admin_role: iam.IRole) -> None:
        ingress = plan.ingress
        # Where istiod generates the Service with the NLB, the edge routing that applies its
        # Gateway makes it; otherwise the gateway chart does.
        made_by = (
            self.routing.manifest
            if ingress.generated_service is not None
            else self.mesh.gateway_chart
        )
        # The hostname the load balancer controller writes into the ingress Service's status.
        gateway_hostname = eks.KubernetesObjectValue(
            self,
            "GatewayHostname",
            cluster=self.cluster,
            object_type="service",
            object_name=ingress.service.name,
            object_namespace=ingress.service.namespace,
            json_path=".status.loadBalancer.ingress[0].hostname",
        )
        gateway_hostname.node.add_dependency(made_by)

        observability = plan.observability
        outputs = {
            facts.BOOKINFO_URL_OUTPUT: (
                "Bookinfo's product page behind the ingress gateway's NLB",
                ingress.url(gateway_hostname.value, facts.BOOKINFO_PATH),
            ),
            facts.KUBECONFIG_OUTPUT: (
                "Adds the cluster to ~/.kube/config, authenticating as the admin role",
                f"aws eks update-kubeconfig --name {self.cluster.cluster_name}"
                f" --region {self.region} --role-arn {admin_role.role_arn}",
            ),
            facts.CLUSTER_ARN_OUTPUT: (
                "Names the kubeconfig entries the kubeconfig command adds; make destroy removes "
                "them",
                self.cluster.cluster_arn,
            ),
            facts.KIALI_OUTPUT: (
                "Run after the kubeconfig command, then open the printed local URL",
                observability.kiali_command,
            ),
            facts.GRAFANA_OUTPUT: (
                "Run after the kubeconfig command, then open the printed local URL",
                observability.grafana_command,
            ),
            facts.TRACING_OUTPUT: (
                "Run after the kubeconfig command, then open the tracing UI",
                observability.tracing_command,
            ),
            facts.SETTINGS_OUTPUT: (
                "The lab's resolved settings (JSON), as make smoke reads them",
                plan.settings_json,
            ),
        }
        for key, (description, value) in outputs.items():
            if value is not None:
                CfnOutput(self, key, description=description, value=value)
