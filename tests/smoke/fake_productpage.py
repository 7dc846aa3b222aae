"""A stand-in for Bookinfo's productpage on 127.0.0.1, for the smoke check's tests.

It renders pages in the shape of productpage's two templates (Bootstrap up to Bookinfo
1.18, Tailwind since), keeps logged-in users in a server-side session behind a `session`
cookie as productpage's Flask session does, and answers each /productpage request as a
policy decides from the user that cookie names and the request's index. Policies play the
mesh: a rotation for round robin, a split, one answer for jason and another for everyone
else, a failure, a delay.
"""

from __future__ import annotations

import html
import itertools
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# What the page can show. The names are the test's own, written apart from smoke.classify,
# so a test compares the tool against an independent description of the pages.
NO_STARS = "no-stars"
BLACK_STARS = "black-stars"
RED_STARS = "red-stars"
RATINGS_ERROR = "ratings-error"
REVIEWS_ERROR = "reviews-error"
# Not a page: HTTP 500 with an error body.
SERVER_ERROR = "server-error"
# A 200 page that is not Bookinfo's (say, a default backend).
FOREIGN_PAGE = "foreign-page"
# Black and red stars together: no reviews version renders that.
MIXED_STARS = "mixed-stars"

# urllib sends requests through these when set; the tests unset them so that all their
# traffic goes straight to the fake server on 127.0.0.1.
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")

BOOTSTRAP = "bootstrap"
TAILWIND = "tailwind"
TEMPLATES = (BOOTSTRAP, TAILWIND)

REVIEWS_ERROR_TEXT = "Sorry, product reviews are currently unavailable for this book."
RATINGS_ERROR_TEXT = "Ratings service is currently unavailable"

# ratings v1 gives the two reviewers 5 and 4 stars.
_REVIEWERS = (
    ("Reviewer1", "An extremely entertaining play by Shakespeare.", 5),
    ("Reviewer2", "Absolutely fun and entertaining.", 4),
)


@dataclass(frozen=True)
class Answer:
    page: str
    delay_s: float = 0.0


# (user named by the session cookie or None, index of the /productpage request) -> answer
Policy = Callable[[str | None, int], Answer]


def rotate(*pages: str, delay_s: float = 0.0) -> Policy:
    """Answer with `pages` in turn, whoever asks."""
    return lambda user, index: Answer(pages[index % len(pages)], delay_s)


def always(page: str, delay_s: float = 0.0) -> Policy:
    return rotate(page, delay_s=delay_s)


def for_jason(jason: Policy, others: Policy) -> Policy:
    """The lab's routes match only `end-user: jason`; everyone else takes the default."""
    return lambda user, index: (jason if user == "jason" else others)(user, index)


def render(page: str, *, template: str = BOOTSTRAP, user: str | None = None) -> str:
    """A product page as productpage's `template` lays it out."""
    if page == FOREIGN_PAGE:
        return "<html><body><h1>Welcome</h1><p>Nothing to see here.</p></body></html>"
    bootstrap = template == BOOTSTRAP
    if page == REVIEWS_ERROR:
        reviews = (
            '<h4 class="text-center text-primary">Error fetching product reviews!</h4>\n'
            f"<p>{REVIEWS_ERROR_TEXT}</p>"
            if bootstrap
            else '<p class="text-2xl text-red-500">Error fetching product reviews</p>\n'
            f'<p class="text-lg text-gray-600">{REVIEWS_ERROR_TEXT}</p>'
        )
    else:
        colors = {BLACK_STARS: ("black", "black"), RED_STARS: ("red", "red")}
        colors[MIXED_STARS] = ("black", "red")
        blocks = []
        for position, (reviewer, text, stars) in enumerate(_REVIEWERS):
            if page in colors:
                color = colors[page][position]
                rating = _stars(color, stars) if bootstrap else _tailwind_stars(color, stars)
            elif page == RATINGS_ERROR:
                rating = (
                    f"<p><i>{RATINGS_ERROR_TEXT}</i></p>"
                    if bootstrap
                    else f'<p class="text-red-500">{RATINGS_ERROR_TEXT}</p>'
                )
            else:
                rating = ""
            blocks.append(_review(reviewer, text, rating, bootstrap=bootstrap))
        heading = (
            '<h4 class="text-center text-primary">Book Reviews</h4>'
            if bootstrap
            else '<h4 class="text-3xl font-semibold">Book Reviews</h4>'
        )
        reviews = heading + "\n" + "\n".join(blocks)
    signed_in = (
        f"<span>{html.escape(user)} ( <a href='logout'>sign out</a> )</span>" if user else ""
    )
    return (
        "<!DOCTYPE html>\n<html><head><title>Simple Bookstore App</title></head><body>\n"
        f'<nav class="navbar">BookInfo Sample {signed_in}</nav>\n'
        '<form method="post" action=\'login\' name="login_form">'
        '<input name="username"><input name="passwd" type="password"></form>\n'
        '<h3 class="text-center text-primary">The Comedy of Errors</h3>\n'
        '<h4 class="text-center text-primary">Book Details</h4>\n'
        f'<div class="col-md-6">\n{reviews}\n</div>\n</body></html>\n'
    )


def _review(reviewer: str, text: str, rating: str, *, bootstrap: bool) -> str:
    if bootstrap:
        return f"<blockquote>\n<p>{text}</p>\n<small>{reviewer}</small>\n{rating}\n</blockquote>"
    return (
        '<section class="px-6 py-12"><div class="mx-auto max-w-2xl">\n'
        f'{rating}\n<blockquote class="mt-10"><p>"{text}"</p></blockquote>\n'
        f'<div class="font-semibold text-gray-900">{reviewer}</div>\n</div></section>'
    )


def _stars(color: str, stars: int) -> str:
    full = '<span class="glyphicon glyphicon-star"></span>\n' * stars
    empty = '<span class="glyphicon glyphicon-star-empty"></span>\n' * (5 - stars)
    return (
        f'<font color="{color}">\n<!-- full stars: -->\n{full}<!-- empty stars: -->\n{empty}</font>'
    )


def _tailwind_stars(color: str, stars: int) -> str:
    full = '<svg class="h-5 w-5 flex-none" viewBox="0 0 20 20" fill="currentColor"></svg>\n'
    empty = '<svg fill="none" viewBox="0 0 24 24" stroke="currentColor" class="h-5 w-5"></svg>\n'
    return f'<div class="flex gap-x-1 text-{color}-500">\n{full * stars}{empty * (5 - stars)}</div>'


@dataclass(frozen=True)
class Login:
    username: str | None
    referer: str | None


class FakeProductpage:
    """An HTTP server on 127.0.0.1 (free port) in a thread; `stop()` shuts it down.

    template: the page layout to render.
    login_sets_cookie: False makes /login answer without a session, as a page that is not
        productpage would.
    login_status: the status /login answers with (productpage redirects: 302).
    """

    def __init__(
        self,
        policy: Policy,
        *,
        template: str = BOOTSTRAP,
        login_sets_cookie: bool = True,
        login_status: int = 302,
    ) -> None:
        self.policy = policy
        self.template = template
        self.login_sets_cookie = login_sets_cookie
        self.login_status = login_status
        self.logins: list[Login] = []
        # The user each /productpage request's cookie named (None: no session), in order.
        self.users_seen: list[str | None] = []
        self._sessions: dict[str, str] = {}
        self._requests = itertools.count()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # A handler still asleep when a test ends writes to a closed socket; not news.
        self._server.handle_error = lambda request, client_address: None
        # A short poll keeps shutdown() quick: it waits for the serve loop's next poll.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        return self.base_url + "/productpage"

    def start(self) -> FakeProductpage:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _answer(self, cookie_header: str | None) -> tuple[int, str, float]:
        user = None
        if cookie_header:
            morsel = SimpleCookie(cookie_header).get("session")
            user = self._sessions.get(morsel.value) if morsel else None
        with self._lock:
            index = next(self._requests)
            self.users_seen.append(user)
        answer = self.policy(user, index)
        if answer.page == SERVER_ERROR:
            return 500, "<html><body><h1>Internal Server Error</h1></body></html>", answer.delay_s
        return 200, render(answer.page, template=self.template, user=user), answer.delay_s

    def _login(self, form: str, referer: str | None) -> tuple[int, dict[str, str]]:
        username = urllib.parse.parse_qs(form).get("username", [None])[0]
        with self._lock:
            self.logins.append(Login(username, referer))
        headers = {"Location": referer or "/productpage"}
        if self.login_sets_cookie and username:
            token = secrets.token_hex(16)
            self._sessions[token] = username
            headers["Set-Cookie"] = f"session={token}; HttpOnly; Path=/"
        return self.login_status, headers


def _handler_for(app: FakeProductpage) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if urllib.parse.urlsplit(self.path).path != "/productpage":
                self._send(404, "<html><body>Not Found</body></html>")
                return
            status, body, delay_s = app._answer(self.headers.get("Cookie"))
            time.sleep(delay_s)
            self._send(status, body)

        def do_POST(self) -> None:
            if self.path != "/login":
                self._send(404, "<html><body>Not Found</body></html>")
                return
            length = int(self.headers.get("Content-Length") or 0)
            form = self.rfile.read(length).decode()
            status, headers = app._login(form, self.headers.get("Referer"))
            self._send(status, "", headers)

        def _send(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
            payload = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
