"""The node group holds every pod the lab runs, sidecars included, with room left for the
Istio Tasks' sample apps; the numbers come from what the lab deploys, the nodes' from the
instance type's facts, and a lab that cannot fit is refused at synth in one line."""

from __future__ import annotations

import pytest

from plan.capacity import INSTANCE_TYPES, Requests
from plan.config import ConfigError
from tests.istio_objects import ACCEPTED, combination_id, lab_plan
from tests.template_queries import chart_values, helm_chart, literal_values

# Allocatable CPU and memory of Amazon Linux 2023 nodes as Karpenter's generated reference
# lists them (aws/karpenter-provider-aws, website/content/en/docs/reference/instance-types.md,
# v1.14.1), an independent computation of the same kubelet settings.
KARPENTER_ALLOCATABLE = {
    "t3.medium": Requests(1930, 3246),
    "t3.large": Requests(1930, 6837),
    "m5.large": Requests(1930, 6903),
    "m5.xlarge": Requests(3920, 14162),
    "m5.2xlarge": Requests(7910, 29317),
    "c5.xlarge": Requests(3920, 6584),
    "r5.large": Requests(1930, 14481),
}
# The VPC CNI's misc/eni-max-pods.txt (aws/amazon-vpc-cni-k8s, v1.23.1).
ENI_MAX_PODS = {"t3.medium": 17, "t3.large": 35, "m5.large": 29, "m5.xlarge": 58, "c5.xlarge": 58}


@pytest.mark.parametrize("name", sorted(KARPENTER_ALLOCATABLE))
def test_allocatable_is_what_an_eks_node_of_the_type_offers(name):
    assert INSTANCE_TYPES[name].allocatable == KARPENTER_ALLOCATABLE[name]


@pytest.mark.parametrize("name", sorted(ENI_MAX_PODS))
def test_max_pods_is_the_vpc_cnis_limit(name):
    assert INSTANCE_TYPES[name].max_pods == ENI_MAX_PODS[name]


@pytest.mark.parametrize("context", ACCEPTED, ids=combination_id)
def test_the_default_nodes_hold_every_accepted_combination_with_room_for_the_sample_apps(
    context,
):
    capacity = lab_plan(**context).capacity()
    assert capacity.fits
    assert capacity.with_headroom.cpu_millicores <= capacity.offered.cpu_millicores
    assert capacity.with_headroom.memory_mib <= capacity.offered.memory_mib
    assert capacity.pods_with_headroom <= capacity.max_pods


@pytest.mark.parametrize("dataplane", ["sidecar", "ambient"])
def test_a_node_group_too_small_is_refused_in_one_line(dataplane):
    context = {"nodeInstanceType": "t3.medium", "nodeCount": 1, "dataplane": dataplane}
    with pytest.raises(ConfigError) as refused:
        lab_plan(**context)
    (line,) = refused.value.problems
    count, name = context["nodeCount"], context["nodeInstanceType"]
    assert line.startswith(f"context nodeInstanceType={name!r}, nodeCount={count}: ")
    assert f"{count} x {name} offer" in line and "choose a larger instance type" in line


def test_the_refusal_is_the_arithmetic_of_what_is_asked_and_offered():
    # One m5.large fits; one t3.medium has the CPU and memory the lab asks (the demo
    # profile's requests are small) but not the pods: its ENIs give it 17.
    fits = lab_plan(nodeInstanceType="m5.large", nodeCount=1).capacity()
    assert fits.fits
    small = INSTANCE_TYPES["t3.medium"]
    assert fits.pods_with_headroom > small.max_pods == 17
    assert fits.with_headroom.memory_mib <= small.allocatable.memory_mib
    assert fits.with_headroom.cpu_millicores <= small.allocatable.cpu_millicores
    with pytest.raises(ConfigError, match=r"nodeInstanceType='t3.medium'.* pods"):
        lab_plan(nodeInstanceType="t3.medium", nodeCount=1)


def test_chart_pods_count_the_requests_their_chart_values_set(synthesized):
    requests = {pods.what: pods.requests for pods in synthesized.plan.pods}
    template = synthesized.cluster

    def values(release):
        return chart_values(helm_chart(template, release)[1])

    assert requests["istiod"] == Requests.of(values("istiod")["resources"])
    assert requests["istio-ingressgateway"] == Requests.of(
        values("istio-ingressgateway")["resources"]
    )
    assert requests["prometheus"] == Requests.of(values("prometheus")["server"]["resources"])
    assert requests["grafana"] == Requests.of(values("grafana")["resources"])
    assert requests["kiali"] == Requests.of(values("kiali")["deployment"]["resources"])
    _, controller = helm_chart(template, "aws-load-balancer-controller")
    text = literal_values(controller)
    assert '"resources":{"requests":{"cpu":"50m","memory":"128Mi"}}' in text
    assert '"replicaCount":2' in text


def test_every_injected_pod_counts_its_sidecar(synthesized):
    template = synthesized.cluster
    sidecar = Requests.of(
        chart_values(helm_chart(template, "istiod")[1])["global"]["proxy"]["resources"]
    )
    plan = synthesized.plan
    assert plan.mesh.proxy_requests == sidecar
    requests = {pods.what: pods.requests for pods in plan.pods}
    bookinfo = [o for o in plan.bookinfo.objects if o["kind"] == "Deployment"]
    assert len(bookinfo) == 6
    for deployment in bookinfo:
        assert requests[deployment["metadata"]["name"]] == sidecar


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
