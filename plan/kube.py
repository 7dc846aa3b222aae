"""Kubernetes objects as plain data: loading the YAML under manifests/, placing objects in a
namespace, and the one `ServicePort` every part of the lab describes a Service port with."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MANIFESTS_DIR = Path(__file__).resolve().parent.parent / "manifests"

KubernetesObject = dict[str, Any]


@dataclass(frozen=True)
class ServicePort:
    """A port of a Service: `port` on the Service, `target_port` on the pods (a number, or the
    name of a container port)."""

    name: str
    port: int
    target_port: int | str
    protocol: str = "TCP"

    def to_service_port(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "port": self.port,
            "protocol": self.protocol,
            "targetPort": self.target_port,
        }


def load_manifest(relative_path: str) -> list[KubernetesObject]:
    """Every document of a YAML file under manifests/, empty documents dropped."""
    path = MANIFESTS_DIR / relative_path
    with path.open(encoding="utf-8") as stream:
        # libyaml's safe loader when PyYAML has it: the same documents, several times faster.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        documents = [doc for doc in yaml.load_all(stream, Loader=loader) if doc is not None]
    for index, doc in enumerate(documents):
        if not isinstance(doc, dict) or "kind" not in doc or "metadata" not in doc:
            raise ValueError(f"{path}: document {index + 1} is not a Kubernetes object")
    return documents


def versions_of(objects: Iterable[KubernetesObject]) -> Mapping[str, frozenset[str]]:
    """app -> the versions its Deployments run, by their pods' `app` and `version` labels."""
    found: dict[str, set[str]] = {}
    for obj in objects:
        if obj["kind"] == "Deployment":
            labels = obj["spec"]["template"]["metadata"]["labels"]
            found.setdefault(labels["app"], set()).add(labels["version"])
    return {app: frozenset(versions) for app, versions in found.items()}


def in_namespace(objects: Iterable[KubernetesObject], namespace: str) -> list[KubernetesObject]:
    """Copies of `objects` placed in `namespace` (the files leave it unset on purpose)."""
    placed = []
    for obj in objects:
        obj = copy.deepcopy(obj)
        obj["metadata"]["namespace"] = namespace
        placed.append(obj)
    return placed
