"""The lab's cluster as kubectl lists it, through the kubeconfig context the
KubeconfigCommand output adds (named by the cluster's ARN)."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterable
from typing import Any

from doctor.checks import HELM_SECRETS, RESOURCES, State

KUBECTL_TIMEOUT_S = 60
# kubectl's words for a kind the API server does not serve (its CRD is gone).
NO_SUCH_KIND = ("doesn't have a resource type", "the server could not find the requested resource")
# How kubectl says why it cannot talk to the cluster (regular expressions), and what that
# means for the learner.
UNREACHABLE = (
    (
        (r'context "[^"]*" (was not found|does not exist)', "no context exists"),
        "your kubeconfig has no entry for the cluster {context}: run the KubeconfigCommand "
        "output of the cluster stack",
    ),
    (
        (
            "Unauthorized",
            "ExpiredToken",
            "expired",
            "provide credentials",
            "InvalidClientTokenId",
            "could not get token",
            "getting credentials",
        ),
        "the cluster refused your credentials (expired, or not allowed to assume the lab's "
        "admin role): renew your AWS credentials and run the KubeconfigCommand output again",
    ),
    (
        ("no such host", "dial tcp", "i/o timeout", "connection refused", "Unable to connect"),
        "the cluster's endpoint does not answer (has the cluster been deleted?)",
    ),
)


class Unreachable(Exception):
    """No cluster can be reached; the message is the one line the learner sees."""


class KubectlCluster:
    def __init__(self, context: str, *, kubectl: str = "kubectl"):
        self.context = context
        self.kubectl = kubectl

    def get(
        self, resource: str, namespace: str | None = None, selector: str | None = None
    ) -> list[dict[str, Any]]:
        command = [self.kubectl, f"--context={self.context}", "get", resource, "-o", "json"]
        command += ["-n", namespace] if namespace else ["-A"]
        if selector:
            command += ["-l", selector]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=KUBECTL_TIMEOUT_S, check=False
            )
        except FileNotFoundError:
            raise Unreachable(f"kubectl ({self.kubectl}) is not on PATH") from None
        except subprocess.TimeoutExpired:
            raise Unreachable(
                f"kubectl did not answer within {KUBECTL_TIMEOUT_S} s listing {resource}"
            ) from None
        if done.returncode == 0:
            return json.loads(done.stdout or "{}").get("items", [])
        if any(words in done.stderr for words in NO_SUCH_KIND):
            return []
        raise Unreachable(self._reason(done.stderr))

    def _reason(self, stderr: str) -> str:
        for patterns, reason in UNREACHABLE:
            if any(re.search(p, stderr) for p in patterns):
                return reason.format(context=self.context)
        lines = [line.strip() for line in stderr.splitlines() if line.strip()]
        return f"kubectl failed: {lines[-1] if lines else 'no message'}"


def read_state(cluster: KubectlCluster, resources: Iterable[str] = RESOURCES) -> State:
    """What the checks read: each resource in every namespace; of Secrets only Helm's
    release records (label owner=helm)."""
    return State(
        {
            resource: cluster.get(
                resource, selector="owner=helm" if resource == HELM_SECRETS else None
            )
            for resource in resources
        }
    )
