"""A stand-in for the tracing backends' HTTP APIs on 127.0.0.1, for `python -m smoke --traces`.

It answers Jaeger's query API (/api/services, /api/traces) or Zipkin's v2 API
(/api/v2/services, /api/v2/traces) with traces through productpage that touch the services
it is given, written in each backend's documented JSON form. `visible_after` delays the
spans, as batching proxies and collectors do. `earlier` are the services of a trace that
started `earlier_age_s` ago (an earlier scenario's); a search returns the traces that started
in its window as each backend bounds it: Jaeger v2 by `start` and `end` in microseconds
(without them the last 48 hours; `lookback` is ignored), Zipkin by `lookback` milliseconds
before `endTs` (default the last day).

Run as a program (`python fake_tracing.py PORT BACKEND SERVICE...`) it serves until killed:
tests put a fake `kubectl` on PATH that runs it in place of a port-forward.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAMESPACE = "default"
JAEGER_DEFAULT_WINDOW_S = 48 * 3600
ZIPKIN_DEFAULT_LOOKBACK_S = 24 * 3600


class FakeTracing:
    def __init__(
        self,
        backend: str,
        services: list[str],
        *,
        visible_after: int = 0,
        port: int = 0,
        earlier: list[str] = (),
        earlier_age_s: float = 3600,
    ) -> None:
        self.backend = backend
        self.services = [f"{s}.{NAMESPACE}" for s in services]
        self.earlier = [f"{s}.{NAMESPACE}" for s in earlier]
        self.earlier_started = time.time() - earlier_age_s
        self.visible_after = visible_after
        self.polls = 0
        self.trace_queries: list[dict[str, list[str]]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        # A short poll keeps stop() from waiting half a second.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeTracing:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, object]:
        jaeger = self.backend == "jaeger"
        if path == ("/api/services" if jaeger else "/api/v2/services"):
            self.polls += 1
        # Nothing is there for the first `visible_after` polls.
        visible = self.services if self.polls > self.visible_after else []
        if path == ("/api/services" if jaeger else "/api/v2/services"):
            names = visible
            return 200, {"data": names, "total": len(names)} if jaeger else names
        if path == ("/api/traces" if jaeger else "/api/v2/traces"):
            self.trace_queries.append(query)
            start, end = self._window(query)
            stored = ((time.time(), visible), (self.earlier_started, self.earlier))
            traces = [found for started, found in stored if found and start <= started <= end]
            return 200, self._traces(traces)
        return 404, {"error": path}

    def _window(self, query: dict[str, list[str]]) -> tuple[float, float]:
        now = time.time()
        if self.backend == "jaeger":
            start = (
                float(query["start"][0]) / 1e6
                if "start" in query
                else now - JAEGER_DEFAULT_WINDOW_S
            )
            end = float(query["end"][0]) / 1e6 if "end" in query else now
            return start, end
        end = float(query["endTs"][0]) / 1000 if "endTs" in query else now
        lookback = (
            float(query["lookback"][0]) / 1000 if "lookback" in query else ZIPKIN_DEFAULT_LOOKBACK_S
        )
        return end - lookback, end  # fmt: skip

    def _traces(self, traces: list[list[str]]) -> object:
        if self.backend == "jaeger":
            data = [
                {
                    "traceID": f"t{n}",
                    "spans": [],
                    "processes": {f"p{i}": {"serviceName": s} for i, s in enumerate(services)},
                }
                for n, services in enumerate(traces)
            ]
            return {"data": data}
        return [
            [{"traceId": f"t{n}", "localEndpoint": {"serviceName": s}} for s in services]
            for n, services in enumerate(traces)
        ]


def _handler_for(app: FakeTracing) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urllib.parse.urlsplit(self.path)
            status, document = app.answer(parts.path, urllib.parse.parse_qs(parts.query))
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


if __name__ == "__main__":
    port, backend, *services = sys.argv[1:]
    FakeTracing(backend, services, port=int(port)).serve_forever()
