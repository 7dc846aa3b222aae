"""The AWS Load Balancer Controller's Service webhook, and what must wait for it.

The controller's chart registers the mutating webhook `mservice.elbv2.k8s.aws` with
failurePolicy Fail on the creation of every Service but its own. Helm creates that webhook
together with the controller's Deployment, so until the controller's pods are ready the API
server rejects every new Service ("no endpoints available for service
aws-load-balancer-webhook-service"). The controller's HelmChart waits for its pods; whatever
may create a Service must therefore be created after that chart.

The cluster stack passes that chart to the constructs as the `service_webhook` barrier
(constructs/barriers.py), and every chart and manifest is made through
constructs/kubernetes.py, which holds it behind the barrier unless its release declares, with
`creates_no_services`, that it never creates a Service (and so may start earlier). A test
walks the built tree and fails if a chart or manifest slipped past both.
"""

from __future__ import annotations

from aws_cdk import aws_eks_v2 as eks

from constructs import IConstruct

NO_SERVICES_METADATA = "bookinfo-lab:creates-no-services"


def creates_no_services(construct: IConstruct, evidence: str) -> None:
    """Declare that `construct` (a HelmChart or KubernetesManifest) never creates a Service,
    so it need not wait for the webhook; `evidence` says how that was established."""
    construct.node.add_metadata(NO_SERVICES_METADATA, evidence)


def no_services_evidence(construct: IConstruct) -> str | None:
    """What `creates_no_services` recorded on `construct`, or None."""
    for entry in construct.node.metadata:
        if entry.type == NO_SERVICES_METADATA:
            return str(entry.data)
    return None


def controller_chart(controller: eks.AlbController) -> eks.HelmChart:
    """The HelmChart of aws-cdk-lib's AlbController (installed with wait: its pods are ready
    when it completes)."""
    chart = controller.node.default_child
    if not isinstance(chart, eks.HelmChart):
        raise LookupError(
            f"{controller.node.path} has no HelmChart as its default child; did aws-cdk-lib "
            "change AlbController?"
        )
    return chart
