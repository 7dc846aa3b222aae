"""The checks `make e2e` adds after a deploy: the NLB's targets are healthy (against moto,
with another cluster's target group as a decoy), and Kiali's graph holds Bookinfo."""

from __future__ import annotations

from scripts import e2e_checks

LAB, OTHER = "bookinfo-lab", "someone-else"


def target_group(session, vpc: str, name: str, cluster: str, targets: list[str]) -> str:
    elbv2 = session.client("elbv2")
    arn = elbv2.create_target_group(
        Name=name, Protocol="TCP", Port=80, VpcId=vpc, TargetType="ip",
        Tags=[{"Key": e2e_checks.CONTROLLER_CLUSTER_TAG, "Value": cluster}],
    )["TargetGroups"][0]["TargetGroupArn"]  # fmt: skip
    if targets:
        elbv2.register_targets(
            TargetGroupArn=arn, Targets=[{"Id": ip, "Port": 8080} for ip in targets]
        )
    return arn


def test_the_labs_target_groups_and_only_theirs_are_asked(moto_session):
    vpc = moto_session.client("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    http = target_group(moto_session, vpc, "k8s-istiosys-http", LAB, ["10.0.1.5", "10.0.2.6"])
    target_group(moto_session, vpc, "k8s-other-http", OTHER, [])
    health = e2e_checks.target_health(moto_session.client("elbv2"), LAB)
    assert health == {http: (2, 2)}
    assert e2e_checks.targets_healthy(health)


def test_a_target_group_without_a_healthy_target_fails(moto_session):
    vpc = moto_session.client("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    target_group(moto_session, vpc, "k8s-istiosys-http", LAB, ["10.0.1.5"])
    target_group(moto_session, vpc, "k8s-istiosys-https", LAB, [])
    health = e2e_checks.target_health(moto_session.client("elbv2"), LAB)
    assert sorted(health.values()) == [(0, 0), (1, 1)]
    assert not e2e_checks.targets_healthy(health)
    assert not e2e_checks.targets_healthy({})


def test_kiali_is_asked_for_the_versioned_app_graph_of_bookinfos_namespace():
    url = e2e_checks.graph_url("http://127.0.0.1:4321", "bookinfo")
    assert url == (
        "http://127.0.0.1:4321/kiali/api/namespaces/graph?namespaces=bookinfo"
        "&graphType=versionedApp&duration=600s"
    )


def test_the_graph_holds_bookinfo_when_its_apps_are_nodes():
    document = {
        "elements": {
            "nodes": [
                {"data": {"id": "a", "app": "productpage", "version": "v1"}},
                {"data": {"id": "b", "app": "reviews", "version": "v2"}},
                {"data": {"id": "c", "nodeType": "unknown"}},
            ],
            "edges": [],
        }
    }
    apps = e2e_checks.graph_apps(document)
    assert apps == {"productpage", "reviews"}
    assert e2e_checks.missing_apps(apps) == ["details"]
    assert e2e_checks.graph_apps({"elements": {"nodes": None}}) == set()


def test_a_check_is_asked_again_until_it_passes_or_time_is_up():
    answers = iter([(False, "not yet"), (False, "not yet"), (True, "there")])
    pauses = []
    assert e2e_checks.until(lambda: next(answers), 60, sleep=pauses.append) == (True, "there")
    assert len(pauses) == 2
    assert e2e_checks.until(lambda: (False, "never"), 0, sleep=pauses.append) == (False, "never")
