"""scripts/istio_schema.py reads proto files into the field table the `istio` key is checked
against: here on a small proto with the constructs Istio's API files use."""

from __future__ import annotations

from scripts.istio_schema import Parser, Resolver, chart_keys, table

PROTO = """
syntax = "proto3";
// A comment with a message Fake { in it.
package demo.v1;
import "google/protobuf/duration.proto";
option go_package = "demo";

message Config {
  /* block comment */
  string access_log_file = 1;
  google.protobuf.Duration connect_timeout = 2 [deprecated = true];
  repeated Provider extension_providers = 3;
  map<string, Inner> by_name = 4;
  Mode mode = 5;
  message Inner {
    option (demo.opt) = { a: 1; b: "x" };
    bool on = 1;
    reserved 2;
  }
  enum Mode {
    option allow_alias = true;
    REGISTRY_ONLY = 0;
    ALLOW_ANY = 1 [(demo.x) = true];
  }
  oneof kind {
    Inner inner = 6;
    uint32 port = 7 [json_name = "servicePort"];
  }
}

message Provider {
  string name = 1;
  google.protobuf.Struct extra = 2;
}
"""


def parsed():
    return Parser(PROTO).parse()


def test_messages_enums_and_fields_are_read_with_their_scope():
    proto = parsed()
    assert proto.package == "demo.v1"
    assert proto.imports == ["google/protobuf/duration.proto"]
    assert set(proto.messages) == {"demo.v1.Config", "demo.v1.Config.Inner", "demo.v1.Provider"}
    assert proto.enums == {"demo.v1.Config.Mode": ["REGISTRY_ONLY", "ALLOW_ANY"]}
    names = [f.name for f in proto.messages["demo.v1.Config"].fields]
    assert names == [
        "access_log_file",
        "connect_timeout",
        "extension_providers",
        "by_name",
        "mode",
        "inner",
        "port",
    ]


def test_the_table_names_fields_as_the_json_form_writes_them():
    messages, enums = table(
        Resolver({"demo.proto": parsed()}), {"meshConfig": ("demo.v1.Config", "json")}
    )
    config = messages["demo.v1.Config"]
    assert config == {
        "accessLogFile": {"type": "string"},
        "connectTimeout": {"type": "duration", "deprecated": True},
        "extensionProviders": {"type": "message:demo.v1.Provider", "list": True},
        "byName": {"type": "message:demo.v1.Config.Inner", "map": True},
        "mode": {"type": "enum:demo.v1.Config.Mode"},
        "inner": {"type": "message:demo.v1.Config.Inner"},
        "servicePort": {"type": "int"},
    }
    assert messages["demo.v1.Provider"] == {
        "name": {"type": "string"},
        "extra": {"type": "object"},
    }
    assert enums == {"demo.v1.Config.Mode": ["REGISTRY_ONLY", "ALLOW_ANY"]}


def test_proto_naming_keeps_the_fields_own_names():
    messages, _ = table(Resolver({"demo.proto": parsed()}), {"values": ("demo.v1.Config", "proto")})
    assert "access_log_file" in messages["demo.v1.Config"]
    assert "servicePort" in messages["demo.v1.Config"]


def test_chart_keys_are_defaults_and_what_templates_read(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "files").mkdir()
    (tmp_path / "values.yaml").write_text(
        "_internal_defaults_do_not_set:\n  env: {}\n  global:\n    hub: x\n"
    )
    (tmp_path / "templates" / "deployment.yaml").write_text(
        "{{ .Values.traceSampling }} {{ .Values.global.logAsJson }}"
    )
    (tmp_path / "files" / "injection.yaml").write_text("{{ ($.Values.global).proxy }}")
    assert chart_keys(tmp_path) == (
        ["env", "global", "traceSampling"],
        ["hub", "logAsJson", "proxy"],
    )
