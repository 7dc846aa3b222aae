"""What the ClusterTasks construct and its handler agree on: the custom resource types, the
ResourceProperties keys of each, and the field manager of what the handler applies.

The construct imports this as `constructs.cluster_task_handler.tasks_contract`; the Lambda,
whose asset root is this folder, as `tasks_contract`. So it imports nothing.
"""

CRDS_RESOURCE_TYPE = "Custom::GatewayApiCrds"
CRD_REMOVAL_RESOURCE_TYPE = "Custom::GatewayApiCrdRemoval"
SERVICE_REMOVAL_RESOURCE_TYPE = "Custom::ServiceRemoval"
STALE_ROUTES_RESOURCE_TYPE = "Custom::StaleRoutes"

# Every task: the EKS cluster it runs kubectl against.
CLUSTER_NAME = "ClusterName"

# Custom::GatewayApiCrds: FILES is a list of {FILE_URL, FILE_SHA256, FILE_CRDS (the names of
# the CustomResourceDefinitions in the file)}; OBJECTS the `kind/name` of everything the files
# create, for delete; REPLACES the `kind/name` of objects deleted before the files are applied.
# An update also deletes the objects the old properties named that the new ones do not.
# Custom::GatewayApiCrdRemoval: OBJECTS, deleted (best effort) when the resource is deleted.
FILES = "Files"
FILE_URL = "Url"
FILE_SHA256 = "Sha256"
FILE_CRDS = "Crds"
OBJECTS = "Objects"
REPLACES = "Replaces"

# Custom::ServiceRemoval: how long a delete may wait for the LoadBalancer Services to go.
TIMEOUT_SECONDS = "TimeoutSeconds"

# Custom::StaleRoutes: the namespace of the routing objects, the resource names kubectl lists
# the routing kinds by, the manifests' prune labels, the `Kind.group/name` of the routing
# objects to keep, and those of the lab's other forms (deleted by name, labelled or not).
NAMESPACE = "Namespace"
KINDS = "Kinds"
SELECTORS = "Selectors"
KEEP = "Keep"
NAMES = "Names"

# The function's own scope, in its environment (scope_guard.py): the cluster, the sha256 of
# every pinned Gateway API file (both channels, separated by spaces), where every file comes
# from (the start of each URL: the repository's raw files, any tag), the routing kinds
# (separated by commas). And the API groups of every object a Gateway API task may name.
ENV_CLUSTER_NAME = "LAB_CLUSTER_NAME"
ENV_FILE_SHA256 = "LAB_GATEWAY_API_SHA256"
ENV_FILE_SOURCE = "LAB_GATEWAY_API_SOURCE"
ENV_ROUTING_KINDS = "LAB_ROUTING_KINDS"
GATEWAY_API_GROUPS = (".gateway.networking.k8s.io", ".gateway.networking.x-k8s.io")

# The field manager of the server-side apply, as the cluster's managedFields show it.
FIELD_MANAGER = "bookinfo-lab"
