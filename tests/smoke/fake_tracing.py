"""A stand-in for the tracing backends' HTTP APIs on 127.0.0.1, for `python -m smoke --traces`.

It answers Jaeger's query API (/api/services, /api/traces) or Zipkin's v2 API
(/api/v2/services, /api/v2/traces) with traces through productpage that touch the services
it is given, written in each backend's documented JSON form. `visible_after` delays the
spans, as batching proxies and collectors do.

Run as a program (`python fake_tracing.py PORT BACKEND SERVICE...`) it serves until killed:
tests put a fake `kubectl` on PATH that runs it in place of a port-forward.
"""

from __future__ import annotations

import json
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAMESPACE = "default"


class FakeTracing:
    def __init__(
        self, backend: str, services: list[str], *, visible_after: int = 0, port: int = 0
    ) -> None:
        self.backend = backend
        self.services = [f"{s}.{NAMESPACE}" for s in services]
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
            return 200, self._traces(visible)
        return 404, {"error": path}

    def _traces(self, services: list[str]) -> object:
        if self.backend == "jaeger":
            processes = {f"p{i}": {"serviceName": s} for i, s in enumerate(services)}
            trace = {"traceID": "abc", "spans": [], "processes": processes}
            return {"data": [trace] if services else []}
        spans = [{"traceId": "abc", "localEndpoint": {"serviceName": s}} for s in services]
        return [spans] if spans else []


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
