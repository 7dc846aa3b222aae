"""The default node group holds every pod the lab runs, sidecars included, with room left for
the Istio Tasks' sample apps; the numbers come from what the lab deploys."""

from __future__ import annotations

import pytest

from constructs.capacity import NODE_TYPES, Requests, add_up, sample_app_headroom
from tests.conftest import PROJECT_ROOT
from tests.template_queries import chart_values, helm_chart


@pytest.fixture(scope="module")
def cluster(synthesized):
    return synthesized.lab.cluster


def requests_by_pod(cluster) -> dict[str, Requests]:
    return {pods.what: pods.requests for pods in cluster.pods}


@pytest.mark.parametrize("variant", ["synthesized", "synthesized_ambient"])
def test_the_default_nodes_hold_every_pod_with_room_for_the_sample_apps(request, variant):
    synthesized = request.getfixturevalue(variant)
    cluster, config = synthesized.lab.cluster, synthesized.config
    node = NODE_TYPES[config.node_instance_type]
    headroom = sample_app_headroom(cluster.mesh.sidecar_requests)
    needed, pods = add_up([*cluster.pods, headroom], config.node_count)
    offered = node.allocatable.times(config.node_count)
    assert needed.cpu_millicores <= offered.cpu_millicores, (needed, offered)
    assert needed.memory_mib <= offered.memory_mib, (needed, offered)
    assert pods <= node.max_pods * config.node_count


def test_chart_pods_count_the_requests_their_chart_values_set(cluster, cluster_template):
    requests = requests_by_pod(cluster)

    def values(release):
        return chart_values(helm_chart(cluster_template, release)[1])

    assert requests["istiod"] == Requests.of(values("istiod")["resources"])
    assert requests["istio-ingress"] == Requests.of(values("istio-ingress")["resources"])
    assert requests["prometheus"] == Requests.of(values("prometheus")["server"]["resources"])
    assert requests["grafana"] == Requests.of(values("grafana")["resources"])
    assert requests["kiali"] == Requests.of(values("kiali")["deployment"]["resources"])
    _, controller = helm_chart(cluster_template, "aws-load-balancer-controller")
    controller_values = controller["Properties"]["Values"]["Fn::Join"][1]
    text = "".join(part for part in controller_values if isinstance(part, str))
    assert '"resources":{"requests":{"cpu":"50m","memory":"128Mi"}}' in text
    assert '"replicaCount":2' in text


def test_every_injected_pod_counts_its_sidecar(cluster, cluster_template):
    sidecar = Requests.of(
        chart_values(helm_chart(cluster_template, "istiod")[1])["global"]["proxy"]["resources"]
    )
    assert cluster.mesh.sidecar_requests == sidecar
    requests = requests_by_pod(cluster)
    bookinfo = [o for o in cluster.bookinfo.objects if o["kind"] == "Deployment"]
    assert len(bookinfo) == 6
    for deployment in bookinfo:
        assert requests[deployment["metadata"]["name"]] == sidecar


@pytest.mark.parametrize(
    ("variant", "mode", "pod_count"),
    [
        ("synthesized", "", "{} pods"),
        ("synthesized_ambient", ", `dataplane=ambient`", "({} pods)"),
    ],
)
def test_the_readme_lists_the_numbers(request, variant, mode, pod_count):
    synthesized = request.getfixturevalue(variant)
    cluster, config = synthesized.lab.cluster, synthesized.config
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    needed, pods = add_up(cluster.pods, config.node_count)
    headroom = sample_app_headroom(cluster.mesh.sidecar_requests)
    with_headroom, _ = add_up([*cluster.pods, headroom], config.node_count)
    rows = [("the lab's pods", needed), ("with room for the Tasks' sample apps", with_headroom)]
    if not mode:
        offered = NODE_TYPES[config.node_instance_type].allocatable.times(config.node_count)
        rows.append((f"{config.node_count} x {config.node_instance_type} allocatable", offered))
    for label, requests in rows:
        row = f"| {label}{mode} | {requests.cpu_millicores}m | {requests.memory_mib}Mi |"
        assert row in readme, row
    assert pod_count.format(pods) in readme


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        ({"requests": {"cpu": "100m", "memory": "128Mi"}}, Requests(100, 128)),
        ({"requests": {"cpu": "0.5", "memory": "2Gi"}}, Requests(500, 2048)),
        ({"requests": {"cpu": 1}}, Requests(1000, 0)),
        ({"limits": {"cpu": "2"}}, Requests(0, 0)),
        (None, Requests(0, 0)),
    ],
)
def test_requests_are_read_as_kubernetes_writes_them(resources, expected):
    assert Requests.of(resources) == expected


def test_an_unreadable_request_is_refused():
    with pytest.raises(ValueError, match="unreadable memory request"):
        Requests.of({"requests": {"memory": "1G"}})
    with pytest.raises(ValueError, match="unreadable CPU request"):
        Requests.of({"requests": {"cpu": "x"}})
