"""Write the field table the `istio` context key is checked against, from Istio's own protos.

    python -m scripts.istio_schema --api GITDIR --istio GITDIR --ref release-1.31 \
        --chart CHART_DIR > plan/istio_schema/1.31.json

`--api` and `--istio` are git directories of github.com/istio/api and github.com/istio/istio
(a bare clone is enough); `--ref` is the branch or tag of the deployed Istio minor in both.
The roots are what istioctl decodes an IstioOperator's `meshConfig` and `values` into:
istio.mesh.v1alpha1.MeshConfig (istio/api mesh/v1alpha1/config.proto and what it imports) and
istio.operator.v1alpha1.Values (istio/istio operator/pkg/apis/values_types.proto).
`--chart` is the istiod chart of the same ref (manifests/charts/istio-control/istio-discovery):
the table records which keys under `values.pilot` (the chart's root) and `values.global` the
chart reads, as a default in values.yaml or a `.Values.<key>` in a template or file.

Only this script reads protos; the lab reads the JSON it writes (plan/istio_settings.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MESH_CONFIG = "istio.mesh.v1alpha1.MeshConfig"
VALUES = "istio.operator.v1alpha1.Values"
MESH_PROTO = "mesh/v1alpha1/config.proto"
VALUES_PROTO = "operator/pkg/apis/values_types.proto"

# Well-known types, by how their JSON looks.
WELL_KNOWN = {
    "google.protobuf.Duration": "duration",
    "google.protobuf.BoolValue": "bool",
    "google.protobuf.StringValue": "string",
    "google.protobuf.BytesValue": "string",
    "google.protobuf.Int32Value": "int",
    "google.protobuf.UInt32Value": "int",
    "google.protobuf.Int64Value": "int",
    "google.protobuf.UInt64Value": "int",
    "google.protobuf.DoubleValue": "number",
    "google.protobuf.FloatValue": "number",
    "google.protobuf.Struct": "object",
    "google.protobuf.Value": "any",
    "google.protobuf.Any": "object",
    "google.protobuf.ListValue": "list",
    "google.protobuf.Timestamp": "string",
    "google.protobuf.Empty": "object",
    # Values' own IntOrString is written as Kubernetes writes one: 1 or "25%"
    # (operator/pkg/apis/value_types_json.go unmarshals either form).
    "istio.operator.v1alpha1.IntOrString": "int-or-string",
}
SCALARS = {
    "string": "string",
    "bytes": "string",
    "bool": "bool",
    "double": "number",
    "float": "number",
    **{
        t: "int"
        for t in (
            [
                "int32",
                "int64",
                "uint32",
                "uint64",
                "sint32",
                "sint64",
                "fixed32",
                "fixed64",
                "sfixed32",
                "sfixed64",
            ]
        )
    },
}

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|[A-Za-z_.][\w.]*|-?\d[\w.+-]*|\S')


@dataclass
class Field:
    name: str
    json_name: str | None
    type: str
    repeated: bool = False
    map_value: str | None = None
    deprecated: bool = False


@dataclass
class Message:
    fields: list[Field] = field(default_factory=list)


@dataclass
class ProtoFile:
    package: str
    imports: list[str]
    messages: dict[str, Message]  # by full name
    enums: dict[str, list[str]]  # by full name


def tokens(text: str) -> list[str]:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return _TOKEN.findall(text)


class Parser:
    """Enough of proto3 for Istio's API files: messages, enums, oneofs, maps, field options."""

    def __init__(self, text: str):
        self.toks = tokens(text)
        self.i = 0
        self.package = ""
        self.imports: list[str] = []
        self.messages: dict[str, Message] = {}
        self.enums: dict[str, list[str]] = {}

    def peek(self) -> str:
        return self.toks[self.i]

    def take(self, expected: str | None = None) -> str:
        tok = self.toks[self.i]
        if expected is not None and tok != expected:
            raise SyntaxError(f"expected {expected!r}, found {tok!r} at token {self.i}")
        self.i += 1
        return tok

    def skip_statement(self) -> None:
        """Up to and including the next ';' outside braces (options with aggregate values)."""
        depth = 0
        while True:
            tok = self.take()
            if tok == "{":
                depth += 1
            elif tok == "}":
                depth -= 1
            elif tok == ";" and depth == 0:
                return

    def skip_block(self) -> None:
        self.take("{")
        depth = 1
        while depth:
            tok = self.take()
            depth += {"{": 1, "}": -1}.get(tok, 0)

    def parse(self) -> ProtoFile:
        while self.i < len(self.toks):
            tok = self.peek()
            if tok == "package":
                self.take()
                self.package = self.take()
                self.take(";")
            elif tok == "import":
                self.take()
                if self.peek() in ("public", "weak"):
                    self.take()
                self.imports.append(self.take().strip("\"'"))
                self.take(";")
            elif tok == "message":
                self.message(self.package)
            elif tok == "enum":
                self.enum(self.package)
            elif tok in ("service", "extend"):
                self.take()
                self.take()
                self.skip_block()
            elif tok == ";":
                self.take()
            else:  # syntax, option
                self.skip_statement()
        return ProtoFile(self.package, self.imports, self.messages, self.enums)

    def message(self, scope: str) -> None:
        self.take("message")
        name = f"{scope}.{self.take()}".lstrip(".")
        message = self.messages.setdefault(name, Message())
        self.take("{")
        self.body(name, message, closing="}")

    def body(self, scope: str, message: Message, *, closing: str) -> None:
        while self.peek() != closing:
            tok = self.peek()
            if tok == "message":
                self.message(scope)
            elif tok == "enum":
                self.enum(scope)
            elif tok == "oneof":
                self.take()
                self.take()
                self.take("{")
                self.body(scope, message, closing="}")
            elif tok in ("option", "reserved", "extensions"):
                self.skip_statement()
            elif tok == "extend":
                self.take()
                self.take()
                self.skip_block()
            elif tok == ";":
                self.take()
            else:
                message.fields.append(self.field())
        self.take(closing)

    def field(self) -> Field:
        repeated = False
        if self.peek() in ("repeated", "optional", "required"):
            repeated = self.take() == "repeated"
        map_value = None
        if self.peek() == "map":
            self.take()
            self.take("<")
            self.take()  # the key type: JSON keys are strings
            self.take(",")
            map_value = self.take()
            self.take(">")
            type_name = "map"
        else:
            type_name = self.take()
        name = self.take()
        self.take("=")
        self.take()
        json_name, deprecated = None, False
        if self.peek() == "[":
            options = []
            depth = 0
            while True:
                tok = self.take()
                depth += {"[": 1, "]": -1, "{": 1, "}": -1}.get(tok, 0)
                options.append(tok)
                if depth == 0:
                    break
            text = " ".join(options)
            found = re.search(r"json_name = ([\"'])(.*?)\1", text)
            json_name = found[2] if found else None
            deprecated = bool(re.search(r"\bdeprecated = true\b", text))
        self.take(";")
        return Field(name, json_name, type_name, repeated, map_value, deprecated)

    def enum(self, scope: str) -> None:
        self.take("enum")
        name = f"{scope}.{self.take()}".lstrip(".")
        self.take("{")
        values: list[str] = []
        while self.peek() != "}":
            tok = self.peek()
            if tok in ("option", "reserved"):
                self.skip_statement()
            elif tok == ";":
                self.take()
            else:
                values.append(self.take())
                self.skip_statement()
        self.take("}")
        self.enums[name] = values


@dataclass
class Source:
    git_dir: str
    ref: str

    def show(self, path: str) -> bytes:
        return subprocess.run(
            ["git", f"--git-dir={self.git_dir}", "show", f"{self.ref}:{path}"],
            check=True,
            capture_output=True,
        ).stdout

    def commit(self) -> str:
        return subprocess.run(
            ["git", f"--git-dir={self.git_dir}", "rev-parse", f"{self.ref}^{{commit}}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()


def load(source: Source, root: str, files: dict[str, ProtoFile], read: list[dict]) -> None:
    """Parse `root` and every file it imports from the same repository."""
    if root in files or root.startswith("google/"):
        return
    content = source.show(root)
    read.append({"path": root, "sha256": hashlib.sha256(content).hexdigest()})
    files[root] = Parser(content.decode()).parse()
    for imported in files[root].imports:
        load(source, imported, files, read)


def lower_camel(name: str) -> str:
    """protoc's JSON name: underscores removed, the next letter upper-cased."""
    parts = name.split("_")
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


class Resolver:
    def __init__(self, files: dict[str, ProtoFile]):
        self.messages = {k: v for f in files.values() for k, v in f.messages.items()}
        self.enums = {k: v for f in files.values() for k, v in f.enums.items()}

    def resolve(self, scope: str, type_name: str) -> str:
        if type_name in SCALARS:
            return SCALARS[type_name]
        qualified = type_name.lstrip(".")
        if qualified in WELL_KNOWN:
            return WELL_KNOWN[qualified]
        if type_name.startswith("."):
            candidates = [qualified]
        else:
            parts = scope.split(".")
            candidates = [".".join([*parts[:n], qualified]) for n in range(len(parts), -1, -1)]
        for candidate in candidates:
            candidate = candidate.lstrip(".")
            if candidate in WELL_KNOWN:
                return WELL_KNOWN[candidate]
            if candidate in self.messages:
                return f"message:{candidate}"
            if candidate in self.enums:
                return f"enum:{candidate}"
        raise KeyError(f"cannot resolve {type_name} in {scope}")


def table(
    resolver: Resolver, roots: dict[str, tuple[str, str]]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Every message reachable from the roots, each field under the name a key takes.

    roots: the IstioOperator key -> (message, naming): "json" names fields as protojson
    writes them (MeshConfig, which istiod reads as YAML of its JSON form), "proto" by the
    field's own name unless a json_name is given (Values, as the charts read them).
    """
    messages: dict[str, Any] = {}
    enums: dict[str, list[str]] = {}

    def walk(full_name: str, naming: str) -> None:
        if full_name in messages:
            return
        message = resolver.messages[full_name]
        fields: dict[str, Any] = {}
        messages[full_name] = fields
        for f in message.fields:
            element = f.map_value if f.type == "map" else f.type
            kind = resolver.resolve(full_name, element)
            key = f.json_name or (lower_camel(f.name) if naming == "json" else f.name)
            entry: dict[str, Any] = {"type": kind}
            if f.repeated:
                entry["list"] = True
            if f.type == "map":
                entry["map"] = True
            if f.deprecated:
                entry["deprecated"] = True
            fields[key] = entry
            if kind.startswith("message:"):
                walk(kind.split(":", 1)[1], naming)
            elif kind.startswith("enum:"):
                enum = kind.split(":", 1)[1]
                enums[enum] = resolver.enums[enum]

    for message, naming in roots.values():
        walk(message, naming)
    return messages, enums


def chart_keys(chart: Path) -> tuple[list[str], list[str]]:
    """The keys at the chart's root and under `global` that it has a default for or that a
    template (or a file istiod renders, such as the injection template) reads."""
    defaults = yaml.safe_load((chart / "values.yaml").read_text())["_internal_defaults_do_not_set"]
    root, under_global = set(defaults), set(defaults.get("global", {}))
    for path in sorted([*chart.glob("templates/*"), *chart.glob("files/*")]):
        text = path.read_text()
        root |= set(re.findall(r"\.Values\.([A-Za-z][A-Za-z0-9_]*)", text))
        under_global |= set(re.findall(r"\.Values\.global\.([A-Za-z][A-Za-z0-9_]*)", text))
        under_global |= set(re.findall(r"\(\$\.Values\.global\)\.([A-Za-z][A-Za-z0-9_]*)", text))
    return sorted(root), sorted(under_global)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api", required=True, help="git directory of istio/api")
    parser.add_argument("--istio", required=True, help="git directory of istio/istio")
    parser.add_argument("--ref", required=True, help="branch or tag, e.g. release-1.31")
    parser.add_argument("--chart", required=True, help="the istiod chart's directory")
    args = parser.parse_args(argv)

    api, istio = Source(args.api, args.ref), Source(args.istio, args.ref)
    files: dict[str, ProtoFile] = {}
    api_read: list[dict] = []
    istio_read: list[dict] = []
    load(api, MESH_PROTO, files, api_read)
    load(istio, VALUES_PROTO, files, istio_read)
    messages, enums = table(
        Resolver(files), {"meshConfig": (MESH_CONFIG, "json"), "values": (VALUES, "proto")}
    )
    root_keys, global_keys = chart_keys(Path(args.chart))
    out = {
        "source": {
            "istio/api": {"ref": args.ref, "commit": api.commit(), "files": api_read},
            "istio/istio": {"ref": args.ref, "commit": istio.commit(), "files": istio_read},
        },
        "roots": {"meshConfig": MESH_CONFIG, "values": VALUES},
        "istiodChartKeys": root_keys,
        "istiodChartGlobalKeys": global_keys,
        "messages": messages,
        "enums": enums,
    }
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
