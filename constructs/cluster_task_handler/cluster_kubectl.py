"""kubectl against the lab's cluster, for every task: a kubeconfig with a fresh token, the
runner, and the error a task fails with.

The function reaches the cluster through its public endpoint, with a token of its own role
(which has an EKS access entry): the same token `aws eks get-token` makes, a presigned STS
GetCallerIdentity URL naming the cluster.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import boto3
from botocore.signers import RequestSigner

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

KUBECTL = os.environ.get("KUBECTL", "/opt/kubectl/kubectl")
KUBECTL_TIMEOUT_S = 300
TOKEN_EXPIRES_S = 60
MAX_MESSAGE_CHARS = 1000


# What is kept back of the function's time to answer CloudFormation.
ANSWER_MARGIN_S = 30
# The remaining time of an invocation without a context (a test's).
DEFAULT_REMAINING_S = 840
# The least time a kubectl call gets, even when the deadline is closer.
MIN_CALL_S = 5


class TaskError(RuntimeError):
    """The task failed; the message says what and is short enough for CloudFormation."""


def time_left_s(context: object = None) -> float:
    """What a task may spend: the function's remaining time, less ANSWER_MARGIN_S."""
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    seconds = remaining_ms() / 1000 if remaining_ms is not None else DEFAULT_REMAINING_S
    return seconds - ANSWER_MARGIN_S


class Deadline:
    """When a task must stop: `seconds` from now on `clock`; each kubectl call gets at most
    what is left of it, and never less than `min_call_s`."""

    def __init__(self, seconds: float, clock: Callable[[], float], min_call_s: int = MIN_CALL_S):
        self.clock = clock
        self.at = clock() + seconds
        self.min_call_s = min_call_s

    def left(self) -> float:
        return self.at - self.clock()

    def passed(self) -> bool:
        return self.left() <= 0

    def allows(self, seconds: float) -> bool:
        return self.left() > seconds

    def call_timeout(self) -> int:
        return max(self.min_call_s, int(min(KUBECTL_TIMEOUT_S, self.left())))


def kubectl(kubeconfig: Path, arguments: list[str], timeout_s: int = KUBECTL_TIMEOUT_S) -> str:
    command = [KUBECTL, f"--kubeconfig={kubeconfig}", *arguments]
    LOG.info("running kubectl %s", " ".join(arguments[:4]))
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise TaskError(f"kubectl {arguments[0]} did not run: {error}") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise TaskError(f"kubectl {arguments[0]} failed: {last}")
    LOG.info("%s", done.stdout.strip())
    return done.stdout


class cluster_kubeconfig:
    """A kubeconfig file for the cluster, with a fresh token, for one with-block."""

    def __init__(self, cluster: str):
        self.cluster = cluster
        self._directory = None

    def __enter__(self) -> Path:
        session = boto3.session.Session()
        description = session.client("eks").describe_cluster(name=self.cluster)["cluster"]
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": self.cluster,
                    "cluster": {
                        "server": description["endpoint"],
                        "certificate-authority-data": description["certificateAuthority"]["data"],
                    },
                }
            ],
            "users": [{"name": "task", "user": {"token": token(session, self.cluster)}}],
            "contexts": [{"name": "task", "context": {"cluster": self.cluster, "user": "task"}}],
            "current-context": "task",
        }
        self._directory = tempfile.TemporaryDirectory()
        path = Path(self._directory.name) / "kubeconfig"
        path.write_text(json.dumps(config), encoding="utf-8")
        path.chmod(0o600)
        return path

    def __exit__(self, *exc_info) -> None:
        self._directory.cleanup()


def token(session: boto3.session.Session, cluster: str) -> str:
    """An EKS bearer token: a presigned STS GetCallerIdentity URL naming the cluster."""
    region = session.region_name
    sts = session.client("sts", region_name=region)
    signer = RequestSigner(
        sts.meta.service_model.service_id,
        region,
        "sts",
        "v4",
        session.get_credentials(),
        session.events,
    )
    url = signer.generate_presigned_url(
        {
            "method": "GET",
            "url": f"https://sts.{region}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
            "body": {},
            "headers": {"x-k8s-aws-id": cluster},
            "context": {},
        },
        region_name=region,
        expires_in=TOKEN_EXPIRES_S,
        operation_name="",
    )
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
