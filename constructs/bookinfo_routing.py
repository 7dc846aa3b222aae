"""BookinfoRouting: the Istio and Gateway API resources that route traffic to and within
Bookinfo, as the plan renders them."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_eks_v2 as eks

from constructs import Construct
from constructs.barriers import Barrier
from constructs.kubernetes import manifest
from plan.routing import RoutingPlan


@dataclass(frozen=True)
class BookinfoRoutingProps:
    """
    cluster: where to apply.
    routing: the plan's edge routing and scenario objects.
    after: what must exist first: Istio's CRDs and validating webhook (IstioMesh.istiod), the
        namespace, and the removal of the cluster's LoadBalancer Services (a Gateway API
        Gateway gets one from istiod; on delete the Gateway goes first).
    """

    cluster: eks.ICluster
    routing: RoutingPlan
    after: Barrier


class BookinfoRouting(Construct):
    """Applies the Bookinfo edge routing (a Gateway and a VirtualService, or a Gateway API
    Gateway and HTTPRoute) with what the scenarios' routes need, and the selected traffic
    scenario as a manifest of its own.

    The scenario's manifest keeps its construct id whatever the scenario, so switching is an
    in-place update (kubectl apply) of the same objects, while the edge routing stays
    untouched. Every scenario of a form defines the same objects, since kubectl's pruning
    would not remove Istio objects a new scenario no longer lists.
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: BookinfoRoutingProps) -> None:
        super().__init__(scope, construct_id)
        self.manifest = manifest(
            self, "Resources", cluster=props.cluster, objects=props.routing.edge
        )
        props.after.hold(self.manifest)
        # overwrite: created with `kubectl apply`, so routes a user applied by hand while
        # following the docs are taken over instead of failing the deployment.
        self.scenario = manifest(
            self,
            "Scenario",
            cluster=props.cluster,
            objects=props.routing.scenario,
            overwrite=True,
        )
        # Subsets named by the scenario must exist before its routes use them.
        self.scenario.node.add_dependency(self.manifest)
