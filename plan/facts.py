"""The names, versions, repositories and labels that several parts of the lab must agree on,
each defined once: the stacks and constructs, the plan, the analyzer, smoke and the tests
import them from here. Nothing here imports aws_cdk, so smoke can use it without the CDK.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- The stacks and what they print -----------------------------------------------------------

# The clusterName key names the whole lab: the EKS cluster, and the stacks of any other name
# than the default (`<clusterName>-Network`, `<clusterName>-Cluster`), so that two labs of
# two names live side by side in one account and region. The default lab keeps the stack
# names it always had; no other name can give those (plan/config.py refuses
# `BookinfoLab`), nor one of another name's (a stack name is the name and a fixed suffix).
DEFAULT_CLUSTER_NAME = "bookinfo-lab"
DEFAULT_STACK_PREFIX = "BookinfoLab"
NETWORK_STACK_SUFFIX = "Network"
CLUSTER_STACK_SUFFIX = "Cluster"


@dataclass(frozen=True)
class LabStacks:
    """The names of one lab's two stacks."""

    network: str
    cluster: str

    def all(self) -> tuple[str, str]:
        """In the order `cdk deploy --all` creates them."""
        return (self.network, self.cluster)


def lab_stacks(cluster_name: str) -> LabStacks:
    prefix = DEFAULT_STACK_PREFIX if cluster_name == DEFAULT_CLUSTER_NAME else cluster_name
    return LabStacks(f"{prefix}-{NETWORK_STACK_SUFFIX}", f"{prefix}-{CLUSTER_STACK_SUFFIX}")


DEFAULT_STACKS = lab_stacks(DEFAULT_CLUSTER_NAME)

# Output keys of the cluster stack.
BOOKINFO_URL_OUTPUT = "BookinfoUrl"
SETTINGS_OUTPUT = "LabSettings"
KUBECONFIG_OUTPUT = "KubeconfigCommand"
CLUSTER_ARN_OUTPUT = "ClusterArn"
KIALI_OUTPUT = "KialiCommand"
GRAFANA_OUTPUT = "GrafanaCommand"
TRACING_OUTPUT = "TracingCommand"
# Output key of the network stack.
CLEANUP_LOG_GROUP_OUTPUT = "CleanupLogGroup"

# --- Namespaces -------------------------------------------------------------------------------

ISTIO_SYSTEM = "istio-system"
# Kubernetes refuses to delete this namespace; Bookinfo there is labelled, never created.
DEFAULT_NAMESPACE = "default"

# --- Istio -----------------------------------------------------------------------------------

# Istio minors whose support matrix covers every supported Kubernetes version.
SUPPORTED_ISTIO_MINORS = ("1.31",)
ISTIO_CHART_REPOSITORY = "https://blob.istio.io/istio-release/charts"
# (chart, release) as Istio's Helm install guides name them, all in istio-system.
ISTIO_BASE = ("base", "istio-base")
ISTIOD = ("istiod", "istiod")
ISTIO_CNI = ("cni", "istio-cni")
ZTUNNEL = ("ztunnel", "ztunnel")
ISTIO_GATEWAY_CHART = "gateway"
# The gateways as the Istio docs' demo install names them: Deployment, Service and the pods'
# `app` label, in istio-system; the pods' `istio` label is what the docs' Gateways select.
INGRESS_GATEWAY = "istio-ingressgateway"
INGRESS_GATEWAY_SELECTOR = "ingressgateway"
EGRESS_GATEWAY = "istio-egressgateway"
EGRESS_GATEWAY_SELECTOR = "egressgateway"

# What Istio's demo profile asks for each of its proxies (sidecars, gateways, waypoints) and
# for ztunnel and istio-cni (files/profile-demo.yaml of the istiod chart, release-1.31).
DEMO_PROXY_REQUESTS = {"requests": {"cpu": "10m", "memory": "40Mi"}}

INJECTION_LABEL = "istio-injection"
INJECTION_ENABLED, INJECTION_DISABLED = "enabled", "disabled"
DATAPLANE_MODE_LABEL = "istio.io/dataplane-mode"
DATAPLANE_MODE_AMBIENT, DATAPLANE_MODE_NONE = "ambient", "none"
USE_WAYPOINT_LABEL = "istio.io/use-waypoint"
USE_WAYPOINT_NAMESPACE_LABEL = "istio.io/use-waypoint-namespace"
WAYPOINT_FOR_LABEL = "istio.io/waypoint-for"
WAYPOINT_CLASS = "istio-waypoint"
# The port a waypoint receives HBONE (mTLS-tunnelled) traffic from ztunnel on.
HBONE_PORT = 15008
# A pod label that keeps istiod's injection webhook away from a pod.
NOT_INJECTED_LABEL = ("sidecar.istio.io/inject", "false")

# The CRDs the istio/base chart of Istio 1.31 installs (files/crd-all.gen.yaml).
ISTIO_CRDS = (
    "authorizationpolicies.security.istio.io",
    "destinationrules.networking.istio.io",
    "envoyfilters.networking.istio.io",
    "gateways.networking.istio.io",
    "peerauthentications.security.istio.io",
    "proxyconfigs.networking.istio.io",
    "requestauthentications.security.istio.io",
    "serviceentries.networking.istio.io",
    "sidecars.networking.istio.io",
    "telemetries.telemetry.istio.io",
    "trafficextensions.extensions.istio.io",
    "virtualservices.networking.istio.io",
    "wasmplugins.extensions.istio.io",
    "workloadentries.networking.istio.io",
    "workloadgroups.networking.istio.io",
)
# istiod's mesh configuration, as its chart writes it (data key `mesh`).
MESH_CONFIG_MAP = "istio"

ISTIO_NETWORKING_GROUP = "networking.istio.io"
ISTIO_NETWORKING_V1 = f"{ISTIO_NETWORKING_GROUP}/v1"

# --- The Kubernetes Gateway API ----------------------------------------------------------------

GATEWAY_API_GROUP = "gateway.networking.k8s.io"
GATEWAY_API_V1 = f"{GATEWAY_API_GROUP}/v1"
# The experimental channel's own kinds (XBackendTrafficPolicy, XMesh).
GATEWAY_API_EXPERIMENTAL_GROUP = "gateway.networking.x-k8s.io"
# The Gateway API release Istio 1.31 builds against (its go.mod pins v1.6.0; pilot requires
# the v1.6 bundle, e.g. for TCPRoute), at its latest patch.
GATEWAY_API_VERSION = "v1.6.1"
GATEWAY_API_SOURCE = (
    "https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/{version}/"
    "config/crd/{channel}/{file}"
)

# --- The VPC CNI -------------------------------------------------------------------------------

# The cluster's VPC CNI, taken over as an EKS add-on so that its network policy enforcement
# can be turned on: the node agent (the aws-eks-nodeagent container, already in every aws-node
# pod) then enforces Kubernetes NetworkPolicy. Enforcement starts per pod in "standard" mode
# (allow until a policy selects the pod), so nothing changes until a policy exists.
VPC_CNI_ADDON = "vpc-cni"
VPC_CNI_CONFIGURATION = {"enableNetworkPolicy": "true"}

# --- AWS Load Balancer Controller (installed by aws-cdk-lib's AlbController) -----------------

LOAD_BALANCER_CONTROLLER_VERSION = "3.2.2"
LOAD_BALANCER_CONTROLLER_RELEASE = "aws-load-balancer-controller"

# --- Observability charts -----------------------------------------------------------------------

PROMETHEUS_CHART_REPOSITORY = "https://prometheus-community.github.io/helm-charts"
# The 29 line (Prometheus 3.14) discovers the API server and Service endpoints through
# EndpointSlices; the pod-annotation job that scrapes Istio's proxies, ztunnel and waypoints
# renders as in 28.13.0 with the lab's values.
PROMETHEUS_CHART_VERSION = "29.27.0"
# The maintained home of the Grafana chart since January 2026 (grafana-community/helm-charts).
GRAFANA_CHART_REPOSITORY = "https://grafana-community.github.io/helm-charts"
GRAFANA_CHART_VERSION = "12.11.1"
KIALI_CHART_REPOSITORY = "https://kiali.org/helm-charts"
# Istio 1.31's own addons render Kiali 2.27.0 (release-1.31 manifests/addons/gen.sh); the
# lab takes the newer 2.31.0, as since Kiali 2.4 each release is tested against the Istio
# releases supported when it comes out, 1.31 among them.
KIALI_CHART_VERSION = "2.31.0"
# Istio's dashboards as its release publishes them (also to grafana.com): the JSON files of
# the Istio source, at a commit of the release-1.31 branch (its head on 2026-08-20, the
# newest that could be read here; the 1.31.x tags could not), each checked by its sha256
# (`git show <commit>:manifests/addons/dashboards/<file> | sha256sum`) before Grafana
# reads it. Dashboards follow the minor: every 1.31 patch gets these.
ISTIO_DASHBOARD_COMMIT = "a8d7012191ebf42bacd48fa72b32a05828e4c564"
ISTIO_DASHBOARD_SOURCE = (
    "https://raw.githubusercontent.com/istio/istio/{commit}/manifests/addons/dashboards/{file}"
)
ISTIO_DASHBOARD_SHA256 = {
    "istio-extension-dashboard.json": (
        "242e536f04330e46385436591f40ec3a946975a24fb4be91b46bb78b5916968d"
    ),
    "istio-mesh-dashboard.gen.json": (
        "d1f8f1f0c61722ffebada80b4ea50a17d99e5dfd62efd658d0f79635437afc74"
    ),
    "istio-performance-dashboard.json": (
        "8a34d37f6798fbd931db93b1ce9972fa81bb215a62705adbe94db8a5fc6c5688"
    ),
    "istio-service-dashboard.json": (
        "d2c3881bd82f44965bd124ef5aade6e81b41e05355758a41c6d4d7465e98d3fc"
    ),
    "istio-workload-dashboard.json": (
        "0a9b4c2cec355b85fe941db9215467b0ca0bfd85c44598c99fbfe91eb539a1de"
    ),
    "pilot-dashboard.gen.json": "5a03f45efa32b975ac1dba1b12877c586fb63bbb1da06516dfa56256caa1acc0",
    "ztunnel-dashboard.gen.json": (
        "66b6b15099eb9b497cba8655835f4e8cc485fd0ef61ee8e4ed545ee26553cfe8"
    ),
}

# --- Bookinfo ----------------------------------------------------------------------------------

BOOKINFO_PATH = "/productpage"
# Records the active scenario in the cluster (kubectl get configmap bookinfo-scenario).
SCENARIO_MARKER = "bookinfo-scenario"
# The header productpage adds to its calls once a reader signs in.
END_USER_HEADER = "end-user"
