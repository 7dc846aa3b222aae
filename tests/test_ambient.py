"""`-c dataplane=ambient`: Bookinfo without sidecars, istio-cni and ztunnel before its first
pod, a waypoint for the routes the scenarios change, and the scenarios in ambient form."""

from __future__ import annotations

import json

import pytest

from bench.critical_path import dependencies
from plan.capacity import Requests
from plan.data_plane import AmbientDataPlane
from plan.facts import (
    DATAPLANE_MODE_LABEL,
    INJECTION_LABEL,
    ISTIO_CHART_REPOSITORY,
    ISTIO_DASHBOARD_COMMIT,
    ISTIO_DASHBOARD_SOURCE,
    USE_WAYPOINT_LABEL,
)
from tests.template_queries import (
    HELM_CHART,
    PATCH,
    ancestors,
    chart_values,
    helm_chart,
    manifest_objects,
    manifest_with,
    only,
)

ISTIO_SYSTEM = "istio-system"


@pytest.fixture(scope="module")
def template(synthesized_ambient):
    return synthesized_ambient.cluster


@pytest.fixture(scope="module")
def graph(synthesized_ambient):
    return dependencies(synthesized_ambient.cluster.to_json())


@pytest.fixture(scope="module")
def charts(template):
    return {
        release: helm_chart(template, release)
        for release in ("istiod", "istio-cni", "ztunnel", "istio-ingressgateway")
    }


def test_istiod_runs_the_ambient_profile(charts):
    assert chart_values(charts["istiod"][1])["profile"] == "ambient"


def test_istio_cni_and_ztunnel_come_from_istios_repository_at_its_version(
    charts, synthesized_ambient
):
    version = synthesized_ambient.config.istio_version
    for release, chart, profile in (("istio-cni", "cni", "ambient"), ("ztunnel", "ztunnel", None)):
        props = charts[release][1]["Properties"]
        assert (props["Repository"], props["Chart"], props["Version"]) == (
            ISTIO_CHART_REPOSITORY,
            chart,
            version,
        )
        # ztunnel finds istiod at istiod.istio-system, so both stay in istiod's namespace.
        assert props["Namespace"] == ISTIO_SYSTEM
        # Waited for: a pod started on a node before both run there stays out of the mesh.
        assert props["Wait"] is True
        assert chart_values(charts[release][1]).get("profile") == profile


def test_the_node_agents_follow_istiod_and_precede_bookinfo(charts, graph, template):
    istiod_id = charts["istiod"][0]
    agents = {charts["istio-cni"][0], charts["ztunnel"][0]}
    for agent in agents:
        assert istiod_id in ancestors(graph, agent)
    label_id, _ = only(template.find_resources(PATCH), "namespace patch")
    app_id, _ = manifest_with(template, "Deployment", "productpage-v1")
    for first_pod_waits in (label_id, app_id):
        assert agents | {istiod_id} <= ancestors(graph, first_pod_waits)
    # CloudFormation deletes in reverse: Bookinfo, then the agents, then istiod.


def test_the_namespace_is_enrolled_in_ambient_and_never_injected(template):
    _, patch = only(template.find_resources(PATCH), "namespace patch")
    applied = json.loads(patch["Properties"]["ApplyPatchJson"])["metadata"]["labels"]
    assert applied == {INJECTION_LABEL: "disabled", DATAPLANE_MODE_LABEL: "ambient"}
    restored = json.loads(patch["Properties"]["RestorePatchJson"])["metadata"]["labels"]
    assert restored == {INJECTION_LABEL: "disabled", DATAPLANE_MODE_LABEL: "none"}


def test_no_bookinfo_pod_has_a_sidecar_or_opts_out(template):
    _, app = manifest_with(template, "Deployment", "productpage-v1")
    deployments = [o for o in manifest_objects(app) if o["kind"] == "Deployment"]
    assert len(deployments) == 6
    for deployment in deployments:
        pod = deployment["spec"]["template"]
        labels = pod["metadata"].get("labels", {})
        annotations = pod["metadata"].get("annotations", {})
        containers = [c["name"] for c in pod["spec"]["containers"]]
        # The namespace says "disabled"; no pod may ask for a sidecar itself ...
        assert labels.get("sidecar.istio.io/inject") != "true"
        assert annotations.get("sidecar.istio.io/inject") != "true"
        assert "istio-proxy" not in containers
        # ... nor leave the ambient mesh the namespace puts it in.
        assert DATAPLANE_MODE_LABEL not in labels


def test_the_waypoint_takes_the_reviews_service(template, synthesized_ambient):
    namespace = synthesized_ambient.config.bookinfo_namespace
    _, routing = manifest_with(template, "Gateway", "waypoint")
    (waypoint,) = [o for o in manifest_objects(routing) if o["metadata"]["name"] == "waypoint"]
    assert waypoint["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert waypoint["metadata"]["namespace"] == namespace
    assert waypoint["metadata"]["labels"]["istio.io/waypoint-for"] == "service"
    assert waypoint["spec"] == {
        "gatewayClassName": "istio-waypoint",
        "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE"}],
    }
    _, app = manifest_with(template, "Deployment", "productpage-v1")
    services = {o["metadata"]["name"]: o for o in manifest_objects(app) if o["kind"] == "Service"}
    using = {n for n, s in services.items() if USE_WAYPOINT_LABEL in s["metadata"]["labels"]}
    assert using == {"reviews"}
    assert services["reviews"]["metadata"]["labels"][USE_WAYPOINT_LABEL] == "waypoint"


def test_the_waypoint_is_deleted_before_istiod_and_the_crds(template, graph, charts):
    routing_id, _ = manifest_with(template, "Gateway", "waypoint")
    crds_id = only(template.find_resources("Custom::GatewayApiCrds"), "CRD installer")[0]
    assert {charts["istiod"][0], crds_id} <= ancestors(graph, routing_id)


def test_the_scenario_is_the_ambient_form_without_subsets(template):
    _, resource = manifest_with(template, "ConfigMap", "bookinfo-scenario")
    kinds = sorted((o["kind"], o["metadata"]["name"]) for o in manifest_objects(resource))
    assert kinds == [("ConfigMap", "bookinfo-scenario"), ("HTTPRoute", "reviews")]
    _, routing = manifest_with(template, "Gateway", "waypoint")
    objects = manifest_objects(routing)
    assert not [o for o in objects if o["kind"] == "DestinationRule"]
    versions = {o["metadata"]["name"] for o in objects if o["kind"] == "Service"}
    assert {"reviews-v1", "reviews-v2", "reviews-v3"} <= versions


def test_grafana_gets_the_ztunnel_dashboard(charts, template, synthesized_ambient):
    values = chart_values(helm_chart(template, "grafana")[1])
    (downloader,) = values["extraInitContainers"]
    url = ISTIO_DASHBOARD_SOURCE.format(
        commit=ISTIO_DASHBOARD_COMMIT, file="ztunnel-dashboard.gen.json"
    )
    assert f"-o istio-ztunnel-dashboard.json.part {url}; then" in downloader["command"][2]


def test_the_ingress_gateway_chart_is_unchanged_by_ambient(charts, cluster_template):
    # The istio/gateway chart's gateway is a plain Envoy deployment, not a sidecar: the same
    # values serve both data planes.
    sidecar_values = chart_values(helm_chart(cluster_template, "istio-ingressgateway")[1])
    assert chart_values(charts["istio-ingressgateway"][1]) == sidecar_values


def test_the_sidecar_lab_has_no_node_agents_and_no_waypoint(cluster_template):
    releases = {
        r["Properties"]["Release"] for r in cluster_template.find_resources(HELM_CHART).values()
    }
    assert not {"istio-cni", "ztunnel"} & releases
    assert "profile" not in chart_values(helm_chart(cluster_template, "istiod")[1])
    with pytest.raises(AssertionError):
        manifest_with(cluster_template, "Gateway", "waypoint")


# --- Capacity -------------------------------------------------------------------------------


def test_ambient_pods_count_node_agents_per_node_a_waypoint_and_no_sidecars(
    synthesized_ambient, charts
):
    plan = synthesized_ambient.plan
    pods = {p.what: p for p in plan.pods}
    for release, what in (("ztunnel", "ztunnel"), ("istio-cni", "istio-cni-node")):
        assert pods[what].per_node
        assert pods[what].requests == Requests.of(chart_values(charts[release][1])["resources"])
    waypoint = chart_values(charts["istiod"][1])["global"]["waypoint"]["resources"]
    assert pods["waypoint"].requests == Requests.of(waypoint)
    for deployment in (o for o in plan.bookinfo.objects if o["kind"] == "Deployment"):
        own = Requests()
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            own += Requests.of(container.get("resources"))
        assert pods[deployment["metadata"]["name"]].requests == own


def test_the_plan_chose_the_ambient_data_plane_for_bookinfos_namespace(synthesized_ambient):
    plane = synthesized_ambient.plan.data_plane
    assert plane == AmbientDataPlane(namespace=synthesized_ambient.config.bookinfo_namespace)
