"""The critical path of a CloudFormation deployment (and deletion), from its templates.

CloudFormation creates a resource once everything it depends on exists, and runs the rest
in parallel; so the time a stack takes is roughly the longest chain of dependencies,
weighted by how long each resource takes. Dependencies are the DependsOn lists and every
Ref / Fn::GetAtt / Fn::Sub reference between resources of one template. Deletion runs the
same graph backwards.

The weights are estimates (bench/durations.py), so the result is an estimate too: it shows
which resources sit on the path and roughly how long the path is, which is what matters
when deciding whether something should wait on something else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Template = Mapping[str, Any]
# (logical id, resource) -> minutes
Weigh = Callable[[str, Mapping[str, Any]], float]

_SUB_REFERENCE = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


@dataclass(frozen=True)
class Path:
    minutes: float
    chain: tuple[tuple[str, float], ...]  # (logical id, minutes), first to last

    def describe(self, types: Mapping[str, str] | None = None) -> list[str]:
        lines = []
        for logical_id, minutes in self.chain:
            kind = f" ({types[logical_id]})" if types and logical_id in types else ""
            lines.append(f"{minutes:5.1f} min  {logical_id}{kind}")
        return lines


def references(value: Any) -> set[str]:
    """Logical ids referenced anywhere inside a property value."""
    found: set[str] = set()
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) else str(inner).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                found.update(_SUB_REFERENCE.findall(text))
                if isinstance(inner, list):
                    found |= references(inner[1])
            else:
                found |= references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= references(inner)
    return found


def dependencies(template: Template) -> dict[str, set[str]]:
    """Logical id -> the logical ids of the same template it waits for on creation."""
    resources = template.get("Resources", {})
    graph = {}
    for logical_id, resource in resources.items():
        depends_on = resource.get("DependsOn", [])
        if isinstance(depends_on, str):
            depends_on = [depends_on]
        referenced = references(resource.get("Properties", {}))
        # Parameters, pseudo parameters (AWS::Region) and conditions are not resources.
        graph[logical_id] = {d for d in set(depends_on) | referenced if d in resources}
    return graph


def reversed_graph(graph: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """Deletion order: a resource is deleted only after everything that depended on it."""
    reverse: dict[str, set[str]] = {node: set() for node in graph}
    for node, waits_for in graph.items():
        for dependency in waits_for:
            reverse[dependency].add(node)
    return reverse


def longest_path(graph: Mapping[str, set[str]], weight: Mapping[str, float]) -> Path:
    """The heaviest chain through an acyclic graph (node -> the nodes it waits for)."""
    finish: dict[str, float] = {}
    previous: dict[str, str | None] = {}
    visiting: set[str] = set()

    def visit(node: str) -> float:
        if node in finish:
            return finish[node]
        if node in visiting:
            raise ValueError(f"dependency cycle through {node}")
        visiting.add(node)
        best, best_before = 0.0, None
        for dependency in sorted(graph[node]):
            if (candidate := visit(dependency)) > best:
                best, best_before = candidate, dependency
        visiting.discard(node)
        finish[node] = best + weight[node]
        previous[node] = best_before
        return finish[node]

    if not graph:
        return Path(0.0, ())
    end = max(sorted(graph), key=visit)
    chain = []
    node: str | None = end
    while node is not None:
        chain.append((node, weight[node]))
        node = previous[node]
    return Path(finish[end], tuple(reversed(chain)))


def critical_path(template: Template, weigh: Weigh, *, deleting: bool = False) -> Path:
    resources = template.get("Resources", {})
    graph = dependencies(template)
    if deleting:
        graph = reversed_graph(graph)
    weight = {logical_id: weigh(logical_id, resources[logical_id]) for logical_id in graph}
    return longest_path(graph, weight)
