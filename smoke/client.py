"""HTTP side of the smoke check: log in like a browser, request the product page, time it."""

from __future__ import annotations

import http.client
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.cookiejar import CookieJar

from smoke.classify import ERROR, classify_page

# Flask's session cookie, where productpage keeps the logged-in user.
SESSION_COOKIE = "session"
USER_AGENT = "bookinfo-smoke"
_READ_CHUNK_BYTES = 64 * 1024


class LoginError(Exception):
    """Logging in did not give a session; the run cannot show what that user sees."""


@dataclass(frozen=True)
class Sample:
    """One request: its outcome class, how long it took, and why it failed if it did."""

    outcome: str
    latency_ms: float
    status: int | None = None
    error: str | None = None


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    # /login answers with a redirect back to the page; following it would be one more
    # product page request, outside the counted ones.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def login_url(productpage_url: str) -> str:
    # The page's sign-in form posts to the relative action "login".
    return urllib.parse.urljoin(productpage_url, "login")


class BookinfoClient:
    """Requests one product page URL, as an anonymous reader or after `login`.

    timeout_s bounds each request: every socket operation, and the whole answer.
    """

    def __init__(self, productpage_url: str, *, timeout_s: float) -> None:
        self.productpage_url = productpage_url
        self.timeout_s = timeout_s
        self._cookies = CookieJar()
        cookie_handler = urllib.request.HTTPCookieProcessor(self._cookies)
        self._opener = urllib.request.build_opener(cookie_handler)
        self._login_opener = urllib.request.build_opener(cookie_handler, _KeepRedirects())

    def login(self, user: str) -> None:
        """Sign in as `user` the way the page's form does, keeping the session cookie.

        productpage accepts any password and redirects to the Referer, so one is sent.
        """
        form = urllib.parse.urlencode({"username": user, "passwd": "smoke"}).encode()
        request = urllib.request.Request(
            login_url(self.productpage_url),
            data=form,
            method="POST",
            headers={"Referer": self.productpage_url, "User-Agent": USER_AGENT},
        )
        try:
            with self._login_opener.open(request, timeout=self.timeout_s) as response:
                status = response.status
        except urllib.error.HTTPError as redirect_or_error:
            status = redirect_or_error.code
            redirect_or_error.close()
            if status >= 400:
                raise LoginError(
                    f"login as {user} at {request.full_url} failed: HTTP {status}"
                ) from None
        except (OSError, http.client.HTTPException) as exc:
            raise LoginError(
                f"login as {user} at {request.full_url} failed: {_reason(exc)}"
            ) from None
        if not any(cookie.name == SESSION_COOKIE for cookie in self._cookies):
            raise LoginError(
                f"login as {user} at {request.full_url} answered HTTP {status} without a "
                f"'{SESSION_COOKIE}' cookie; is this Bookinfo's productpage?"
            )

    def fetch(self) -> Sample:
        """Request the product page once and classify the answer."""
        request = urllib.request.Request(self.productpage_url, headers={"User-Agent": USER_AGENT})
        started = time.monotonic()
        deadline = started + self.timeout_s
        try:
            with self._opener.open(request, timeout=self.timeout_s) as response:
                status = response.status
                body = _read_until(response, deadline)
        except urllib.error.HTTPError as failed:
            failed.close()
            return Sample(ERROR, _elapsed_ms(started), failed.code, f"HTTP {failed.code}")
        except (OSError, http.client.HTTPException) as exc:
            return Sample(ERROR, _elapsed_ms(started), None, _reason(exc))
        page = body.decode("utf-8", errors="replace")
        return Sample(classify_page(page), _elapsed_ms(started), status)


def _read_until(response: http.client.HTTPResponse, deadline: float) -> bytes:
    # The socket timeout bounds each read; this bounds a body that trickles in.
    chunks = []
    while chunk := response.read(_READ_CHUNK_BYTES):
        chunks.append(chunk)
        if time.monotonic() > deadline:
            raise TimeoutError("timed out")
    return b"".join(chunks)


def _elapsed_ms(started: float) -> float:
    return (time.monotonic() - started) * 1000


def _reason(exc: BaseException) -> str:
    """A short, stable reason to count errors by: 'timed out', 'connection refused', ..."""
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc.reason, str):
        exc = exc.reason
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return "host name not resolved"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    # RemoteDisconnected is a ConnectionResetError too; it means no status line came back.
    if isinstance(exc, http.client.RemoteDisconnected):
        return "closed without an answer"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return str(exc) or type(exc).__name__
