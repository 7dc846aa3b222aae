"""Bookinfo as the plan deploys it: the sample application in its namespace, labelled and
enrolled for the data plane."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from plan import facts
from plan.capacity import Pods, Requests, pods_of_manifest
from plan.data_plane import NOT_MESHED_LABELS, DataPlane
from plan.kube import KubernetesObject, in_namespace, load_manifest, versions_of


@dataclass(frozen=True)
class BookinfoPlan:
    """namespace: where the app runs; `default` is labelled in place (Kubernetes refuses to
    delete it), any other is created. labels: the data plane's namespace labels.
    objects: manifests/bookinfo.yaml in the namespace, as the data plane enrolls them."""

    namespace: str
    labels: Mapping[str, str]
    objects: tuple[KubernetesObject, ...]

    @classmethod
    def of(cls, namespace: str, data_plane: DataPlane) -> BookinfoPlan:
        objects = data_plane.enroll(in_namespace(load_manifest("bookinfo.yaml"), namespace))
        return cls(namespace, data_plane.namespace_labels, tuple(objects))

    @property
    def creates_namespace(self) -> bool:
        return self.namespace != facts.DEFAULT_NAMESPACE

    @property
    def namespace_object(self) -> KubernetesObject:
        return {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": self.namespace, "labels": dict(self.labels)},
        }

    @property
    def not_meshed_labels(self) -> dict[str, str]:
        """The labels that take a labelled-in-place namespace out of the mesh again: both
        labels set to their off value (a merge patch cannot remove a label)."""
        return dict(NOT_MESHED_LABELS)

    @property
    def versions(self) -> Mapping[str, frozenset[str]]:
        """app -> the versions its Deployments run."""
        return versions_of(self.objects)

    def pods(self, overhead: Requests | None) -> list[Pods]:
        return pods_of_manifest(self.objects, sidecar=overhead)
