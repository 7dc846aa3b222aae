"""Observability: Prometheus, Grafana with Istio's dashboards, the tracing backend wired into
istiod and the Telemetry API, and Kiali linked to all of them; pinned, ClusterIP only, never
waiting on the gateway."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from urllib.parse import urlsplit

import pytest

from bench.critical_path import dependencies
from plan import facts
from plan.modes import TRACING
from plan.observability import (
    ISTIO_DASHBOARDS,
    JAEGER,
    PROMETHEUS_DATASOURCE,
    Download,
    dashboard_download_container,
)
from tests.template_queries import (
    MANIFEST,
    ancestors,
    chart_values,
    depends_on,
    helm_chart,
    manifest_objects,
    manifest_with,
)

NAMESPACE = "istio-system"


def services_of(objects) -> dict[tuple[str, str], set[int]]:
    """(name, namespace) -> ports of every Service among `objects`."""
    return {
        (o["metadata"]["name"], o["metadata"]["namespace"]): {p["port"] for p in o["spec"]["ports"]}
        for o in objects
        if o["kind"] == "Service"
    }


def in_cluster_target(url: str) -> tuple[str, str, int]:
    """(service, namespace, port) a cluster-internal URL points at."""
    parts = urlsplit(url)
    match = re.fullmatch(r"([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local", parts.hostname)
    assert match, f"{url} is not a full in-cluster service name"
    return match[1], match[2], parts.port


@pytest.fixture(scope="module")
def tracing_manifest(cluster_template):
    _, resource = manifest_with(cluster_template, "Deployment", JAEGER.name)
    return manifest_objects(resource)


@pytest.fixture(scope="module")
def lab_services(cluster_template, tracing_manifest) -> dict[tuple[str, str], set[int]]:
    """Every Service the lab creates that a URL may name: the tracing backend's (rendered
    objects) and the charts' (named by the values that configure them)."""
    services = services_of(tracing_manifest)
    prometheus = chart_values(helm_chart(cluster_template, "prometheus")[1])["server"]
    services[(prometheus["fullnameOverride"], NAMESPACE)] = {prometheus["service"]["servicePort"]}
    _, grafana = helm_chart(cluster_template, "grafana")
    # The Grafana chart names its Service after the release (which contains "grafana").
    release = grafana["Properties"]["Release"]
    assert "grafana" in release
    services[(release, NAMESPACE)] = {chart_values(grafana)["service"]["port"]}
    return services


def test_prometheus_is_a_lone_server_without_a_volume(cluster_template):
    _, chart = helm_chart(cluster_template, "prometheus")
    props = chart["Properties"]
    assert props["Repository"] == "https://prometheus-community.github.io/helm-charts"
    assert (props["Chart"], props["Version"], props["Namespace"]) == (
        "prometheus",
        facts.PROMETHEUS_CHART_VERSION,
        NAMESPACE,
    )
    values = chart_values(chart)
    for component in (
        "alertmanager",
        "prometheus-pushgateway",
        "kube-state-metrics",
        "prometheus-node-exporter",
    ):
        assert values[component] == {"enabled": False}
    server = values["server"]
    assert server["persistentVolume"] == {"enabled": False}
    assert server["service"]["type"] == "ClusterIP"
    assert server["podLabels"] == {"sidecar.istio.io/inject": "false"}


def test_grafana_is_the_maintained_chart_pinned_clusterip_anonymous_viewer(cluster_template):
    _, chart = helm_chart(cluster_template, "grafana")
    props = chart["Properties"]
    assert props["Repository"] == "https://grafana-community.github.io/helm-charts"
    assert re.fullmatch(r"\d+\.\d+\.\d+", props["Version"])
    assert (props["Chart"], props["Namespace"]) == ("grafana", NAMESPACE)
    values = chart_values(chart)
    assert values["service"]["type"] == "ClusterIP"
    assert values["podLabels"] == {"sidecar.istio.io/inject": "false"}
    assert values["grafana.ini"]["auth.anonymous"] == {"enabled": True, "org_role": "Viewer"}


def test_grafanas_one_datasource_is_the_labs_prometheus(cluster_template, lab_services):
    values = chart_values(helm_chart(cluster_template, "grafana")[1])
    (datasource,) = values["datasources"]["datasources.yaml"]["datasources"]
    assert (datasource["name"], datasource["type"]) == (PROMETHEUS_DATASOURCE, "prometheus")
    # Istio's dashboards select the default Prometheus data source.
    assert datasource["isDefault"] is True
    service, namespace, port = in_cluster_target(datasource["url"])
    assert (service, namespace) in lab_services and port in lab_services[(service, namespace)]


def downloader(values) -> dict:
    (container,) = values["extraInitContainers"]
    return container


def test_istios_dashboards_come_from_the_pinned_istio_commit(cluster_template, synthesized):
    values = chart_values(helm_chart(cluster_template, "grafana")[1])
    (provider,) = values["dashboardProviders"]["dashboardproviders.yaml"]["providers"]
    container = downloader(values)
    # The init container writes into the folder the provider reads, on a volume of its own.
    ((mount,),) = [container["volumeMounts"]]
    assert mount["mountPath"] == provider["options"]["path"] == container["command"][-1]
    assert {"name": mount["name"], "mountPath": mount["mountPath"]} in values["extraEmptyDirMounts"]
    assert "dashboards" not in values
    script = container["command"][2]
    # The release-1.31 commit the hashes were taken from (git show <commit>:<path> | sha256sum)
    commit = "a8d7012191ebf42bacd48fa72b32a05828e4c564"
    for name, file in ISTIO_DASHBOARDS.items():
        url = (
            f"https://raw.githubusercontent.com/istio/istio/{commit}/manifests/addons/"
            f"dashboards/{file}"
        )
        assert f" {url}; then" in script, url
        assert (
            f"echo '{facts.ISTIO_DASHBOARD_SHA256[file]}  {name}.json.part' | sha256sum -c"
            in script
        )


def run_download_script(tmp_path, failing: str = "", altered: str = ""):
    """Runs the download script for three dashboards with a curl that fails (exit 22, as -f
    does on an HTTP error) for the URL containing `failing`, writes another file than the
    pinned one for the URL containing `altered`, and the pinned file ("{}") for the others;
    sha256sum is the machine's own."""
    pinned = hashlib.sha256(b"{}\n").hexdigest()
    downloads = {
        name: Download(f"https://dashboards.example/{name}.json", pinned)
        for name in ("mesh", "service", "workload")
    }
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    curl = bin_dir / "curl"
    curl.write_text(
        "#!/bin/sh\n"
        'out=""; url=""\n'
        'while [ $# -gt 0 ]; do case "$1" in -o) out="$2"; shift 2;; -*) shift;; *) url="$1"; shift;; esac; done\n'  # noqa: E501
        f'case "$url" in *{failing or "never"}*) exit 22;; esac\n'
        f'case "$url" in *{altered or "never"}*) echo "{{\\"changed\\": 1}}" > "$out"; exit 0;; esac\n'  # noqa: E501
        'echo "{}" > "$out"\n'
    )
    curl.chmod(0o755)
    target = tmp_path / "dashboards"
    target.mkdir()
    command = dashboard_download_container(downloads)["command"]
    done = subprocess.run(
        [*command[:3], command[3], str(target)],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},
        check=False,
    )
    return done, sorted(p.name for p in target.iterdir())


def test_grafana_starts_without_a_dashboard_it_could_not_download(tmp_path):
    done, files = run_download_script(tmp_path, failing="service")
    # The init container succeeds, so Grafana starts, with every other dashboard.
    assert done.returncode == 0, done.stderr
    assert files == ["mesh.json", "workload.json"]
    assert done.stderr == (
        "Istio dashboard service: could not download https://dashboards.example/service.json; "
        "Grafana starts without it\n"
    )


def test_a_dashboard_that_is_not_the_pinned_file_is_left_out(tmp_path):
    done, files = run_download_script(tmp_path, altered="workload")
    assert done.returncode == 0, done.stderr
    assert files == ["mesh.json", "service.json"]  # nor any .part left behind
    assert done.stderr.startswith(
        "Istio dashboard workload: https://dashboards.example/workload.json is not the pinned "
        "file (sha256 "
    )
    assert done.stderr.count("\n") == 1


def test_every_pinned_dashboard_downloads_when_nothing_fails(tmp_path):
    done, files = run_download_script(tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    assert files == ["mesh.json", "service.json", "workload.json"]


def test_kiali_is_the_release_istio_bundles_anonymous_and_clusterip(cluster_template):
    _, chart = helm_chart(cluster_template, "kiali")
    props = chart["Properties"]
    assert props["Repository"] == "https://kiali.org/helm-charts"
    assert (props["Chart"], props["Version"], props["Namespace"]) == (
        "kiali-server",
        "2.31.0",
        NAMESPACE,
    )
    values = chart_values(chart)
    assert values["auth"] == {"strategy": "anonymous"}
    deployment = values["deployment"]
    assert deployment["service_type"] == "ClusterIP"
    # The key the chart reads (deployment.ingress.enabled), not the one it ignores.
    assert deployment["ingress"] == {"enabled": False}
    assert "ingress_enabled" not in deployment


def test_kialis_urls_point_at_services_the_lab_creates(cluster_template, lab_services):
    external = chart_values(helm_chart(cluster_template, "kiali")[1])["external_services"]
    urls = [
        external["prometheus"]["url"],
        external["grafana"]["internal_url"],
        external["tracing"]["internal_url"],
    ]
    for url in urls:
        service, namespace, port = in_cluster_target(url)
        assert port in lab_services.get((service, namespace), set()), url
    assert external["tracing"]["provider"] == JAEGER.name


def test_kialis_links_are_the_urls_the_outputs_print(cluster_template):
    external = chart_values(helm_chart(cluster_template, "kiali")[1])["external_services"]
    outputs = cluster_template.find_outputs("*")
    assert outputs["GrafanaCommand"]["Value"].endswith(external["grafana"]["external_url"])
    assert outputs["TracingCommand"]["Value"].endswith(external["tracing"]["external_url"])


def default_tracing_provider(istiod_values: dict) -> dict:
    """The extension provider istiod's mesh defaults trace into."""
    mesh = istiod_values["meshConfig"]
    (name,) = mesh["defaultProviders"]["tracing"]
    (provider,) = [p for p in mesh["extensionProviders"] if p["name"] == name]
    return provider


def test_istiod_sends_spans_to_a_service_and_port_the_backend_creates(
    cluster_template, tracing_manifest
):
    values = chart_values(helm_chart(cluster_template, "istiod")[1])
    collector = default_tracing_provider(values)["opentelemetry"]
    service, namespace, _ = in_cluster_target(f"http://{collector['service']}")
    assert collector["port"] in services_of(tracing_manifest)[(service, namespace)]


def test_tracing_is_on_by_mesh_defaults_at_the_configured_sampling(cluster_template, synthesized):
    values = chart_values(helm_chart(cluster_template, "istiod")[1])
    assert default_tracing_provider(values)["name"] == synthesized.config.tracing == "jaeger"
    # PILOT_TRACE_SAMPLING, which every proxy uses unless a Telemetry resource says otherwise
    assert values["traceSampling"] == synthesized.config.tracing_sampling == 100
    # Replacing the default providers must keep Istio's own metrics provider.
    assert values["meshConfig"]["defaultProviders"]["metrics"] == ["prometheus"]


def test_the_lab_applies_no_telemetry_of_its_own(any_synthesized):
    # A Task's Telemetry in istio-system must be the oldest there, or Istio ignores it.
    manifests = json.dumps(any_synthesized.cluster.find_resources(MANIFEST))
    assert "telemetry.istio.io" not in manifests


def test_the_tracing_backend_is_pinned_in_memory_and_not_injected(tracing_manifest):
    (deployment,) = [o for o in tracing_manifest if o["kind"] == "Deployment"]
    assert deployment["metadata"]["namespace"] == NAMESPACE
    template = deployment["spec"]["template"]
    assert template["metadata"]["labels"]["sidecar.istio.io/inject"] == "false"
    (container,) = template["spec"]["containers"]
    image, tag = container["image"].rsplit(":", 1)
    assert image == "docker.io/jaegertracing/jaeger" and re.fullmatch(r"\d+\.\d+\.\d+", tag)
    # No --config: Jaeger's all-in-one configuration, memory storage.
    assert "args" not in container and "volumeMounts" not in container
    assert {s["spec"]["type"] for s in tracing_manifest if s["kind"] == "Service"} == {"ClusterIP"}


def test_the_tracing_output_forwards_to_the_backends_ui(cluster_template, tracing_manifest):
    command = cluster_template.find_outputs("TracingCommand")["TracingCommand"]["Value"]
    match = re.match(
        r"kubectl port-forward -n (\S+) svc/(\S+) (\d+):(\d+)  # then open (\S+)", command
    )
    namespace, service, local, remote, url = match.groups()
    assert int(remote) in services_of(tracing_manifest)[(service, namespace)]
    assert url == f"http://localhost:{local}"


def test_grafana_output_is_a_port_forward_command(cluster_template):
    output = cluster_template.find_outputs("GrafanaCommand")["GrafanaCommand"]["Value"]
    assert output == (
        "kubectl port-forward -n istio-system svc/grafana 3000:3000"
        "  # then open http://localhost:3000"
    )


def test_observability_does_not_wait_for_the_gateway_or_istio(cluster_template):
    gateway_id, _ = helm_chart(cluster_template, "istio-ingressgateway")
    istiod_id, _ = helm_chart(cluster_template, "istiod")
    graph = dependencies(cluster_template.to_json())
    waiting = [helm_chart(cluster_template, r)[0] for r in ("prometheus", "grafana", "kiali")]
    tracing_id, _ = manifest_with(cluster_template, "Deployment", JAEGER.name)
    for logical_id in (*waiting, tracing_id):
        assert not {gateway_id, istiod_id} & ancestors(graph, logical_id), logical_id
    prometheus_id, _ = helm_chart(cluster_template, "prometheus")
    _, kiali = helm_chart(cluster_template, "kiali")
    assert prometheus_id in depends_on(kiali)


# --- The other tracing choices, in the variants that have them ---------------------------------


def test_with_zipkin_istiod_uses_the_zipkin_provider_and_kiali_has_no_tracing(
    synthesized_ambient_gateway_api,
):
    template = synthesized_ambient_gateway_api.cluster
    assert synthesized_ambient_gateway_api.config.tracing == "zipkin"
    _, manifest = manifest_with(template, "Deployment", "zipkin")
    services = services_of(manifest_objects(manifest))
    istiod = chart_values(helm_chart(template, "istiod")[1])
    zipkin = default_tracing_provider(istiod)["zipkin"]
    service, namespace, _ = in_cluster_target(f"http://{zipkin['service']}")
    assert zipkin["port"] in services[(service, namespace)]
    # Kiali's tracing providers are Jaeger and Tempo.
    kiali = chart_values(helm_chart(template, "kiali")[1])
    assert kiali["external_services"]["tracing"] == {"enabled": False}


def test_with_no_tracing_nothing_of_it_is_deployed_or_configured(synthesized_gateway_api):
    assert synthesized_gateway_api.config.tracing == "none"
    template = synthesized_gateway_api.cluster
    # Every manifest, those with tokens inside included, as the template's text.
    manifests = json.dumps(template.find_resources(MANIFEST))
    for backend in TRACING.values():
        if backend is not None:
            assert backend.image.split(":")[0] not in manifests, backend.name
    mesh = chart_values(helm_chart(template, "istiod")[1])["meshConfig"]
    assert mesh["defaultProviders"] == {"metrics": ["prometheus"]}
    # The demo profile's providers stay, for the Tasks that install their backends.
    assert [p["name"] for p in mesh["extensionProviders"]] == [
        "otel",
        "skywalking",
        "otel-tracing",
        "jaeger",
    ]
    kiali = chart_values(helm_chart(template, "kiali")[1])
    assert kiali["external_services"]["tracing"] == {"enabled": False}
    assert "TracingCommand" not in template.find_outputs("*")


@pytest.mark.parametrize("backend", [b for b in TRACING.values() if b is not None])
def test_every_backend_names_its_ports_and_serves_what_istiod_and_the_ui_use(backend):
    objects = backend.objects()
    services = services_of(objects)
    for port in (backend.collector, backend.query):
        assert port.port.port in services[(port.service, NAMESPACE)]
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    container_ports = {
        p["name"] for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]
    }
    for service in (o for o in objects if o["kind"] == "Service"):
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= container_ports
