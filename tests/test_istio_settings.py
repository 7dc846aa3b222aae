"""The `istio` key: the docs' `istioctl install --set` paths, checked against Istio's field
table and laid over the lab's istiod values; and `make istio-set` / `istio-unset`, which keep
them in cdk.json."""

from __future__ import annotations

import json
import re

import pytest

from plan import facts
from plan.config import ConfigError, LabConfig
from plan.istio_settings import (
    LAB_OWNED,
    Schema,
    SettingsError,
    parse_assignment,
    parse_path,
    with_assignments,
    with_value,
    without_path,
)
from plan.observability import DEMO_EXTENSION_PROVIDERS
from scripts import istio_settings as cli
from tests.conftest import PROJECT_ROOT
from tests.istio_objects import lab_plan

MINOR = facts.SUPPORTED_ISTIO_MINORS[0]


def istiod(**context) -> dict:
    return dict(lab_plan(**context).mesh.istiod.values)


def problems(raw) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        LabConfig.from_context({"istio": raw})
    return caught.value.problems


def settings(*assignments: str) -> dict:
    """The settings object `make istio-set SET="..."` would write."""
    return with_assignments({}, assignments, Schema.of(MINOR))


# What the Task pages set with `istioctl install --set` (docs/tasks.md), and where the istiod
# chart's values must then have it.
TASK_SETTINGS = {
    "egress-control": (
        "meshConfig.outboundTrafficPolicy.mode=REGISTRY_ONLY",
        ("meshConfig", "outboundTrafficPolicy", "mode"),
        "REGISTRY_ONLY",
    ),
    "ingress-sidecar-tls-termination": (
        "values.pilot.env.ENABLE_TLS_ON_SIDECAR_INGRESS=true",
        ("env", "ENABLE_TLS_ON_SIDECAR_INGRESS"),
        True,
    ),
    "authz-td-migration": (
        "meshConfig.trustDomain=old-td",
        ("meshConfig", "trustDomain"),
        "old-td",
    ),
    "workload-min-tls-version": (
        "meshConfig.meshMTLS.minProtocolVersion=TLSV1_3",
        ("meshConfig", "meshMTLS", "minProtocolVersion"),
        "TLSV1_3",
    ),
    "mesh-and-proxy-config": (
        "meshConfig.defaultConfig.tracing.sampling=10",
        ("meshConfig", "defaultConfig", "tracing", "sampling"),
        10,
    ),
    "agentgateway": (
        "values.pilot.env.PILOT_ENABLE_AGENTGATEWAY=true",
        ("env", "PILOT_ENABLE_AGENTGATEWAY"),
        True,
    ),
}


@pytest.mark.parametrize("page", TASK_SETTINGS)
def test_a_task_pages_setting_reaches_istiods_values(page):
    assignment, where, expected = TASK_SETTINGS[page]
    values = istiod(istio=settings(assignment))
    for step in where:
        values = values[step]
    assert values == expected


def test_the_labs_own_mesh_settings_stay_beside_the_learners():
    lab = istiod()
    changed = istiod(istio=settings("meshConfig.outboundTrafficPolicy.mode=REGISTRY_ONLY"))
    mesh = changed["meshConfig"]
    assert mesh.pop("outboundTrafficPolicy") == {"mode": "REGISTRY_ONLY"}
    assert mesh == lab["meshConfig"]
    assert {k: v for k, v in changed.items() if k != "meshConfig"} == {
        k: v for k, v in lab.items() if k != "meshConfig"
    }


def test_an_objects_keys_merge_and_a_scalar_replaces():
    lab = istiod()
    assert lab["meshConfig"]["accessLogFile"] == "/dev/stdout"
    changed = istiod(istio=settings("meshConfig.accessLogFile=", "values.global.logAsJson=true"))
    assert changed["meshConfig"]["accessLogFile"] == ""
    assert changed["global"]["logAsJson"] is True
    # The lab's proxy requests are still there, under the same `global`.
    assert changed["global"]["proxy"] == lab["global"]["proxy"]


def test_extension_providers_are_added_to_the_labs():
    ext_authz = {
        "name": "sample-ext-authz-grpc",
        "envoyExtAuthzGrpc": {"service": "ext-authz.foo.svc.cluster.local", "port": 9000},
    }
    providers = istiod(istio={"meshConfig": {"extensionProviders": [ext_authz]}})["meshConfig"][
        "extensionProviders"
    ]
    assert providers == [*istiod()["meshConfig"]["extensionProviders"], ext_authz]


def test_a_provider_with_a_name_of_the_labs_is_refused():
    name = DEMO_EXTENSION_PROVIDERS[0].name
    raw = {"meshConfig": {"extensionProviders": [{"name": name, "envoyOtelAls": {"port": 1}}]}}
    with pytest.raises(ConfigError) as caught:
        lab_plan(istio=raw)
    (line,) = caught.value.problems
    assert f"extensionProviders[0].name={name!r} is a provider of the lab's" in line


def test_one_command_settings_arrive_as_json_text():
    text = json.dumps(settings("meshConfig.outboundTrafficPolicy.mode=REGISTRY_ONLY"))
    values = istiod(istio=text)
    assert values["meshConfig"]["outboundTrafficPolicy"] == {"mode": "REGISTRY_ONLY"}
    assert problems("{meshConfig:") == ["context istio: not JSON (Expecting property name "
                                        "enclosed in double quotes)"]  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {"meshConfig": {"outboundTraficPolicy": {"mode": "REGISTRY_ONLY"}}},
            "context istio: meshConfig.outboundTraficPolicy is not a field of MeshConfig in "
            "Istio 1.31; did you mean meshConfig.outboundTrafficPolicy?",
        ),
        (
            {"meshConfig": {"access_log_file": "/dev/stdout"}},
            "context istio: meshConfig.access_log_file is not a field of MeshConfig in Istio "
            "1.31; did you mean meshConfig.accessLogFile?",
        ),
        (
            {"meshConfig": {"outboundTrafficPolicy": {"mode": "REGISTRY"}}},
            'context istio: meshConfig.outboundTrafficPolicy.mode="REGISTRY": did you mean '
            "REGISTRY_ONLY?",
        ),
        (
            {"meshConfig": {"trustDomain": 5}},
            "context istio: meshConfig.trustDomain=5: expected a string",
        ),
        (
            {"meshConfig": {"connectTimeout": "1m"}},
            'context istio: meshConfig.connectTimeout="1m": expected a duration in seconds '
            "such as '10s' (protobuf JSON)",
        ),
        (
            {"meshConfig": {"trustDomainAliases": "old-td"}},
            'context istio: meshConfig.trustDomainAliases="old-td": expected a list',
        ),
        (
            {"meshConfig": {"defaultConfig": {"tracing": {"zipkin": {"adress": "x:9411"}}}}},
            "context istio: meshConfig.defaultConfig.tracing.zipkin.adress is not a field of "
            "Zipkin in Istio 1.31; did you mean "
            "meshConfig.defaultConfig.tracing.zipkin.address?",
        ),
        (
            {"values": {"pilot": {"enabled": True}}},
            "context istio: values.pilot.enabled is a field istioctl knows, but the istiod "
            "chart of Istio 1.31 does not read it",
        ),
        (
            {"values": {"cni": {"enabled": True}}},
            "context istio: values.cni is not passed on by the lab: it takes values.pilot and "
            "values.global (istiod's chart)",
        ),
        (
            {"profile": "demo"},
            "context istio: profile is not a key the lab takes (it installs with Helm, not "
            "istioctl): it takes meshConfig and values",
        ),
        (
            {"values": {"pilot": {"traceSampling": 5}}},
            "context istio: values.pilot.traceSampling is set by the lab: set the sampling "
            "percentage with the tracingSampling key",
        ),
        (
            {"values": {"pilot": {"env": {"PILOT_ENABLE_ALPHA_GATEWAY_API": "true"}}}},
            "context istio: values.pilot.env.PILOT_ENABLE_ALPHA_GATEWAY_API is set by the lab: "
            "the gatewayApiChannel key sets it (experimental turns it on)",
        ),
        (
            ["meshConfig"],
            'context istio: expected an object such as {"meshConfig": {...}, "values": '
            '{"pilot": {...}, "global": {...}}}',
        ),
    ],
)
def test_a_bad_path_or_value_is_one_line_naming_it(raw, expected):
    assert problems(raw) == [expected]


def test_every_bad_path_is_reported_at_once():
    raw = {"meshConfig": {"trustDomain": 1, "rootNamespace": "x"}, "values": {"foo": {}}}
    lines = problems(raw)
    assert len(lines) == 3
    assert lines[1].startswith("context istio: meshConfig.rootNamespace is set by the lab")
    assert lines[2].startswith("context istio: values.foo is not a field of Values")


def test_every_lab_owned_path_is_a_field_istio_knows():
    schema = Schema.of(MINOR)
    for path in LAB_OWNED:
        steps = parse_path(path)
        if steps[:3] == ["values", "pilot", "env"]:
            continue  # env is free-form
        assert schema.field_type(steps) is not None, path


def test_the_field_table_is_istios_own_of_the_supported_minor():
    schema = Schema.of(MINOR)
    source = schema.source
    assert source["istio/api"]["ref"] == source["istio/istio"]["ref"] == f"release-{MINOR}"
    assert re.fullmatch(r"[0-9a-f]{40}", source["istio/api"]["commit"])
    read = {f["path"] for f in source["istio/api"]["files"]}
    assert {"mesh/v1alpha1/config.proto", "mesh/v1alpha1/proxy.proto"} <= read
    assert [f["path"] for f in source["istio/istio"]["files"]] == [
        "operator/pkg/apis/values_types.proto"
    ]
    mesh = schema.message("istio.mesh.v1alpha1.MeshConfig")
    # Fields the Task pages set (docs/tasks.md), by their names on istio.io.
    for name in ("outboundTrafficPolicy", "trustDomain", "trustDomainAliases", "meshMTLS",
                 "defaultConfig", "extensionProviders", "serviceEntryVisibility",
                 "accessLogFile", "accessLogEncoding", "enableTracing"):  # fmt: skip
        assert name in mesh, name
    modes = schema.data["enums"]["istio.mesh.v1alpha1.MeshConfig.OutboundTrafficPolicy.Mode"]
    assert {"REGISTRY_ONLY", "ALLOW_ANY"} <= set(modes)
    # The istiod chart's keys the lab itself sets are ones the chart reads.
    lab = istiod()
    assert set(lab) - {"meshConfig", "global", "profile", "gatewayClasses"} <= set(
        schema.chart_keys("pilot")
    )


def test_every_supported_minor_has_a_field_table():
    for minor in facts.SUPPORTED_ISTIO_MINORS:
        assert Schema.of(minor).minor == minor


# --- istioctl's path syntax -----------------------------------------------------------------


def test_paths_take_istioctls_syntax():
    assert parse_path("meshConfig.extensionProviders[0].name") == [
        "meshConfig",
        "extensionProviders",
        0,
        "name",
    ]
    assert parse_path(r"values.pilot.podAnnotations.example\.com/team") == [
        "values",
        "pilot",
        "podAnnotations",
        "example.com/team",
    ]
    with pytest.raises(SettingsError):
        parse_path("[0].name")


@pytest.mark.parametrize(
    ("assignment", "value"),
    [
        ("meshConfig.trustDomain=123", "123"),  # a string field keeps digits a string
        ("meshConfig.enableTracing=true", True),
        ("meshConfig.defaultConfig.tracing.sampling=12.5", 12.5),
        ("meshConfig.extensionProviders[0].envoyExtAuthzGrpc.port=9000", 9000),
        ("meshConfig.outboundTrafficPolicy.mode=REGISTRY_ONLY", "REGISTRY_ONLY"),
        ("values.pilot.env.PILOT_ENABLE_AGENTGATEWAY=true", True),
        ("meshConfig.accessLogFile=", ""),
    ],
)
def test_a_value_takes_the_type_of_its_field(assignment, value):
    assert parse_assignment(assignment, Schema.of(MINOR))[1] == value


def test_list_entries_are_set_one_index_at_a_time():
    tree = with_value({}, ["meshConfig", "trustDomainAliases", 0], "a")
    tree = with_value(tree, ["meshConfig", "trustDomainAliases", 1], "b")
    assert tree == {"meshConfig": {"trustDomainAliases": ["a", "b"]}}
    with pytest.raises(SettingsError, match="index 3 is past the end of a list of 2"):
        with_value(tree, ["meshConfig", "trustDomainAliases", 3], "c")


def test_unset_removes_the_path_and_what_it_leaves_empty():
    tree = settings(
        "meshConfig.outboundTrafficPolicy.mode=REGISTRY_ONLY", "meshConfig.trustDomain=a"
    )
    assert without_path(tree, ["meshConfig", "outboundTrafficPolicy", "mode"]) == {
        "meshConfig": {"trustDomain": "a"}
    }
    assert without_path(tree, ["meshConfig"]) == {}
    with pytest.raises(SettingsError, match="not set"):
        without_path(tree, ["values", "pilot"])


# --- make istio-set / istio-unset ---------------------------------------------------------


@pytest.fixture
def cdk_json(tmp_path):
    path = tmp_path / "cdk.json"
    path.write_text(json.dumps({"app": "x", "context": {"istioVersion": "1.31.1", "istio": {}}}))
    return path


def run(cdk_json, *args) -> int:
    return cli.main(["--cdk-json", str(cdk_json), *args])


def test_set_keeps_the_settings_in_cdk_json_and_unset_removes_them(cdk_json, capsys):
    assert run(cdk_json, "set", "meshConfig.outboundTrafficPolicy.mode=REGISTRY_ONLY") == 0
    assert run(cdk_json, "set", "values.pilot.env.ENABLE_TLS_ON_SIDECAR_INGRESS=true") == 0
    context = json.loads(cdk_json.read_text())["context"]
    assert context["istio"] == {
        "meshConfig": {"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}},
        "values": {"pilot": {"env": {"ENABLE_TLS_ON_SIDECAR_INGRESS": True}}},
    }
    # What cdk.json now holds is what a synth accepts.
    LabConfig.from_context(context)
    assert "meshConfig.outboundTrafficPolicy.mode=" in capsys.readouterr().out
    assert run(cdk_json, "unset", "meshConfig.outboundTrafficPolicy") == 0
    assert json.loads(cdk_json.read_text())["context"]["istio"] == {
        "values": {"pilot": {"env": {"ENABLE_TLS_ON_SIDECAR_INGRESS": True}}}
    }
    assert run(cdk_json, "unset") == 0
    assert json.loads(cdk_json.read_text())["context"]["istio"] == {}


def test_a_refused_setting_leaves_cdk_json_as_it_was(cdk_json, capsys):
    before = cdk_json.read_text()
    assert run(cdk_json, "set", "meshConfig.outboundTrafficPolicy.mode=REGISTRY") == 2
    assert cdk_json.read_text() == before
    assert capsys.readouterr().err == (
        'error: context istio: meshConfig.outboundTrafficPolicy.mode="REGISTRY": did you '
        "mean REGISTRY_ONLY?\n"
    )


def test_the_makefile_deploys_the_cluster_stack():
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    for command in ("set $(SET)", "unset $(PATHS)"):
        assert f"scripts.istio_settings {command}\n\t$(DEPLOY_CLUSTER_STACK)" in makefile


def test_the_capacity_check_counts_the_proxies_requests_the_settings_give():
    requests = {"values": {"global": {"proxy": {"resources": {"requests": {"cpu": "4"}}}}}}
    (line,) = problems_of_plan(requests)
    assert line.startswith("context nodeInstanceType='m5.large', nodeCount=2: the lab's pods")
    unreadable = {"values": {"global": {"proxy": {"resources": {"requests": {"cpu": "lots"}}}}}}
    assert problems_of_plan(unreadable) == ["context istio: unreadable CPU request 'lots'"]


def problems_of_plan(raw) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        lab_plan(istio=raw)
    return caught.value.problems


def test_an_int_or_string_takes_either_form_as_kubernetes_writes_it():
    raw = {"values": {"pilot": {"rollingMaxSurge": "50%", "rollingMaxUnavailable": 1}}}
    values = istiod(istio=raw)
    assert (values["rollingMaxSurge"], values["rollingMaxUnavailable"]) == ("50%", 1)
    assert problems({"values": {"pilot": {"rollingMaxSurge": {"strVal": "50%"}}}}) == [
        'context istio: values.pilot.rollingMaxSurge={"strVal": "50%"}: expected a whole '
        "number or a string such as '25%'"
    ]
    assert parse_assignment("values.pilot.rollingMaxSurge=25%", Schema.of(MINOR))[1] == "25%"
    assert parse_assignment("values.pilot.rollingMaxSurge=2", Schema.of(MINOR))[1] == 2


def test_nan_and_infinity_never_reach_cdk_json(tmp_path, cdk_json, capsys):
    # JSON has no such numbers: the CDK CLI could not read the file any more.
    assert parse_assignment("values.pilot.env.FOO=nan", Schema.of(MINOR))[1] == "nan"
    assert run(cdk_json, "set", "meshConfig.defaultConfig.tracing.sampling=Infinity") == 2
    assert 'sampling="Infinity": expected a number' in capsys.readouterr().err
    assert problems({"values": {"pilot": {"env": {"X": float("inf")}}}}) == [
        "context istio: values.pilot.env.X=inf: expected a finite number"
    ]


def test_the_waypoints_requests_stay_the_capacity_checks():
    raw = {"values": {"global": {"waypoint": {"resources": {"requests": {"cpu": "8"}}}}}}
    (line,) = problems(raw)
    assert line.startswith("context istio: values.global.waypoint.resources is set by the lab")


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"istioVersion": "1.30.2"},
         "error: context istioVersion='1.30.2': the lab knows the fields of Istio 1.31 only"),
        ({"istio": "{bad"},
         "error: context istio: not JSON (Expecting property name enclosed in double quotes)"),
        ({"istio": [1]}, 'error: context istio: expected an object such as {"meshConfig": '
                         '{...}, "values": {"pilot": {...}, "global": {...}}}'),
    ],
)  # fmt: skip
def test_a_cdk_json_the_lab_cannot_read_is_one_line(tmp_path, capsys, context, expected):
    path = tmp_path / "cdk.json"
    path.write_text(json.dumps({"context": context}))
    assert run(path, "set", "meshConfig.trustDomain=x") == 2
    assert capsys.readouterr().err == expected + "\n"
