"""Builds the lab's stacks from its plan into an app; shared by app.py and the tests."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import App, CrossStackReferences, ReferenceStrength

from constructs.function_logs import FunctionLogGroups
from constructs.repair import RepairStamp
from constructs.tree_walk import visit_tree
from plan.facts import lab_stacks
from plan.lab_plan import LabPlan
from stacks.cluster_stack import ClusterStack
from stacks.nag import acknowledge_lab_findings, enable_nag_checks
from stacks.network_stack import NetworkStack


def new_app(**props) -> App:
    """The CDK app the lab is built in (app.py's, and the tests').

    aws-cdk-lib's built-in CloudFormation validation is off: it re-checks every template on
    every synth (about half of the lab's synth time) and only warns, while `make test` runs
    cfn-lint on the same templates and fails on any error or warning
    (tests/test_cfn_lint.py).
    """
    return App(builtin_cloud_formation_validation=False, **props)


@dataclass(frozen=True)
class Lab:
    plan: LabPlan
    network: NetworkStack
    cluster: ClusterStack


def build_lab(app: App, plan: LabPlan) -> Lab:
    """The stacks that apply `plan` (already checked: build_plan refuses what cannot work)."""
    # Strong references (exports) keep the VPC from being deleted while the cluster stack,
    # and the load balancers its controllers made, still exist.
    CrossStackReferences.of(app).consume(ReferenceStrength.STRONG)
    # clusterName names the stacks too (plan/facts.py), so two labs of two names are two
    # pairs of stacks; their exports are named after the stacks.
    name = plan.config.cluster_name
    stacks = lab_stacks(name)
    network = NetworkStack(
        app,
        stacks.network,
        plan=plan,
        description=f"Istio Bookinfo lab {name}: VPC",
    )
    cluster = ClusterStack(
        app,
        stacks.cluster,
        plan=plan,
        vpc=network.vpc,
        description=f"Istio Bookinfo lab {name}: EKS, AWS Load Balancer Controller, Istio, "
        "Kiali, Bookinfo",
    )
    lab = Lab(plan=plan, network=network, cluster=cluster)
    # Every function's logs, the generated ones' included, go with the stacks on destroy.
    visit_tree(app, FunctionLogGroups())
    # `make repair`: a new value updates every chart, manifest and task in place.
    if plan.config.repair:
        visit_tree(cluster, RepairStamp(plan.config.repair))
    # Acknowledgements are inert without the checks, and recording them costs every synth:
    # only the nag synth (`make nag`, and the tests') records them.
    if plan.config.nag:
        acknowledge_lab_findings(lab)
        enable_nag_checks(app)
    return lab
