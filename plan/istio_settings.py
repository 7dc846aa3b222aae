"""The `istio` context key: Istio settings written as the docs' `istioctl install --set` paths
write them, checked against Istio's own field list and laid over the lab's istiod values.

The key holds the part of an IstioOperator spec the lab passes on:

    {"meshConfig": {...}, "values": {"pilot": {...}, "global": {...}}}

`meshConfig` becomes the istiod chart's `meshConfig`, `values.pilot` the chart's root (where
istioctl puts it too: `env`, `traceSampling`, ...), `values.global` its `global`. Objects are
merged key by key over the lab's values; a list or a scalar replaces the lab's, except
`meshConfig.extensionProviders`, whose entries are added to the lab's providers.

Every path is checked against the field table of the Istio minor in use
(plan/istio_schema/<minor>.json, written by scripts/istio_schema.py from istio/api's MeshConfig
and istio/istio's Values protos, which is what istioctl decodes the same keys into), and a
`values.pilot` or `values.global` key also against what the istiod chart reads. A path the
lab depends on (LAB_OWNED) is refused with the reason.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plan.problems import ConfigError

SCHEMA_DIR = Path(__file__).parent / "istio_schema"

# The IstioOperator keys the lab takes, and under `values` the sections it passes on.
TOP_KEYS = ("meshConfig", "values")
VALUES_SECTIONS = ("pilot", "global")

# Paths (and everything under them) the lab sets and depends on, with what to do instead.
LAB_OWNED: Mapping[str, str] = {
    "meshConfig.defaultProviders": (
        "the lab's Prometheus metrics and tracing backend are the mesh's default providers; "
        "choose the backend with the tracing key, or apply a Telemetry resource"
    ),
    "meshConfig.rootNamespace": "the lab and the Tasks keep the root namespace istio-system",
    "values.pilot.traceSampling": "set the sampling percentage with the tracingSampling key",
    "values.pilot.env.PILOT_TRACE_SAMPLING": (
        "set the sampling percentage with the tracingSampling key"
    ),
    "values.pilot.env.PILOT_ENABLE_ALPHA_GATEWAY_API": (
        "the gatewayApiChannel key sets it (experimental turns it on)"
    ),
    "values.pilot.replicaCount": "the lab runs one istiod, as the capacity check counts it",
    "values.pilot.autoscaleEnabled": "the lab runs one istiod, as the capacity check counts it",
    "values.pilot.autoscaleMin": "the lab runs one istiod, as the capacity check counts it",
    "values.pilot.autoscaleMax": "the lab runs one istiod, as the capacity check counts it",
    "values.pilot.hub": "the istioVersion key chooses Istio's images",
    "values.pilot.tag": "the istioVersion key chooses Istio's images",
    "values.pilot.image": "the istioVersion key chooses Istio's images",
    "values.global.hub": "the istioVersion key chooses Istio's images",
    "values.global.tag": "the istioVersion key chooses Istio's images",
    "values.global.istioNamespace": "the lab installs Istio in istio-system",
    "values.pilot.cni": "the dataplane key decides it",
    "values.pilot.trustedZtunnelNamespace": "the dataplane key decides it",
    "values.global.platform": "the lab's platform is EKS, which needs no platform profile",
    "values.global.waypoint.resources": (
        "the dataplane key sets the waypoints' requests, which the capacity check counts"
    ),
}


class SettingsError(ConfigError):
    """One line per bad path of the `istio` key."""


@dataclass(frozen=True)
class Schema:
    """The field table of one Istio minor."""

    minor: str
    data: Mapping[str, Any]

    @classmethod
    @functools.cache
    def of(cls, minor: str) -> Schema:
        return cls(minor, json.loads((SCHEMA_DIR / f"{minor}.json").read_text()))

    @property
    def source(self) -> Mapping[str, Any]:
        return self.data["source"]

    def message(self, name: str) -> Mapping[str, Any]:
        return self.data["messages"][name]

    def root(self, key: str) -> str:
        return f"message:{self.data['roots'][key]}"

    def chart_keys(self, section: str) -> frozenset[str]:
        key = "istiodChartKeys" if section == "pilot" else "istiodChartGlobalKeys"
        return frozenset(self.data[key])

    def field_type(self, path: list[str | int]) -> tuple[str, bool, bool] | None:
        """(type, is a list, is a map) of the field at `path` (list indexes skipped), or None
        where the path leaves the table (free-form objects)."""
        kind, is_list, is_map = self.root(str(path[0])), False, False
        for step in path[1:]:
            if isinstance(step, int) or is_map:
                is_list, is_map = False, False
                continue
            if not kind.startswith("message:"):
                return None
            entry = self.message(kind.split(":", 1)[1]).get(step)
            if entry is None:
                return None
            kind, is_list, is_map = entry["type"], entry.get("list", False), entry.get("map", False)
        return kind, is_list, is_map


@dataclass(frozen=True)
class IstioSettings:
    """The validated `istio` key, as canonical JSON (so the object is immutable and hashable)."""

    canonical: str = "{}"

    @property
    def tree(self) -> dict[str, Any]:
        return json.loads(self.canonical)

    @property
    def mesh_config(self) -> dict[str, Any]:
        return self.tree.get("meshConfig", {})

    def values(self, section: str) -> dict[str, Any]:
        return self.tree.get("values", {}).get(section, {})

    def __bool__(self) -> bool:
        return self.canonical != "{}"

    def paths(self) -> list[str]:
        """Every leaf as `path=value`, in istioctl's syntax."""
        return [f"{format_path(p)}={json.dumps(v)}" for p, v in leaves(self.tree)]

    @classmethod
    def parse(cls, raw: Any, minor: str) -> IstioSettings:
        """Validate the context value (an object, or its JSON text from `-c istio=...`)."""
        if isinstance(raw, str):
            try:
                raw = json.loads(raw) if raw.strip() else {}
            except json.JSONDecodeError as error:
                raise SettingsError([f"context istio: not JSON ({error.msg})"]) from None
        if not isinstance(raw, dict):
            raise SettingsError(
                [
                    'context istio: expected an object such as {"meshConfig": {...}, "values": '
                    '{"pilot": {...}, "global": {...}}}'
                ]  # fmt: skip
            )
        problems = list(Checker(Schema.of(minor)).problems(raw))
        if problems:
            raise SettingsError(problems)
        return cls(json.dumps(raw, sort_keys=True, separators=(",", ":")))

    def overlay(self, istiod: Mapping[str, Any], lab_providers: list[str]) -> dict[str, Any]:
        """The istiod chart's values with these settings laid over the lab's."""
        problems = [
            f"context istio: meshConfig.extensionProviders[{i}].name={p.get('name')!r} is a "
            f"provider of the lab's ({', '.join(lab_providers)}); give yours another name"
            for i, p in enumerate(self.mesh_config.get("extensionProviders", []))
            if p.get("name") in lab_providers
        ]
        if problems:
            raise SettingsError(problems)
        values = merge(istiod, self.values("pilot"))
        mesh = dict(self.mesh_config)
        added = mesh.pop("extensionProviders", [])
        merged_mesh = merge(istiod.get("meshConfig", {}), mesh)
        if added:
            merged_mesh["extensionProviders"] = [
                *istiod.get("meshConfig", {}).get("extensionProviders", []),
                *added,
            ]
        if merged_mesh:
            values["meshConfig"] = merged_mesh
        if self.values("global"):
            values["global"] = merge(istiod.get("global", {}), self.values("global"))
        return values


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """`over` laid on `base`: objects merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def leaves(tree: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    if isinstance(tree, Mapping) and tree:
        for key, value in tree.items():
            yield from leaves(value, (*path, key))
    elif isinstance(tree, list) and tree:
        for index, value in enumerate(tree):
            yield from leaves(value, (*path, index))
    else:
        yield path, tree


def format_path(path: tuple | list) -> str:
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            step = str(step).replace(".", "\\.")
            text += f".{step}" if text else step
    return text


_DURATION = re.compile(r"^-?\d+(\.\d+)?s$")
_EXPECTED = {
    "string": "a string",
    "bool": "true or false",
    "int": "a whole number",
    "number": "a number",
    "duration": "a duration in seconds such as '10s' (protobuf JSON)",
    "int-or-string": "a whole number or a string such as '25%'",
    "object": "an object",
    "list": "a list",
}


class Checker:
    """Walks a settings object against the schema, one problem line per bad path."""

    def __init__(self, schema: Schema):
        self.schema = schema
        self.release = f"Istio {schema.minor}"

    def problems(self, raw: Mapping[str, Any]) -> Iterator[str]:
        for key, value in raw.items():
            if key not in TOP_KEYS:
                yield self._top_key_problem(key)
            elif key == "meshConfig":
                yield from self.walk(value, self.schema.root(key), [key])
            else:
                yield from self.values_problems(value)

    def _top_key_problem(self, key: str) -> str:
        close = difflib.get_close_matches(key, TOP_KEYS, n=1)
        if close:
            return f"context istio: {key} is not a key the lab takes; did you mean {close[0]}?"
        return (
            f"context istio: {key} is not a key the lab takes (it installs with Helm, not "
            f"istioctl): it takes {' and '.join(TOP_KEYS)}"
        )

    def values_problems(self, value: Any) -> Iterator[str]:
        if not isinstance(value, dict):
            yield f"context istio: values={json.dumps(value)}: expected an object"
            return
        values_fields = self.schema.message(self.schema.data["roots"]["values"])
        for section, content in value.items():
            if section not in VALUES_SECTIONS:
                if section in values_fields:
                    yield (
                        f"context istio: values.{section} is not passed on by the lab: it takes "
                        f"values.{' and values.'.join(VALUES_SECTIONS)} (istiod's chart)"
                    )
                else:
                    yield self._unknown(["values", section], list(values_fields), "Values")
                continue
            if not isinstance(content, dict):
                yield f"context istio: values.{section}: expected an object"
                continue
            chart_keys = self.schema.chart_keys(section)
            fields = self.schema.message(values_fields[section]["type"].split(":", 1)[1])
            for key, item in content.items():
                path = ["values", section, key]
                if key in fields and key not in chart_keys:
                    yield (
                        f"context istio: {format_path(path)} is a field istioctl knows, but "
                        f"the istiod chart of {self.release} does not read it"
                    )
                    continue
                yield from self.walk(
                    {key: item}, values_fields[section]["type"], ["values", section]
                )

    def walk(self, value: Any, kind: str, path: list[str | int]) -> Iterator[str]:
        owned = _owned(path)
        if owned:
            yield owned
            return
        if kind.startswith("message:"):
            name = kind.split(":", 1)[1]
            if not isinstance(value, dict):
                yield self._type_problem(path, value, "an object")
                return
            fields = self.schema.message(name)
            for key, item in value.items():
                entry = fields.get(key)
                if entry is None:
                    yield self._unknown([*path, key], list(fields), name.rsplit(".", 1)[-1])
                    continue
                yield from self.field(item, entry, [*path, key])
        elif kind.startswith("enum:"):
            names = self.schema.data["enums"][kind.split(":", 1)[1]]
            if value not in names:
                close = difflib.get_close_matches(str(value), names, n=1)
                hint = f"did you mean {close[0]}?" if close else f"one of {', '.join(names)}"
                yield f"context istio: {format_path(path)}={json.dumps(value)}: {hint}"
        elif kind == "object":
            if not isinstance(value, dict):
                yield self._type_problem(path, value, _EXPECTED["object"])
            else:
                yield from filter(None, (_owned([*path, key]) for key in value))
                yield from _non_finite(value, path)
        elif kind == "any":
            yield from _non_finite(value, path)
        elif not _scalar_ok(kind, value):
            yield self._type_problem(path, value, _EXPECTED[kind])

    def field(self, value: Any, entry: Mapping[str, Any], path: list[str | int]) -> Iterator[str]:
        kind = entry["type"]
        if entry.get("list"):
            if not isinstance(value, list):
                yield self._type_problem(path, value, "a list")
                return
            for index, item in enumerate(value):
                yield from self.walk(item, kind, [*path, index])
        elif entry.get("map"):
            if not isinstance(value, dict):
                yield self._type_problem(path, value, "an object")
                return
            for key, item in value.items():
                yield from self.walk(item, kind, [*path, key])
        else:
            yield from self.walk(value, kind, path)

    def _unknown(self, path: list[str | int], fields: list[str], message: str) -> str:
        close = difflib.get_close_matches(str(path[-1]), fields, n=1, cutoff=0.6)
        if not close:
            lowered = {f.lower(): f for f in fields}
            flat = str(path[-1]).replace("_", "").lower()
            close = [lowered[flat]] if flat in lowered else []
        hint = (
            f"did you mean {format_path([*path[:-1], close[0]])}?"
            if close
            else f"{message} has {', '.join(sorted(fields))}"
        )
        return (
            f"context istio: {format_path(path)} is not a field of {message} in "
            f"{self.release}; {hint}"
        )

    def _type_problem(self, path: list[str | int], value: Any, expected: str) -> str:
        return f"context istio: {format_path(path)}={json.dumps(value)}: expected {expected}"


def _non_finite(value: Any, path: list[str | int]) -> Iterator[str]:
    """NaN and infinities have no JSON form: cdk.json could not hold them."""
    if isinstance(value, float) and not math.isfinite(value):
        yield f"context istio: {format_path(path)}={value}: expected a finite number"
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _non_finite(item, [*path, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _non_finite(item, [*path, index])


def _owned(path: list[str | int]) -> str | None:
    reason = LAB_OWNED.get(format_path(path))
    return f"context istio: {format_path(path)} is set by the lab: {reason}" if reason else None


def _scalar_ok(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return type(value) is int
    if kind == "number":
        return type(value) is int or (type(value) is float and math.isfinite(value))
    if kind == "int-or-string":
        return type(value) is int or isinstance(value, str)
    if kind == "duration":
        return isinstance(value, str) and bool(_DURATION.match(value))
    if kind == "list":
        return isinstance(value, list)
    return False


# --- istioctl's --set syntax, for `make istio-set` -------------------------------------------

_STEP = re.compile(r"((?:[^.\[\]\\]|\\.)+)|\[(\d+)\]")


def parse_path(text: str) -> list[str | int]:
    """`meshConfig.extensionProviders[0].name` -> ['meshConfig', 'extensionProviders', 0,
    'name']; a dot inside a key is written `\\.`."""
    path: list[str | int] = []
    position = 0
    while position < len(text):
        if text[position] == "." and path and position + 1 < len(text):
            position += 1
        found = _STEP.match(text, position)
        if not found:
            raise SettingsError([f"{text}: not a path such as meshConfig.accessLogFile"])
        key, index = found.groups()
        path.append(int(index) if index is not None else re.sub(r"\\(.)", r"\1", key))
        position = found.end()
    if not path or not isinstance(path[0], str):
        raise SettingsError([f"{text!r}: not a path such as meshConfig.accessLogFile"])
    return path


def parse_assignment(text: str, schema: Schema) -> tuple[list[str | int], Any]:
    """`path=value` as `istioctl install --set` takes it; the value gets the type of the
    field it sets (a string field keeps '1.0' a string), and where the field is free-form
    (values.pilot.env.*) true/false become booleans and numbers numbers, as istioctl does."""
    if "=" not in text:
        raise SettingsError(
            [f"{text}: expected path=value, e.g. meshConfig.accessLogFile=/dev/stdout"]
        )
    raw_path, text_value = text.split("=", 1)
    path = parse_path(raw_path)
    found = schema.field_type(path) if path[0] in TOP_KEYS else None
    kind = found[0] if found else "any"
    if found and (found[1] or found[2]) and not isinstance(path[-1], int):
        kind = "list" if found[1] else "object"
    if kind in ("string", "duration") or kind.startswith("enum:"):
        return path, text_value
    if kind == "bool" and text_value in ("true", "false"):
        return path, text_value == "true"
    if kind in ("int", "number", "any", "int-or-string"):
        converts = (int,) if kind == "int-or-string" else (int, float)
        for convert in converts:
            try:
                number = convert(text_value)
            except ValueError:
                continue
            # "nan" and "inf" stay text: JSON has no such numbers.
            if math.isfinite(number):
                return path, number
    if kind == "any" and text_value in ("true", "false"):
        return path, text_value == "true"
    return path, text_value


def with_assignments(
    tree: Mapping[str, Any], assignments: Iterable[str], schema: Schema
) -> dict[str, Any]:
    """A copy of `tree` with each `path=value` (istioctl's syntax) set, in order."""
    out = dict(tree)
    for assignment in assignments:
        path, value = parse_assignment(assignment, schema)
        out = with_value(out, path, value)
    return out


def with_value(tree: Mapping[str, Any], path: list[str | int], value: Any) -> dict[str, Any]:
    """A copy of `tree` with `value` at `path`, creating objects and lists on the way; a list
    index may be at most the list's length (the next entry)."""
    out = json.loads(json.dumps(tree))
    node: Any = out
    for step, following in zip(path, [*path[1:], None], strict=True):
        empty: Any = [] if isinstance(following, int) else {}
        if isinstance(step, int):
            if not isinstance(node, list):
                raise SettingsError([f"{format_path(path)}: [{step}] indexes something not a list"])
            if step > len(node):
                raise SettingsError(
                    [f"{format_path(path)}: index {step} is past the end of a list of {len(node)}"]
                )
            if step == len(node):
                node.append(empty)
            if following is None:
                node[step] = value
            node = node[step]
        else:
            if not isinstance(node, dict):
                raise SettingsError(
                    [f"{format_path(path)}: {step} is inside something not an object"]
                )
            if following is None:
                node[step] = value
            else:
                node = node.setdefault(step, empty)
    return out


def without_path(tree: Mapping[str, Any], path: list[str | int]) -> dict[str, Any]:
    """A copy of `tree` without `path`, and without the objects and lists left empty."""
    out = json.loads(json.dumps(tree))
    trail = [out]
    for step in path[:-1]:
        node = trail[-1]
        try:
            trail.append(node[step])
        except (KeyError, IndexError, TypeError):
            raise SettingsError([f"{format_path(path)}: not set"]) from None
    try:
        del trail[-1][path[-1]]
    except (KeyError, IndexError, TypeError):
        raise SettingsError([f"{format_path(path)}: not set"]) from None
    for depth in range(len(path) - 1, 0, -1):
        if not trail[depth]:
            del trail[depth - 1][path[depth - 1]]
    return out
