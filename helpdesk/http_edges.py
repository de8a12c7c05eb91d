"""The edges of every service's HTTP app: request bodies, JSON, security headers.

`EdgedAPI` is FastAPI with these middlewares outside everything FastAPI builds, its error middleware
included, so that every answer passes them: a 500 from the error handler gets the security headers like
any other, and a body that declares too many bytes is refused before any route, dependency or credential
check runs. The body limit while streaming is FastAPI's own (`max_body_size`, per app and per route);
this module answers what it cannot see (a declared length, a body that never ends, a connection left
with an unread body) and gives its refusals the one problem format. A route that takes larger bodies
than the app (an upload) declares it once, with `max_body_size=` on the route: the edge honours it too.

The server below the app (uvicorn with httptools) guards the headers: size and read time, see
`helpdesk.serve`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.routing import iter_route_contexts
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from helpdesk.errors import Problem, body_timeout, problem_response, too_large

MAX_JSON_DEPTH = 32
"""Arrays and objects inside each other. The API's bodies are flat and a Teams activity with an
Adaptive Card nests about ten deep; 1,000 deep once took Python's recursion limit and gave a 500."""

_BASE = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_PATHS = ("/docs",)


class SecurityHeaders:
    """Headers on every answer (pure ASGI, so it costs next to nothing per request).

    API answers cannot be cached, framed or sniffed; pages (the web chat, the dashboard) get a strict
    Content-Security-Policy (no inline script, no third-party origin) unless they set their own, so that
    model output that slipped through escaping still could not run; the API reference gets one too.
    """

    def __init__(self, app: ASGIApp, *, pages: Sequence[str] = (), hsts: bool = False) -> None:
        self.app = app
        self.pages = tuple(pages)
        self.hsts = hsts

    def _policy(self, path: str) -> tuple[str, bool]:
        """The CSP for a path, and whether the answer must not be stored."""
        if path.startswith(DOCS_PATHS):
            return DOCS_CSP, False
        if any(
            path == page or (len(page) > 1 and page.endswith("/") and path.startswith(page))
            for page in self.pages
        ):
            return PAGE_CSP, False
        return API_CSP, True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp, no_store = self._policy(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _BASE.items():
                    headers.setdefault(name, value)
                headers.setdefault("content-security-policy", csp)
                if no_store:
                    headers.setdefault("cache-control", "no-store")
                if self.hsts:
                    headers.setdefault("strict-transport-security", "max-age=31536000; includeSubDomains")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def body_too_slow() -> StarletteHTTPException:
    """An HTTP exception, not a `Problem`: FastAPI passes those through its own body parsing, and the
    kernel's handler answers it as `body_timeout()`."""
    return StarletteHTTPException(408)


def route_body_limit(scope: Scope) -> int | None:
    """The body limit of the route this request goes to (FastAPI's `max_body_size=` on the route, its
    router or the app, as FastAPI resolves it), None when none is set. Read from the app in the scope,
    so a route says its limit once and both the edge and FastAPI's streaming limit follow it."""
    app = scope.get("app")
    for route in iter_route_contexts(getattr(app, "routes", ())):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            limit = getattr(route, "max_body_size", None)
            return limit if isinstance(limit, int) else None
    return None


class BodyGuard:
    """What a streaming limit cannot do on its own.

    A declared `Content-Length` over the limit is answered 413 at once, before the app (and so before
    any credential check) runs. The limit is `max_bytes`, or a larger one that the request's route
    declares (an upload route: `max_body_size=` on it), looked up only for a body over `max_bytes`, so
    other requests pay nothing for it; a route's smaller limit is FastAPI's to apply while the body
    streams in. The body must have arrived `timeout_seconds` after the headers (408). An answer sent
    before the body was read to its end closes the connection, so the server does not go on reading
    (and discarding) whatever the client still sends.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout_seconds: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_seconds = timeout_seconds

    def _refused(self, scope: Scope, declared: int) -> int | None:
        """The limit a declared length is over, None when it is within what the route takes."""
        if declared <= self.max_bytes:
            return None
        limit = max(self.max_bytes, route_body_limit(scope) or 0)
        return limit if declared > limit else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if (declared is None and "transfer-encoding" not in headers) or declared == "0":
            await self.app(scope, receive, send)
            return
        if declared is not None and declared.isdigit() and (limit := self._refused(scope, int(declared))):
            await problem_response(too_large(limit))(scope, receive, send)
            return

        deadline = asyncio.get_running_loop().time() + self.timeout_seconds
        body_read = False
        started = False

        async def receive_in_time() -> Message:
            nonlocal body_read
            if body_read:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise body_too_slow() from None
            body_read = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        async def send_closing_unread(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if not body_read:
                    MutableHeaders(scope=message)["connection"] = "close"
            await send(message)

        try:
            await self.app(scope, receive_in_time, send_closing_unread)
        except StarletteHTTPException as exc:
            if started or exc.status_code != 408:
                raise
            await problem_response(body_timeout())(scope, receive, send)


class EdgedAPI(FastAPI):
    """FastAPI whose outermost layers are the given middlewares (outer first)."""

    def __init__(self, *, edges: Sequence[tuple[Any, dict[str, Any]]] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.edges = list(edges)

    def build_middleware_stack(self) -> ASGIApp:
        app = super().build_middleware_stack()
        for cls, options in reversed(self.edges):
            app = cls(app, **options)
        return app


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def nested_deeper_than(value: Any, limit: int) -> bool:
    """Iterative, so that the check itself cannot run out of stack."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


def parse_json(raw: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Bytes to JSON values, in the order the checks must fail: encoding, syntax, nesting (all 400)."""
    try:
        raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        raise Problem(400, "The body is not valid UTF-8.", kind="invalid-encoding") from None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Problem(400, "The body is not valid JSON.", kind="invalid-json") from None
    if nested_deeper_than(data, max_depth):
        raise Problem(400, f"The body nests deeper than {max_depth} levels.", kind="too-deep")
    return data


async def read_json(request: Request) -> tuple[Any, bytes]:
    """A JSON request body, parsed, and its raw bytes (for fingerprints). The media type is checked
    before anything is read (415); the size and read time are the app's limits (413, 408)."""
    if not _is_json(request.headers.get("content-type", "")):
        raise Problem(415, "Send the body as application/json.", kind="unsupported-media-type")
    raw = await request.body()
    return parse_json(raw), raw
