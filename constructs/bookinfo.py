"""Bookinfo: the sample application, in a namespace labelled for the lab's data plane."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_eks_v2 as eks

from constructs import Construct
from constructs.data_plane import NOT_MESHED_LABELS, DataPlane
from constructs.manifest_files import in_namespace, load_manifest

# Kubernetes refuses to delete this namespace; it is labelled, never created or deleted.
DEFAULT_NAMESPACE = "default"


@dataclass(frozen=True)
class BookinfoProps:
    """
    cluster: where to deploy.
    namespace: namespace of the app; "default" is labelled in place, any other is created.
    data_plane: how the namespace is labelled (sidecar injection or ambient enrollment) and
        which of the app's Services use a waypoint.
    mesh_ready: the constructs after which a new pod joins the mesh
        (IstioMesh.data_plane_ready).
    """

    cluster: eks.ICluster
    namespace: str
    data_plane: DataPlane
    mesh_ready: tuple[Construct, ...]


class Bookinfo(Construct):
    """Deploys manifests/bookinfo.yaml into `namespace`, labelled for the data plane before
    the first pod exists, so every pod starts in the mesh (with its sidecar, or redirected
    into ztunnel)."""

    def __init__(self, scope: Construct, construct_id: str, *, props: BookinfoProps) -> None:
        super().__init__(scope, construct_id)
        self.namespace_name = props.namespace
        labels = props.data_plane.namespace_labels

        if props.namespace == DEFAULT_NAMESPACE:
            # A patch, not a manifest: deleting a manifest would try to delete the namespace.
            self.namespace: Construct = eks.KubernetesPatch(
                self,
                "NamespaceLabel",
                cluster=props.cluster,
                resource_name=f"namespace/{props.namespace}",
                # Both data planes' labels, each way: an update applies only the new patch.
                apply_patch={"metadata": {"labels": labels}},
                # jsii drops a None value, so a label cannot be removed by a merge patch;
                # "disabled" and "none" leave the namespace out of the mesh just as absent
                # labels do.
                restore_patch={"metadata": {"labels": dict(NOT_MESHED_LABELS)}},
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
                            "labels": labels,
                        },
                    }
                ],
            )
        # The injection webhook (or istio-cni and ztunnel) must answer before the label
        # matters to anything.
        for ready in props.mesh_ready:
            self.namespace.node.add_dependency(ready)

        self.objects = props.data_plane.enroll(
            in_namespace(load_manifest("bookinfo.yaml"), props.namespace)
        )
        self.app = eks.KubernetesManifest(self, "App", cluster=props.cluster, manifest=self.objects)
        self.app.node.add_dependency(self.namespace)
        for ready in props.mesh_ready:
            self.app.node.add_dependency(ready)
