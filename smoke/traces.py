"""Which Bookinfo services show up in the tracing backend's recent traces.

After the smoke check's requests, `--traces` asks the backend's HTTP API (Jaeger's or
Zipkin's, through a `kubectl port-forward` this module starts and stops) for the traces that
pass through productpage, and lists the services in them. Istio names a proxy's spans
`<app>.<namespace>`, e.g. `reviews.default`; the check compares the part before the dot.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from plan.modes import TRACING
from plan.observability import OBSERVABILITY_NAMESPACE, TracingBackend
from plan.scenarios import SERVICES, V2, V3, Promise

BOOKINFO_ENTRY = "productpage"
RATINGS = "ratings"
# Every page touches productpage, details and reviews; reviews v2 and v3 also call ratings.
ALWAYS_CALLED = tuple(service for service in SERVICES if service != RATINGS)
TRACE_LIMIT = 100
# The cluster's clock and this machine's may differ by a little: the window of the traces
# asked for starts this much before the requests were sent and ends this much after now.
CLOCK_SKEW_S = 30


class TracesError(Exception):
    """The backend could not be asked; the message is the one line the user sees."""


@dataclass(frozen=True)
class TracingApi:
    """How to read one backend: the Service that serves its HTTP API (as the plan deploys
    it); the subclasses know the API's form."""

    backend: str
    service: str
    port: int
    namespace: str = OBSERVABILITY_NAMESPACE

    @classmethod
    def of(cls, backend: TracingBackend) -> TracingApi:
        query = backend.query
        return cls(backend.name, query.service, query.port.port)

    def services_url(self, base: str) -> str:
        raise NotImplementedError

    def traces_url(self, base: str, service: str, start_s: float, end_s: float) -> str:
        """The traces through `service` that started between `start_s` and `end_s` (Unix
        seconds)."""
        raise NotImplementedError

    def parse_services(self, document: Any) -> list[str]:
        raise NotImplementedError

    def services_in_traces(self, document: Any) -> set[str]:
        raise NotImplementedError


class JaegerApi(TracingApi):
    """Jaeger's HTTP query API (/api/services, /api/traces)."""

    def services_url(self, base: str) -> str:
        return base + "/api/services"

    def traces_url(self, base: str, service: str, start_s: float, end_s: float) -> str:
        # Jaeger v2 bounds a search by `start` and `end` only, in microseconds; `lookback` is
        # the UI's and ignored, and without them the window is the last 48 hours.
        query = {
            "service": service,
            "start": int(start_s * 1_000_000),
            "end": int(end_s * 1_000_000),
            "limit": TRACE_LIMIT,
        }
        return f"{base}/api/traces?{urllib.parse.urlencode(query)}"

    def parse_services(self, document: Any) -> list[str]:
        return list(document["data"])

    def services_in_traces(self, document: Any) -> set[str]:
        return {
            process["serviceName"]
            for trace in document.get("data") or []
            for process in (trace.get("processes") or {}).values()
        }


class ZipkinApi(TracingApi):
    """Zipkin's v2 API (/api/v2/services, /api/v2/traces)."""

    def services_url(self, base: str) -> str:
        return base + "/api/v2/services"

    def traces_url(self, base: str, service: str, start_s: float, end_s: float) -> str:
        # Zipkin's window: `lookback` milliseconds before `endTs` (Unix milliseconds).
        query = {
            "serviceName": service,
            "endTs": int(end_s * 1000),
            "lookback": int((end_s - start_s) * 1000),
            "limit": TRACE_LIMIT,
        }
        return f"{base}/api/v2/traces?{urllib.parse.urlencode(query)}"

    def parse_services(self, document: Any) -> list[str]:
        return list(document)

    def services_in_traces(self, document: Any) -> set[str]:
        return {
            endpoint["serviceName"]
            for trace in document
            for span in trace
            for endpoint in (span.get("localEndpoint"), span.get("remoteEndpoint"))
            if endpoint and endpoint.get("serviceName")
        }


# The reader of each form of query API a tracing backend of the plan may have.
READERS: Mapping[str, type[TracingApi]] = MappingProxyType(
    {"jaeger": JaegerApi, "zipkin-v2": ZipkinApi}
)
# Every backend the `tracing` key offers whose traces this tool can read.
APIS: Mapping[str, TracingApi] = MappingProxyType(
    {
        name: READERS[backend.query_api].of(backend)
        for name, backend in TRACING.items()
        if backend is not None and backend.query_api in READERS
    }
)


def expected_services(promise: Promise) -> tuple[str, ...]:
    """The Bookinfo services that the promised pages make traces pass through."""
    calls_ratings = promise.shares.get(V2, 0) > 0 or promise.shares.get(V3, 0) > 0
    return ALWAYS_CALLED + ((RATINGS,) if calls_ratings else ())


def short_name(service: str) -> str:
    return service.split(".", 1)[0].lower()


@dataclass(frozen=True)
class TraceCheck:
    backend: str
    expected: tuple[str, ...]
    seen: tuple[str, ...]
    waited_s: float

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(s for s in self.expected if s not in self.seen)

    @property
    def passed(self) -> bool:
        return not self.missing


def check_traces(
    api: TracingApi,
    base_url: str,
    expected: Iterable[str],
    *,
    since: float,
    wait_s: float,
    timeout_s: float = 10.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], float] = time.time,
) -> TraceCheck:
    """Ask until every expected service has shown up or `wait_s` has passed (proxies and
    the backend send spans in batches, a few seconds after the request). Only traces that
    started since `since` (Unix seconds, when the requests began) count: an earlier
    scenario's traces must not pass for this one's."""
    expected = tuple(expected)
    start = clock()
    while True:
        window = (since - CLOCK_SKEW_S, now() + CLOCK_SKEW_S)
        seen = _seen(api, base_url, timeout_s, window)
        waited = clock() - start
        if all(s in seen for s in expected) or waited >= wait_s:
            return TraceCheck(api.backend, expected, tuple(sorted(seen)), waited)
        sleep(min(2.0, max(0.0, wait_s - waited)))


def _seen(
    api: TracingApi, base_url: str, timeout_s: float, window: tuple[float, float]
) -> set[str]:
    entries = [
        s
        for s in api.parse_services(_get(api.services_url(base_url), timeout_s))
        if short_name(s) == BOOKINFO_ENTRY
    ]
    seen = set()
    for entry in entries:
        document = _get(api.traces_url(base_url, entry, *window), timeout_s)
        seen |= {short_name(s) for s in api.services_in_traces(document)}
    return seen


def _get(url: str, timeout_s: float) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return json.loads(response.read().decode("utf-8"))
    except (OSError, ValueError) as problem:
        raise TracesError(f"could not read {url}: {problem}") from None


def free_local_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PortForward:
    """`kubectl port-forward` to the backend's Service for the duration of a with-block."""

    def __init__(self, api: TracingApi, *, kubectl: str = "kubectl", ready_s: float = 20.0):
        self.api = api
        self.kubectl = kubectl
        self.ready_s = ready_s
        self.local_port = free_local_port()
        self._process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.local_port}"

    def __enter__(self) -> PortForward:
        command = [
            self.kubectl,
            "port-forward",
            "-n",
            self.api.namespace,
            f"svc/{self.api.service}",
            f"{self.local_port}:{self.api.port}",
        ]
        try:
            self._process = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )
        except FileNotFoundError:
            raise TracesError(
                f"kubectl is not on PATH to reach the {self.api.backend} API; run the "
                "KubeconfigCommand output first, or pass --tracing-url"
            ) from None
        self._wait_until_listening()
        return self

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + self.ready_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                reason = (self._process.stderr.read() or "").strip().splitlines()
                raise TracesError(
                    f"kubectl port-forward to svc/{self.api.service} ended: "
                    f"{reason[-1] if reason else f'exit status {self._process.returncode}'}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.local_port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        self.__exit__(None, None, None)
        raise TracesError(
            f"kubectl port-forward to svc/{self.api.service} did not listen within "
            f"{self.ready_s:.0f} s"
        )

    def __exit__(self, *exc_info) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process is not None and self._process.stderr:
            self._process.stderr.close()
