"""Loading the YAML under manifests/ into the plain objects eks.KubernetesManifest applies."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

MANIFESTS_DIR = Path(__file__).resolve().parent.parent / "manifests"

KubernetesObject = dict[str, Any]


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


def in_namespace(objects: Iterable[KubernetesObject], namespace: str) -> list[KubernetesObject]:
    """Copies of `objects` placed in `namespace` (the files leave it unset on purpose)."""
    placed = []
    for obj in objects:
        obj = copy.deepcopy(obj)
        obj["metadata"]["namespace"] = namespace
        placed.append(obj)
    return placed
