"""The lab's cluster: EKS, the load balancer controller, Istio, observability and Bookinfo."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam

from constructs import Construct
from constructs.bookinfo import Bookinfo, BookinfoProps
from constructs.bookinfo_routing import BookinfoRouting, BookinfoRoutingProps
from constructs.capacity import EKS_SYSTEM_PODS, Pods, Requests, pods_of_manifest
from constructs.cluster_tasks import (
    ClusterTasks,
    ClusterTasksProps,
    ServiceRemoval,
    ServiceRemovalProps,
    StaleRoutes,
    StaleRoutesProps,
)
from constructs.data_plane import AmbientDataPlane, DataPlane, SidecarDataPlane
from constructs.ingress_gateway import GatewayApiIngress, IngressGateway
from constructs.istio_mesh import IstioMesh, IstioMeshProps
from constructs.observability import Observability, ObservabilityProps
from constructs.service_webhook import WaitForServiceWebhook, controller_chart
from constructs.tree_walk import visit_tree
from stacks.config import AMBIENT, GATEWAY_API, LabConfig

LOAD_BALANCER_CONTROLLER_VERSION = eks.AlbControllerVersion.V3_2_2
# The controller's chart sets no requests; these make its two replicas count in the
# capacity check (it needs about 50 MiB each in a cluster this size).
LOAD_BALANCER_CONTROLLER_REPLICAS = 2
LOAD_BALANCER_CONTROLLER_RESOURCES = {"requests": {"cpu": "50m", "memory": "128Mi"}}
BOOKINFO_PATH = "/productpage"


class ClusterStack(Stack):
    """Composes the lab on an EKS cluster in `vpc` and prints how to reach it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LabConfig,
        vpc: ec2.IVpc,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        private_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)

        # Whoever may assume this role administers the cluster; by default that is any
        # principal of this account allowed sts:AssumeRole (e.g. the one deploying the lab).
        admin_role = iam.Role(
            self,
            "ClusterAdminRole",
            assumed_by=iam.AccountRootPrincipal(),
            description=f"kubectl access to the {config.cluster_name} EKS cluster",
        )

        # A native AWS::EKS::Cluster; access only through EKS access entries. Charts and
        # manifests still go through the CDK's kubectl provider (the layer of this version),
        # whose role gets its own cluster-admin access entry from aws-cdk-lib.
        kubectl_layer = config.kubernetes.kubectl_layer(self, "KubectlLayer")
        self.cluster = eks.Cluster(
            self,
            "Cluster",
            cluster_name=config.cluster_name,
            version=config.kubernetes.eks_version,
            kubectl_provider_options=eks.KubectlProviderOptions(
                kubectl_layer=kubectl_layer,
            ),
            vpc=vpc,
            vpc_subnets=[private_subnets],
            # Public as well as private: the lab is driven from the learner's own machine
            # (kubectl, port-forwards) without a VPN or bastion, and every request is
            # authenticated by IAM through an access entry. No control plane logging: EKS
            # would write it to /aws/eks/<cluster>/cluster, a log group outside CloudFormation
            # that never expires and outlives `make destroy`.
            endpoint_access=eks.EndpointAccess.PUBLIC_AND_PRIVATE,
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
            alb_controller=eks.AlbControllerOptions(
                version=LOAD_BALANCER_CONTROLLER_VERSION,
                additional_helm_chart_values={
                    "replicaCount": LOAD_BALANCER_CONTROLLER_REPLICAS,
                    "resources": LOAD_BALANCER_CONTROLLER_RESOURCES,
                },
            ),
        )
        self.admin_access = self.cluster.grant_cluster_admin("LabAdminAccess", admin_role.role_arn)
        self.nodegroup = self.cluster.add_nodegroup_capacity(
            "Nodes",
            instance_types=[ec2.InstanceType(config.node_instance_type)],
            capacity_type=eks.CapacityType[config.node_capacity_type],
            desired_size=config.node_count,
            min_size=config.node_count,
            max_size=config.node_count,
            subnets=private_subnets,
        )
        # CDK already orders the controller's chart (which waits for its pods) after the nodes.
        load_balancer_controller = self.cluster.alb_controller
        service_webhook = WaitForServiceWebhook(
            controller_chart(load_balancer_controller),
            cdk_managed=(self.cluster, load_balancer_controller),
        )

        self.tasks = ClusterTasks(
            self,
            "ClusterTasks",
            props=ClusterTasksProps(cluster=self.cluster, kubectl_layer=kubectl_layer),
        )
        # The ingress API is chosen here, once: the istio/gateway chart's gateway with an
        # Istio Gateway, or a Gateway API Gateway that istiod deploys in Bookinfo's namespace.
        # Either way one internet-facing NLB, described by the same IngressGateway.
        self.ingress: IngressGateway | GatewayApiIngress = (
            GatewayApiIngress(namespace=config.bookinfo_namespace)
            if config.ingress_api == GATEWAY_API
            else IngressGateway()
        )
        # The data plane too is chosen here, once.
        self.data_plane: DataPlane = (
            AmbientDataPlane(namespace=config.bookinfo_namespace)
            if config.dataplane == AMBIENT
            else SidecarDataPlane()
        )
        self.mesh = IstioMesh(
            self,
            "Istio",
            props=IstioMeshProps(
                cluster=self.cluster,
                istio_version=config.istio_version,
                load_balancer_controller=load_balancer_controller,
                tasks=self.tasks,
                data_plane=self.data_plane,
                gateway=self.ingress if isinstance(self.ingress, IngressGateway) else None,
                tracing=config.tracing_backend,
                tracing_sampling=config.tracing_sampling,
            ),
        )
        # istiod's chart waits for its pod, which needs nodes to run on.
        self.mesh.istiod.node.add_dependency(self.nodegroup)

        self.observability = Observability(
            self,
            "Observability",
            props=ObservabilityProps(
                cluster=self.cluster,
                istio_version=config.istio_version,
                tracing=config.tracing_backend,
                data_plane_dashboards=self.data_plane.dashboards,
            ),
        )

        self.bookinfo = Bookinfo(
            self,
            "Bookinfo",
            props=BookinfoProps(
                cluster=self.cluster,
                namespace=config.bookinfo_namespace,
                data_plane=self.data_plane,
                mesh_ready=self.mesh.data_plane_ready,
            ),
        )
        routing_after: tuple[Construct, ...] = (self.mesh.istiod, self.bookinfo.namespace)
        self.ingress_service_removal: ServiceRemoval | None = None
        if isinstance(self.ingress, GatewayApiIngress):
            # istiod, not Helm, owns the Gateway's Service, and `kubectl delete` of the
            # Gateway returns before that Service (and its NLB) is gone: on delete, this waits
            # for the Service after the Gateway is deleted and before the controller is.
            self.ingress_service_removal = ServiceRemoval(
                self,
                "IngressServiceRemoval",
                props=ServiceRemovalProps(
                    tasks=self.tasks,
                    cluster_name=self.cluster.cluster_name,
                    namespace=self.ingress.namespace,
                    service=self.ingress.service_name,
                ),
            )
            self.ingress_service_removal.node.add_dependency(load_balancer_controller)
            routing_after += (self.ingress_service_removal,)
        self.routing = BookinfoRouting(
            self,
            "Routing",
            props=BookinfoRoutingProps(
                cluster=self.cluster,
                namespace=config.bookinfo_namespace,
                ingress=self.ingress,
                data_plane=self.data_plane,
                scenario=config.scenario,
                after=routing_after,
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
                namespace=config.bookinfo_namespace,
                manifests=(self.routing.manifest, self.routing.scenario),
                objects=[*self.routing.objects, *self.routing.scenario_objects],
            ),
        )

        self._add_outputs(config, admin_role)
        # The controller's Service webhook fails closed: every chart and manifest of the lab
        # that may create a Service is created after the controller's chart, which waits for
        # its pods. Applied once the stack is complete, to all of it.
        visit_tree(self, service_webhook)

    @property
    def pods(self) -> tuple[Pods, ...]:
        """Every pod the lab runs on the nodes, with its requests (sidecars included)."""
        return (
            *EKS_SYSTEM_PODS,
            Pods(
                "aws-load-balancer-controller",
                Requests.of(LOAD_BALANCER_CONTROLLER_RESOURCES),
                count=LOAD_BALANCER_CONTROLLER_REPLICAS,
            ),
            *self.mesh.pods,
            *self._gateway_api_pods(),
            *self.observability.pods,
            *pods_of_manifest(self.bookinfo.objects, sidecar=self._pod_overhead()),
        )

    def _pod_overhead(self) -> Requests | None:
        overhead = self.data_plane.pod_overhead
        return None if overhead is None else Requests.of(overhead)

    def _gateway_api_pods(self) -> tuple[Pods, ...]:
        # istiod deploys a Gateway API Gateway's pod from its proxy template (the sidecar's
        # requests), and a waypoint's from its own (global.waypoint.resources).
        pods: tuple[Pods, ...] = ()
        if isinstance(self.ingress, GatewayApiIngress):
            pods += (Pods(self.ingress.service_name, self.mesh.sidecar_requests),)
        if isinstance(self.data_plane, AmbientDataPlane):
            waypoint = self.data_plane.waypoint
            pods += (Pods(waypoint.name, Requests.of(self.data_plane.waypoint_resources)),)
        return pods

    @property
    def applied_objects(self) -> list[dict]:
        """Every Kubernetes and Istio object this stack applies from manifests/."""
        return [*self.bookinfo.objects, *self.routing.objects, *self.routing.scenario_objects]

    def _add_outputs(self, config: LabConfig, admin_role: iam.IRole) -> None:
        ingress = self.ingress
        if isinstance(ingress, GatewayApiIngress):
            service, namespace, made_by = (
                ingress.service_name,
                ingress.namespace,
                self.routing.manifest,
            )
        else:
            service, namespace, made_by = (
                ingress.release,
                ingress.namespace,
                self.mesh.gateway_chart,
            )
        # The hostname the load balancer controller writes into the ingress Service's status.
        gateway_hostname = eks.KubernetesObjectValue(
            self,
            "GatewayHostname",
            cluster=self.cluster,
            object_type="service",
            object_name=service,
            object_namespace=namespace,
            json_path=".status.loadBalancer.ingress[0].hostname",
        )
        gateway_hostname.node.add_dependency(made_by)

        CfnOutput(
            self,
            "BookinfoUrl",
            description="Bookinfo's product page behind the ingress gateway's NLB",
            value=ingress.url(gateway_hostname.value, BOOKINFO_PATH),
        )
        CfnOutput(
            self,
            "KubeconfigCommand",
            description="Adds the cluster to ~/.kube/config, authenticating as the admin role",
            value=(
                f"aws eks update-kubeconfig --name {self.cluster.cluster_name}"
                f" --region {self.region} --role-arn {admin_role.role_arn}"
            ),
        )
        CfnOutput(
            self,
            "ClusterArn",
            description="Names the kubeconfig entries the kubeconfig command adds; "
            "make destroy removes them",
            value=self.cluster.cluster_arn,
        )
        CfnOutput(
            self,
            "KialiCommand",
            description="Run after the kubeconfig command, then open the printed local URL",
            value=self.observability.kiali_command,
        )
        CfnOutput(
            self,
            "GrafanaCommand",
            description="Run after the kubeconfig command, then open the printed local URL",
            value=self.observability.grafana_command,
        )
        tracing_command = self.observability.tracing_command
        if tracing_command is not None:
            CfnOutput(
                self,
                "TracingCommand",
                description="Run after the kubeconfig command, then open the tracing UI",
                value=tracing_command,
            )
