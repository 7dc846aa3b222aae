"""Bookinfo: the sample application, in a namespace labelled for the lab's data plane."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_eks_v2 as eks

from constructs import Construct
from constructs.barriers import Barrier
from constructs.kubernetes import manifest
from plan.bookinfo import BookinfoPlan


@dataclass(frozen=True)
class BookinfoProps:
    """
    cluster: where to deploy.
    bookinfo: the plan's namespace, labels and objects.
    mesh_ready: after it a new pod joins the mesh (IstioMesh.data_plane_ready).
    """

    cluster: eks.ICluster
    bookinfo: BookinfoPlan
    mesh_ready: Barrier


class Bookinfo(Construct):
    """Deploys Bookinfo into its namespace, labelled for the data plane before the first pod
    exists, so every pod starts in the mesh (with its sidecar, or redirected into ztunnel)."""

    def __init__(self, scope: Construct, construct_id: str, *, props: BookinfoProps) -> None:
        super().__init__(scope, construct_id)
        bookinfo = props.bookinfo
        self.namespace_name = bookinfo.namespace

        if bookinfo.creates_namespace:
            self.namespace: Construct = manifest(
                self, "Namespace", cluster=props.cluster, objects=[bookinfo.namespace_object]
            )
        else:
            # A patch, not a manifest: deleting a manifest would try to delete the namespace.
            self.namespace = eks.KubernetesPatch(
                self,
                "NamespaceLabel",
                cluster=props.cluster,
                resource_name=f"namespace/{bookinfo.namespace}",
                # Both data planes' labels, each way: an update applies only the new patch.
                apply_patch={"metadata": {"labels": dict(bookinfo.labels)}},
                # jsii drops a None value, so a label cannot be removed by a merge patch;
                # "disabled" and "none" leave the namespace out of the mesh just as absent
                # labels do.
                restore_patch={"metadata": {"labels": bookinfo.not_meshed_labels}},
            )
        # The injection webhook (or istio-cni and ztunnel) must answer before the label
        # matters to anything.
        props.mesh_ready.hold(self.namespace)

        self.app = manifest(self, "App", cluster=props.cluster, objects=bookinfo.objects)
        self.app.node.add_dependency(self.namespace)
        props.mesh_ready.hold(self.app)
