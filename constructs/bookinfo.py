"""Bookinfo: the sample application, in a namespace labelled for sidecar injection."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_eks_v2 as eks

from constructs import Construct
from constructs.manifest_files import in_namespace, load_manifest

INJECTION_LABEL = "istio-injection"
# Kubernetes refuses to delete this namespace; it is labelled, never created or deleted.
DEFAULT_NAMESPACE = "default"


@dataclass(frozen=True)
class BookinfoProps:
    """
    cluster: where to deploy.
    namespace: namespace of the app; "default" is labelled in place, any other is created.
    mesh_ready: the construct after which sidecar injection works (IstioMesh.istiod).
    """

    cluster: eks.ICluster
    namespace: str
    mesh_ready: Construct


class Bookinfo(Construct):
    """Deploys manifests/bookinfo.yaml into `namespace`, labelled istio-injection=enabled
    before the first pod exists, so every pod starts with its sidecar."""

    def __init__(self, scope: Construct, construct_id: str, *, props: BookinfoProps) -> None:
        super().__init__(scope, construct_id)
        self.namespace_name = props.namespace

        if props.namespace == DEFAULT_NAMESPACE:
            # A patch, not a manifest: deleting a manifest would try to delete the namespace.
            self.namespace: Construct = eks.KubernetesPatch(
                self,
                "NamespaceLabel",
                cluster=props.cluster,
                resource_name=f"namespace/{props.namespace}",
                apply_patch={"metadata": {"labels": {INJECTION_LABEL: "enabled"}}},
                # jsii drops a None value, so a label cannot be removed by a merge patch; "disabled"
                # turns injection off just as an absent label does.
                restore_patch={"metadata": {"labels": {INJECTION_LABEL: "disabled"}}},
            )
        else:
            self.namespace = eks.KubernetesManifest(
                self,
                "Namespace",
                cluster=props.cluster,
                manifest=[
                    {
                        "apiVersion": "v1",
                        "kind": "Namespace",
                        "metadata": {
                            "name": props.namespace,
                            "labels": {INJECTION_LABEL: "enabled"},
                        },
                    }
                ],
            )
        # The injection webhook must answer before the label matters to anything.
        self.namespace.node.add_dependency(props.mesh_ready)

        self.objects = in_namespace(load_manifest("bookinfo.yaml"), props.namespace)
        self.app = eks.KubernetesManifest(self, "App", cluster=props.cluster, manifest=self.objects)
        self.app.node.add_dependency(self.namespace)
        self.app.node.add_dependency(props.mesh_ready)
