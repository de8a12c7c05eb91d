"""The one error format: RFC 9457 problem details (`application/problem+json`).

Every error body has `type, title, status, detail, correlation_id` and nothing else a client could use
against us: no stack trace, no echo of the input. Validation errors name the offending field and why,
never its value.

Domain code says no by raising a `DomainError` subclass that names the rule in the helpdesk's words
(`class HandoffNotFound(DomainError)`, with `status`, `kind` and `title` on the class); it never builds
an HTTP answer. `install_problem_handlers` holds the one mapping from any `DomainError` to problem+json,
so a service's routes and handlers need no translation of their own. `Problem` is the same error for
the HTTP edge itself (a route, a guard, the body reader), where the status is all there is to say.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.responses import Response

from helpdesk.logging import get_logger
from helpdesk.telemetry import current_trace_id

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://helpdesk.dev/problems/"

_log = get_logger(__name__)

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    408: "Request timeout",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    431: "Request header fields too large",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


class DomainError(Exception):
    """A rule of the helpdesk refused the request; the kernel answers it as problem+json.

    Subclass it once per refusal and declare on the class what a client sees:

        class HandoffNotFound(DomainError):
            status = 404
            kind = "not-found"
            title = "Not found"

    `status` is the HTTP status, `kind` the last segment of the problem `type` URI (a stable name
    clients may switch on), `title` the short human summary; `kind` and `title` default to the
    status's generic ones. An instance carries `detail` (one sentence a client may read: never secrets,
    never the input echoed back), optional `headers` (e.g. `Retry-After`) and optional `extra` members
    added to the problem body. The class attributes are what subclasses may rely on; they are stable.
    """

    status: int = 400
    kind: str = "bad-request"
    title: str = "Bad request"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declared = vars(cls)
        if "status" in declared:
            if "title" not in declared:
                cls.title = _TITLES.get(cls.status, "Error")
            if "kind" not in declared:
                cls.kind = _kind_of(cls.title)

    def __init__(
        self,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers: dict[str, str] = dict(headers or {})
        self.extra: dict[str, Any] = dict(extra or {})


def _kind_of(title: str) -> str:
    return title.lower().replace(" ", "-")


class Problem(DomainError):
    """Raise from a route or an HTTP guard to answer with a problem document whose status is given here
    rather than declared by a domain rule."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail, headers=headers, extra=extra)
        self.status = status
        self.title = title or _TITLES.get(status, "Error")
        self.kind = kind or _kind_of(_TITLES.get(status, "error"))


def too_large(max_bytes: int | None) -> Problem:
    """The body is over the limit; the connection closes, or the server would read the rest."""
    detail = "The body is too large." if max_bytes is None else f"The body is larger than {max_bytes} bytes."
    return Problem(413, detail, kind="too-large", headers={"connection": "close"})


def body_timeout() -> Problem:
    return Problem(
        408, "The body did not arrive in time.", kind="body-timeout", headers={"connection": "close"}
    )


def correlation_id(request: Request | None = None) -> str:
    trace_id = current_trace_id()
    if trace_id:
        return trace_id
    if request is not None:
        return str(getattr(request.state, "correlation_id", "")) or "none"
    return "none"


def problem_response(problem: DomainError, request: Request | None = None) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + problem.kind,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "correlation_id": correlation_id(request),
        **problem.extra,
    }
    return Response(
        content=orjson.dumps(body),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def describe_validation_errors(errors: list[Any]) -> list[dict[str, str]]:
    """Field paths and reasons only; pydantic's `input` and `ctx` would echo what the client sent."""
    described = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", ()) if part not in ("body",)]
        described.append({"field": ".".join(loc) or "body", "reason": str(err.get("msg", "invalid"))})
    return described


def install_problem_handlers(app: FastAPI) -> None:
    """The one exception-to-HTTP mapping: domain errors (and `Problem`s) as problem+json, schema
    violations as a 422 naming the fields, Starlette's own errors in the same format, and anything
    unexpected as a logged 500 that tells the client nothing more."""

    async def on_domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        return problem_response(exc, request)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = describe_validation_errors(list(exc.errors()))
        return problem_response(
            Problem(
                422, "The request does not match the schema.", kind="validation", extra={"errors": errors}
            ),
            request,
        )

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 413:
            return problem_response(too_large(request.scope.get(MAX_BODY_SIZE_SCOPE_KEY)), request)
        if exc.status_code == 408:
            return problem_response(body_timeout(), request)
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
        return problem_response(Problem(exc.status_code, detail, headers=exc.headers), request)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        _log.error("unhandled_error", path=request.url.path, error_type=type(exc).__name__, exc_info=exc)
        return problem_response(Problem(500, "Something went wrong on our side."), request)

    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
