"""The common shape of a service process: lifespan with the runtime, health, readiness, metrics,
request telemetry, the one error format, the HTTP edges (body limits, security headers) and the API
reference. Each service's `create_app()` builds on `ServiceHost`."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.telemetry import TelemetryConfig
from opentelemetry.trace import SpanKind
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from helpdesk.api_docs import docs_router
from helpdesk.dapr.subscriptions import Subscriptions
from helpdesk.errors import install_problem_handlers
from helpdesk.http_edges import BodyGuard, EdgedAPI, SecurityHeaders
from helpdesk.logging import configure_logging, get_logger
from helpdesk.runtime import Runtime, open_dapr_runtime
from helpdesk.settings import ServiceSettings
from helpdesk.telemetry import HTTP_REQUESTS, HTTP_SECONDS, configure_tracing, extract_context, tracer
from helpdesk.topics import AppId, Component

_log = get_logger(__name__)

Hook = Callable[[Runtime], Awaitable[None]]
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


class ServiceParts(Protocol):
    """What `compose` builds once the runtime's ports exist: the service's domain objects, each given the
    ports it uses, kept on `app.state.parts` for routes and closed when the service stops."""

    async def close(self) -> None: ...


Compose = Callable[[Runtime, Subscriptions], Awaitable[ServiceParts]]
"""Builds a service's parts from the runtime and registers its event handlers on the subscriptions.

It runs in the lifespan, after the sidecar is reachable and before the app port opens, so daprd reads
the subscription table (`/dapr/subscribe`) only once every handler exists."""


def parts_of(request: Request) -> Any:
    """The parts `compose` built, for a service's typed route dependencies (`Annotated[..., Depends]`)."""
    return request.app.state.parts


MetricsAccess = Callable[[Request], Awaitable[object]]
"""Checks who asks before /metrics answers (raises a 401/403 `DomainError`). It gets the request, so it
reaches the credentials table through the service's parts (`parts_of`), which exist only once the
runtime has started."""

_UNTRACED = frozenset({"/healthz", "/readyz", "/metrics"})


_NO_FRAMEWORK_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
}
"""FastAPI's own OpenTelemetry instrumentation switches itself on once a tracer provider is set, which
`configure_tracing` does: it would add a second server span, spans for dependency resolution, the
endpoint and serialisation, and its own metrics to every request, beside `RequestTelemetry`'s (what that
costs per chat: docs/architecture.md, "Design decisions")."""


class RequestTelemetry:
    """Pure ASGI middleware: continue the caller's trace, time and count the request, bind ids to logs."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _UNTRACED:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        carrier = {k: headers[k] for k in ("traceparent", "tracestate") if k in headers}
        status = 500
        started = time.perf_counter()

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with (
            tracer().start_as_current_span(
                f"{scope['method']} {scope['path']}", context=extract_context(carrier), kind=SpanKind.SERVER
            ),
            structlog.contextvars.bound_contextvars(
                request_id=headers.get("x-request-id") or uuid.uuid4().hex
            ),
        ):
            try:
                await self.app(scope, receive, send_with_status)
            finally:
                route = scope.get("route")
                path = getattr(route, "path", "unmatched")
                HTTP_REQUESTS.labels(self.service, path, scope["method"], str(status)).inc()
                HTTP_SECONDS.labels(self.service, path).observe(time.perf_counter() - started)


class ServiceHost:
    """Owns one service process's runtime and builds its FastAPI app."""

    def __init__(
        self,
        app_id: AppId,
        settings: ServiceSettings,
        components: Sequence[Component],
        runtime: Runtime | None = None,
    ) -> None:
        self.app_id = app_id
        self.settings = settings
        self.components = list(components)
        self._given_runtime = runtime
        self._runtime: Runtime | None = runtime

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise RuntimeError(f"{self.app_id} is not started")
        return self._runtime

    def build(
        self,
        *,
        title: str,
        description: str,
        routers: Sequence[APIRouter] = (),
        compose: Compose | None = None,
        on_start: Sequence[Hook] = (),
        on_stop: Sequence[Hook] = (),
        middleware: Sequence[tuple[Any, dict[str, Any]]] = (),
        pages: Sequence[str] = (),
        metrics_access: MetricsAccess | None = None,
    ) -> FastAPI:
        """`pages`: paths of HTML and its assets (ending in a slash, "/" aside: a prefix), which get the
        page CSP and may be cached. `metrics_access`: who may read /metrics (a service with public ingress
        must say; without it /metrics is open to whoever reaches the port). `compose`: builds the
        service's parts once the runtime exists (see `Compose`); routers are module-level and reach the
        parts through `parts_of`."""
        configure_logging(self.app_id.value, self.settings.replica, self.settings.log_level)
        configure_tracing(self.app_id.value, self.settings.replica, self.settings.otlp_endpoint)
        app = self._edged_api(title, description, pages, self._lifespan(compose, on_start, on_stop))
        install_problem_handlers(app)
        app.include_router(self._health_router(metrics_access))
        app.include_router(docs_router(title))
        for router in routers:
            app.include_router(router)
        for cls, options in middleware:
            app.add_middleware(cls, **options)
        app.add_middleware(RequestTelemetry, service=self.app_id.value)
        app.state.host = self
        return app

    def _lifespan(
        self, compose: Compose | None, on_start: Sequence[Hook], on_stop: Sequence[Hook]
    ) -> Lifespan:
        """At start: the runtime (unless one was given), the parts `compose` builds, their subscription
        routes, then the start hooks. At stop the same in reverse, so a second start of the same app
        composes afresh."""

        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            if self._given_runtime is None:
                self._runtime = await open_dapr_runtime(self.settings, self.app_id.value, self.components)
            subscriptions = Subscriptions(self.app_id, self.settings.app_api_token)
            parts = await compose(self.runtime, subscriptions) if compose is not None else None
            app.state.parts = parts
            subscriptions.install(app)
            for hook in on_start:
                await hook(self.runtime)
            _log.info("service_started", app_id=self.app_id.value)
            try:
                yield
            finally:
                for hook in on_stop:
                    await hook(self.runtime)
                subscriptions.uninstall(app)
                if parts is not None:
                    await parts.close()
                app.state.parts = None
                if self._given_runtime is None and self._runtime is not None:
                    await self._runtime.close()
                    self._runtime = None
                _log.info("service_stopped", app_id=self.app_id.value)

        return lifespan

    def _edged_api(self, title: str, description: str, pages: Sequence[str], lifespan: Lifespan) -> FastAPI:
        """The app with the kernel's HTTP edges: security headers on every answer, the body limit and
        deadline, no framework telemetry beside `RequestTelemetry`, the API reference served locally."""
        return EdgedAPI(
            title=title,
            description=description,
            version="0.1.0",
            lifespan=lifespan,
            telemetry=_NO_FRAMEWORK_TELEMETRY,
            docs_url=None,
            redoc_url=None,
            max_body_size=self.settings.max_body_bytes,
            edges=[
                (SecurityHeaders, {"pages": pages, "hsts": self.settings.environment == "azure"}),
                (
                    BodyGuard,
                    {
                        "max_bytes": self.settings.max_body_bytes,
                        "timeout_seconds": self.settings.body_timeout_seconds,
                    },
                ),
            ],
        )

    def _health_router(self, metrics_access: MetricsAccess | None) -> APIRouter:
        router = APIRouter(tags=["health"])

        @router.get("/healthz", summary="The process is alive")
        async def healthz() -> dict[str, str]:
            return {"status": "ok", "service": self.app_id.value}

        @router.get("/readyz", summary="The sidecar is reachable and the components are loaded")
        async def readyz() -> Response:
            if self._runtime is None:
                return JSONResponse({"status": "starting"}, status_code=503)
            readiness = await self._runtime.readiness()
            body = {"status": "ready" if readiness.ready else "not-ready", "detail": readiness.detail}
            return JSONResponse(body, status_code=200 if readiness.ready else 503)

        @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
        async def metrics(request: Request) -> Response:
            if metrics_access is not None:
                await metrics_access(request)
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

        return router
