"""The README and the pages under docs/ say what the code does.

Every table that restates the code is compared with what the code computes (configuration
keys, scenarios, analyzer rules, versions, node capacity, leftover kinds, dashboards), the
numbers the prose quotes come from the modules that define them, and every link between the
pages resolves to a file and a heading that exist.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from checks import istio_analyzer
from constructs import load_balancer_cleanup
from constructs.load_balancer_cleanup_handler import cleanup_contract
from plan import facts, modes
from plan.capacity import Pods
from plan.config import (
    CAPACITY_TYPES,
    DEFAULTS,
    MAX_NAT_GATEWAYS,
    MAX_NODES,
    MIN_NODES,
    SUPPORTED_KUBERNETES,
)
from plan.gateway_api import CHANNELS as GATEWAY_API_CHANNELS
from plan.ingress import ChartIngress, GatewayApiIngress, NlbSettings
from plan.observability import DASHBOARD_DOWNLOADER_IMAGE, ISTIO_DASHBOARDS, JAEGER, ZIPKIN
from plan.routing import RESERVED_SUBSETS
from plan.scenarios import AMBIENT_FORM, SCENARIO_TABLE
from smoke import cli as smoke_cli
from smoke import traces as smoke_traces
from smoke import verdict as smoke_verdict
from smoke.classify import OUTCOMES
from tests.conftest import PROJECT_ROOT
from tests.handler_modules import handler_module
from tests.istio_objects import analyzer_messages, lab_objects, lab_plan

README = PROJECT_ROOT / "README.md"
DOCS = PROJECT_ROOT / "docs"
# The README is the learner's first page; the rest belongs in docs/.
README_MAX_LINES = 350

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
# A release number x.y.z standing alone (not part of an address such as 10.0.0.0).
VERSION = re.compile(r"(?<![\d.])v?(\d+\.\d+\.\d+)(?![\d.])")


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def prose(path: Path) -> str:
    """The page's text with every run of whitespace one space, so that a phrase is found
    wherever the lines break."""
    return " ".join(text(path).split())


def pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def table(path: Path, *header: str) -> list[list[str]]:
    """The body rows of the Markdown table in `path` whose header row begins with `header`."""
    lines = text(path).splitlines()
    for index, line in enumerate(lines):
        if line.startswith("|") and cells(line)[: len(header)] == list(header):
            rows = []
            for row in lines[index + 2 :]:
                if not row.startswith("|"):
                    break
                rows.append(cells(row))
            return rows
    raise AssertionError(f"{path.name} has no table with the columns {header}")


def unquoted(cell: str) -> str:
    """The first `code` span of a cell, without its backticks."""
    match = re.search(r"`([^`]+)`", cell)
    assert match, cell
    return match[1]


# --- Configuration -------------------------------------------------------------------------


def keys_table() -> dict[str, list[str]]:
    return {unquoted(row[0]): row for row in table(README, "key", "default", "meaning")}


def test_the_readme_lists_every_context_key_with_its_default():
    rows = keys_table()
    assert list(rows) == list(DEFAULTS)
    for key, default in DEFAULTS.items():
        as_json = isinstance(default, (bool, list)) or default == ""
        shown = json.dumps(default) if as_json else str(default)
        assert rows[key][1] == f"`{shown}`", key


def test_the_keys_table_names_the_values_each_key_accepts():
    meaning = {key: row[2] for key, row in keys_table().items()}
    choices = {
        "kubernetesVersion": SUPPORTED_KUBERNETES,
        "istioVersion": facts.SUPPORTED_ISTIO_MINORS,
        "ingressApi": modes.INGRESS_APIS,
        "dataplane": modes.DATAPLANES,
        "tracing": modes.TRACING,
        "nodeCapacityType": CAPACITY_TYPES,
        "gatewayApiChannel": GATEWAY_API_CHANNELS,
        "bookinfoNamespace": modes.RESERVED_NAMESPACES,
    }
    for key, values in choices.items():
        for value in values:
            assert f"`{value}`" in meaning[key], (key, value)
    assert f"{MIN_NODES} to {MAX_NODES}" in meaning["nodeCount"]
    assert f"1 to {MAX_NAT_GATEWAYS}" in meaning["natGateways"]


def test_the_cost_table_prices_the_default_lab():
    rows = table(README, "item", "count", "approximate price")
    nodes = [row for row in rows if row[0].startswith("nodes")]
    assert len(nodes) == 1
    assert f"`{DEFAULTS['nodeInstanceType']}`" in nodes[0][0]
    assert nodes[0][1] == str(DEFAULTS["nodeCount"])
    (nat,) = [row for row in rows if row[0] == "NAT gateway"]
    assert nat[1] == str(DEFAULTS["natGateways"])


# --- Outputs ----------------------------------------------------------------------------------


def test_the_readme_explains_every_stack_output():
    outputs = {value for name, value in vars(facts).items() if name.endswith("_OUTPUT") and value}
    listed = {unquoted(row[0]) for row in table(README, "output", "what to do with it")}
    assert listed == outputs - {facts.CLEANUP_LOG_GROUP_OUTPUT}
    readme = text(README)
    assert f"`{facts.CLEANUP_LOG_GROUP_OUTPUT}`" in readme
    plan = lab_plan()
    for command in (plan.observability.kiali_command, plan.observability.grafana_command):
        forward, _, then = command.partition("  # then open ")
        assert f"`{forward}`" in readme and then in readme, command
    for backend in (JAEGER, ZIPKIN):
        assert f"`{backend.ui.command}`" in readme and backend.ui.local_url in readme


# --- Scenarios --------------------------------------------------------------------------------


def test_the_scenario_table_is_the_one_in_the_plan():
    rows = table(
        DOCS / "scenarios.md",
        "scenario",
        "Istio Task and step",
        "what `/productpage` shows",
        "what the mesh does",
        "with `dataplane=ambient`",
    )
    assert [unquoted(row[0]) for row in rows] == [s.name for s in SCENARIO_TABLE]
    for row, scenario in zip(rows, SCENARIO_TABLE, strict=True):
        is_default = scenario.name == DEFAULTS["scenario"]
        assert row[0] == f"`{scenario.name}`" + (" (default)" if is_default else "")
        assert row[1] == scenario.task
        assert row[2] == scenario.shows
        differs = scenario.jason != scenario.anonymous
        assert row[3] == (scenario.jason if differs else scenario.anonymous).why
        assert row[4] == ("refused" if AMBIENT_FORM.refusal(scenario) else "yes")


# --- Analyzer ---------------------------------------------------------------------------------


def codes_the_analyzer_emits() -> set[str]:
    source = Path(istio_analyzer.__file__).read_text(encoding="utf-8")
    code = re.compile(r"(IST\d{4}|LAB\d{3})")
    return {
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and code.fullmatch(node.value)
    }


def test_the_analyzer_rules_are_the_codes_it_can_emit():
    rows = table(DOCS / "validation.md", "code", "rule")
    documented = [row[0] for row in rows]
    assert len(documented) == len(set(documented))
    assert set(documented) == codes_the_analyzer_emits()


def test_the_reserved_subsets_are_the_ones_the_analyzer_allows():
    (lab002,) = [
        row[1] for row in table(DOCS / "validation.md", "code", "rule") if row[0] == "LAB002"
    ]
    reserved = re.search(r"reserved subsets (.*?) \(", lab002)[1]
    named = dict(re.findall(r"`(\w+)` ([\w, -]+?)(?= and `|$)", reserved))
    assert {host: set(re.split(r", | and ", names)) for host, names in named.items()} == {
        host: set(subsets) for host, subsets in RESERVED_SUBSETS.items()
    }


def test_the_example_finding_is_what_the_analyzer_says():
    objects = lab_objects()
    for obj in objects:
        if obj["kind"] == "Gateway":
            obj["spec"]["servers"][0]["port"]["number"] = 8000
    (finding,) = analyzer_messages(objects)
    assert f"error: {finding}" in text(DOCS / "validation.md")


# --- Versions ---------------------------------------------------------------------------------


def pinned(requirements: str, package: str) -> str:
    for line in text(PROJECT_ROOT / requirements).splitlines():
        name, _, version = line.partition("==")
        if name.strip().lower() == package:
            return version.strip()
    raise AssertionError(f"{package} is not pinned in {requirements}")


def image_tag(image: str) -> str:
    return image.rpartition(":")[2]


def expected_versions() -> dict[str, str]:
    bookinfo = yaml.safe_load_all(text(PROJECT_ROOT / "manifests" / "bookinfo.yaml"))
    bookinfo_tags = {
        image_tag(container["image"])
        for obj in bookinfo
        if obj and obj["kind"] == "Deployment"
        for container in obj["spec"]["template"]["spec"]["containers"]
    }
    assert len(bookinfo_tags) == 1, bookinfo_tags
    package = json.loads(text(PROJECT_ROOT / "package.json"))
    context = json.loads(text(PROJECT_ROOT / "cdk.json"))["context"]
    assert context["istioVersion"] == DEFAULTS["istioVersion"]
    assert context["kubernetesVersion"] == DEFAULTS["kubernetesVersion"]
    return {
        "Istio charts (default `istioVersion`)": DEFAULTS["istioVersion"],
        "Kubernetes (default `kubernetesVersion`)": DEFAULTS["kubernetesVersion"],
        "AWS Load Balancer Controller chart": facts.LOAD_BALANCER_CONTROLLER_VERSION,
        "Gateway API CRDs, standard channel": facts.GATEWAY_API_VERSION,
        "prometheus chart": facts.PROMETHEUS_CHART_VERSION,
        "grafana chart": facts.GRAFANA_CHART_VERSION,
        "kiali-server chart": facts.KIALI_CHART_VERSION,
        "Jaeger image": image_tag(JAEGER.image),
        "Zipkin image": image_tag(ZIPKIN.image),
        "dashboard downloader image (curl)": image_tag(DASHBOARD_DOWNLOADER_IMAGE),
        "Bookinfo images": bookinfo_tags.pop(),
        "aws-cdk-lib": pinned("requirements.txt", "aws-cdk-lib"),
        "CDK CLI": package["devDependencies"]["aws-cdk"],
        "cdk-nag": pinned("requirements.txt", "cdk-nag"),
    }


def test_the_versions_table_is_what_the_project_pins():
    rows = table(DOCS / "design.md", "what", "version", "pinned in")
    assert {row[0]: row[1] for row in rows} == expected_versions()


def test_every_release_number_in_the_docs_is_one_the_project_pins():
    known = {version.removeprefix("v") for version in expected_versions().values()}
    for page in pages():
        for match in VERSION.finditer(text(page)):
            assert match[1] in known, f"{page.name}: {match[0]} is no version the project pins"


# --- Node capacity ----------------------------------------------------------------------------


def test_the_capacity_table_is_the_plans_arithmetic():
    rows = table(DOCS / "observability.md", "what", "CPU", "memory", "pods")
    expected = []
    for context, mode in (({}, ""), ({"dataplane": "ambient"}, ", `dataplane=ambient`")):
        capacity = lab_plan(**context).capacity()
        expected += [
            [f"the lab's pods{mode}", capacity.needed, capacity.pods],
            [
                f"with room for the Tasks' sample apps{mode}",
                capacity.with_headroom,
                capacity.pods_with_headroom,
            ],
        ]
    config, capacity = lab_plan().config, lab_plan().capacity()
    expected.append(
        [
            f"{config.node_count} x {config.node_instance_type} allocatable",
            capacity.offered,
            capacity.max_pods,
        ]
    )
    assert rows == [
        [label, f"{r.cpu_millicores}m", f"{r.memory_mib}Mi", str(pods)]
        for label, r, pods in expected
    ]


def pods_cell(pods: Pods | None) -> str:
    if pods is None:
        return "-"
    count = f"{pods.count} per node" if pods.per_node else str(pods.count)
    return f"{count} x {pods.requests.cpu_millicores}m / {pods.requests.memory_mib}Mi"


def test_the_pods_table_lists_every_pod_of_both_data_planes():
    rows = table(DOCS / "observability.md", "pods", "sidecar lab", "ambient lab")
    by_plan = []
    for context in ({}, {"dataplane": "ambient"}):
        plan = lab_plan(**context)
        by_plan.append({pods.what: pods for pods in (*plan.pods, plan.headroom)})
    sidecar, ambient = by_plan
    expected = {
        what: [what, pods_cell(sidecar.get(what)), pods_cell(ambient.get(what))]
        for what in {*sidecar, *ambient}
    }
    assert len(rows) == len(expected)
    for row in rows:
        assert row == expected.get(row[0]), row[0]


def test_the_dashboards_table_is_what_grafana_downloads():
    rows = table(DOCS / "observability.md", "dashboard in Grafana's folder `istio`", "file", "lab")
    ambient = lab_plan(dataplane="ambient").data_plane.dashboards
    expected = [[f"`{name}`", f"`{file}`", "every lab"] for name, file in ISTIO_DASHBOARDS.items()]
    expected += [
        [f"`{name}`", f"`{file}`", "`dataplane=ambient`"] for name, file in ambient.items()
    ]
    assert rows == expected


# --- Ingress ----------------------------------------------------------------------------------


def test_the_ingress_page_names_what_each_api_deploys():
    ingress = prose(DOCS / "ingress.md")
    chart, gateway_api = ChartIngress(), GatewayApiIngress(namespace=DEFAULTS["bookinfoNamespace"])
    nlb = NlbSettings()
    for name in (
        chart.release,
        chart.namespace,
        f"istio={chart.labels['istio']}",
        gateway_api.name,
        gateway_api.service.name,
        f"listener `{gateway_api.listener}` (port {gateway_api.listen_port})",
        f"status port {nlb.status_port.port}, path `{nlb.readiness_path}`",
    ):
        assert name in ingress, name


# --- Teardown ---------------------------------------------------------------------------------


def test_the_leftover_kinds_are_the_cleanups_table():
    rows = table(DOCS / "teardown.md", "leftover kind", "found by", "what the cleanup does")
    assert [(row[0], row[2]) for row in rows] == [
        (kind.label, kind.handling.value) for kind in cleanup_contract.KINDS
    ]


def test_the_tags_the_cleanup_goes_by_are_named():
    teardown = text(DOCS / "teardown.md")
    tags = [
        t for t in vars(cleanup_contract).values() if isinstance(t, cleanup_contract.ClusterTag)
    ]
    assert tags
    for tag in tags:
        assert f"`{tag.key}={tag.value}`" in teardown, tag


def test_the_cleanups_time_limits_are_the_constructs():
    teardown = prose(DOCS / "teardown.md")
    total = (
        load_balancer_cleanup.LoadBalancerCleanupProps.__dataclass_fields__["total_timeout"]
        .default_factory()
        .to_minutes()
    )
    deadline = total - load_balancer_cleanup.HANDLER_DEADLINE_BEFORE_PROVIDER_TIMEOUT_MINUTES
    handler_dir = PROJECT_ROOT / "constructs" / "load_balancer_cleanup_handler"
    with handler_module("aws_calls", handler_dir / "aws_calls.py") as aws_calls:
        margin = aws_calls.TIME_MARGIN_SECONDS // 60
    lambda_timeout = load_balancer_cleanup.HANDLER_TIMEOUT.to_minutes()
    assert f"after {deadline:g} minutes" in teardown
    assert f"gives up at {total:g} minutes" in teardown
    assert f"{margin} minutes before its {lambda_timeout:g}-minute timeout" in teardown


# --- Smoke ------------------------------------------------------------------------------------


def test_the_smoke_page_quotes_the_tools_numbers():
    smoke = prose(DOCS / "smoke.md")
    delay = next(s for s in SCENARIO_TABLE if s.jason.min_p50_ms is not None)
    for phrase in (
        f"requests the product page {smoke_cli.DEFAULT_REQUESTS} times",
        f"{smoke_verdict.TOLERANCE_FLOOR * 100:g} percentage points and "
        f"{smoke_verdict.TOLERANCE_SIGMAS} binomial standard deviations",
        f"`{delay.name}` as jason",
        f"median latency must be at least {delay.jason.min_p50_ms / 1000:g} s",
        f"({smoke_traces.CLOCK_SKEW_S} s of leeway either side",
        f"up to {smoke_cli.DEFAULT_TRACES_WAIT_S:g} s",
        f"Exit status: {smoke_cli.EXIT_PASS} ",
        f", {smoke_cli.EXIT_MISMATCH} it did not",
        f", {smoke_cli.EXIT_SETUP} the check could not run",
    ):
        assert phrase in smoke, phrase
    named = re.findall(r"`([a-z0-9-]+)`", smoke.split("## Where it learns")[0])
    assert [n for n in named if n in OUTCOMES] == list(OUTCOMES)


# --- Pages and links --------------------------------------------------------------------------


def test_the_readme_stays_short_and_shows_the_two_commands():
    readme = text(README)
    assert len(readme.splitlines()) < README_MAX_LINES
    assert "make synth" in readme and "make test" in readme
    assert "`constructs/` has no `__init__.py`" in readme


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    heading = heading.strip().lower().replace("`", "")
    heading = re.sub(r"[^\w\- ]", "", heading)
    return heading.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    prose = FENCE.sub("", text(path))
    return {slug(m[1]) for m in re.finditer(r"^#{1,6} (.+)$", prose, re.MULTILINE)}


def links(path: Path) -> Iterator[tuple[Path, str]]:
    """Every relative link of the page: the file it points to and the anchor, if any."""
    for target in LINK.findall(FENCE.sub("", text(path))):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        yield (path.parent / file).resolve() if file else path, anchor


@pytest.mark.parametrize("page", pages(), ids=lambda page: page.name)
def test_every_relative_link_resolves(page):
    for target, anchor in links(page):
        assert target.exists(), f"{page.name}: no file {target}"
        if anchor:
            assert target.suffix == ".md", f"{page.name}: anchor into {target.name}"
            assert anchor in anchors(target), f"{page.name}: no heading #{anchor} in {target.name}"


def test_every_docs_page_is_linked_from_the_readme():
    linked = {target for target, _ in links(README)}
    for page in sorted(DOCS.glob("*.md")):
        assert page.resolve() in linked, f"README.md does not link {page.name}"
