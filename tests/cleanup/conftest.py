"""Fixtures for the load balancer cleanup handler: one real moto server for the whole session.

The handler builds its boto3 clients from boto3's default session, so the tests observe and
disturb its requests with botocore event hooks on that session (counting requests, answering
one with an AWS error), while the test's own clients use a separate session and stay
unaffected.
"""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType, SimpleNamespace

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from tests.cleanup.lambda_asset import lambda_asset

# botocore names events after the service id: "before-send.<service>.<Operation>".
EC2 = "ec2"
ELBV2 = "elastic-load-balancing-v2"
ELB = "elastic-load-balancing"
EKS = "eks"


@dataclass(frozen=True)
class Aws:
    """The test's own clients, outside the handler's session and its hooks."""

    ec2: object
    elbv2: object
    elb: object
    eks: object


@pytest.fixture(scope="module")
def aws_environment(moto_endpoint) -> Iterator[str]:
    """Points boto3 at the server while this module's tests run, and only then."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        # Whatever the developer's shell has must not leak into the handler's session.
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
            patch.delenv(name, raising=False)
        # Loading moto's catalogue of public AMIs costs time after every reset; any AMI ID
        # will do for the one instance the scenario runs.
        patch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        # The handler's default session, built with this environment: its loaded service
        # models are reused across tests, and HandlerRequests removes its hooks after each.
        patch.setattr(boto3, "DEFAULT_SESSION", None)
        boto3.setup_default_session()
        yield moto_endpoint


@pytest.fixture(scope="module")
def cleanup_asset() -> Iterator[SimpleNamespace]:
    """The handler folder's modules, imported as the Lambda runtime imports them, for one test
    module at a time."""
    with lambda_asset() as modules:
        yield modules


@pytest.fixture(scope="module")
def cleanup_handler(cleanup_asset) -> ModuleType:
    return cleanup_asset.handler


@pytest.fixture(scope="module")
def test_clients(aws_environment) -> Aws:
    session = boto3.session.Session()
    return Aws(
        ec2=session.client("ec2"),
        elbv2=session.client("elbv2"),
        elb=session.client("elb"),
        eks=session.client("eks"),
    )


@pytest.fixture
def aws(aws_environment, test_clients, monkeypatch) -> Aws:
    """The test's clients, on an emptied server."""
    reset = urllib.request.Request(f"{aws_environment}/moto-api/reset", method="POST")
    with urllib.request.urlopen(reset, timeout=10) as response:
        assert response.status == 200
    monkeypatch.delenv("CLEANUP_TIMEOUT_MINUTES", raising=False)
    return test_clients


class _Body:
    """The raw body botocore reads an AWSResponse from."""

    def __init__(self, content: bytes):
        self._content = content

    def stream(self, **_):
        yield self._content


def _error_body(service: str, code: str, message: str) -> bytes:
    if service == EKS:
        return json.dumps({"message": message}).encode()
    if service == EC2:
        return (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{message}"
            "</Message></Error></Errors><RequestID>test</RequestID></Response>"
        ).encode()
    return (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}"
        "</Message></Error><RequestId>test</RequestId></ErrorResponse>"
    ).encode()


class HandlerRequests:
    """Watches and disturbs the requests the handler sends, through its default session."""

    def __init__(self):
        self.sent = Counter()
        self.injected = Counter()
        self.tag_batch_sizes: list[int] = []
        self._hooks: list[tuple[str, object]] = []
        self._hook("before-send", self._count)
        self._hook(f"before-parameter-build.{ELBV2}.DescribeTags", self._tag_batch)
        self._hook(f"before-parameter-build.{ELB}.DescribeTags", self._tag_batch)

    def _hook(self, event_name: str, handler) -> None:
        boto3.DEFAULT_SESSION.events.register(event_name, handler)
        self._hooks.append((event_name, handler))

    def remove_hooks(self) -> None:
        for event_name, handler in self._hooks:
            boto3.DEFAULT_SESSION.events.unregister(event_name, handler)

    def _count(self, request, event_name, **_):
        self.sent[event_name.split(".", 1)[1]] += 1

    def _tag_batch(self, params, **_):
        self.tag_batch_sizes.append(len(params.get("ResourceArns") or params["LoadBalancerNames"]))

    def fail(
        self,
        service: str,
        operation: str,
        code: str,
        times: int | None = None,
        status: int = 400,
        after: int = 0,
        message: str = "injected by the test",
    ):
        """Answer `times` (None: every) calls of operation, after `after` others, with an error.

        The answer replaces the HTTP exchange only, so botocore parses it and applies its
        retry rules to it exactly as to an answer from AWS.
        """
        headers = {"Content-Type": "text/xml"}
        if service == EKS:  # a REST-JSON API names the error in a header
            headers = {"Content-Type": "application/json", "x-amzn-ErrorType": code}
        self._answer(
            service, operation, status, headers, _error_body(service, code, message), times, after
        )

    def respond(self, service: str, operation: str, document: dict, times: int | None = None):
        """Answer `times` (None: every) calls of a JSON API's operation with `document`."""
        body = json.dumps(document).encode()
        self._answer(service, operation, 200, {"Content-Type": "application/json"}, body, times)

    def _answer(self, service, operation, status, headers, body, times, after=0):
        key = f"{service}.{operation}"
        seen = Counter()

        def answer(request, **_):
            seen[key] += 1
            if seen[key] <= after or (times is not None and self.injected[key] >= times):
                return None
            self.injected[key] += 1
            return AWSResponse(request.url, status, headers, _Body(body))

        self._hook(f"before-send.{key}", answer)


@pytest.fixture
def handler_requests(aws) -> Iterator[HandlerRequests]:
    requests = HandlerRequests()
    yield requests
    requests.remove_hooks()


class LambdaContext:
    """The part of the Lambda context the handler uses: plenty of time for `requests` AWS
    requests (the handler asks once before each), then only `last_ms` milliseconds."""

    def __init__(self, requests: int, last_ms: int = 30_000):
        self.requests_left = requests
        self.last_ms = last_ms

    def get_remaining_time_in_millis(self) -> int:
        self.requests_left -= 1
        return 280_000 if self.requests_left >= 0 else self.last_ms


@pytest.fixture
def context_for():
    return LambdaContext
