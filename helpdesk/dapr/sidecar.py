"""The process's one connection to its Dapr sidecar.

The SDK's aio client polls the sidecar's health synchronously in its constructor, which would block the
event loop; so we wait for health asynchronously first and only then build the client (one per process,
as the SDK recommends). A gRPC interceptor hands the current W3C trace context to the sidecar, which
puts it into the CloudEvents it publishes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from dapr.aio.clients import DaprClient
from grpc.aio import ClientCallDetails, UnaryUnaryClientInterceptor

from helpdesk.logging import get_logger
from helpdesk.settings import ServiceSettings
from helpdesk.telemetry import current_traceparent

_log = get_logger(__name__)


class _TraceContextInterceptor(UnaryUnaryClientInterceptor):  # type: ignore[misc]
    async def intercept_unary_unary(
        self,
        continuation: Callable[[ClientCallDetails, Any], Any],
        client_call_details: ClientCallDetails,
        request: Any,
    ) -> Any:
        headers = current_traceparent()
        if headers:
            metadata = list(client_call_details.metadata or [])
            metadata.extend(headers.items())
            client_call_details = ClientCallDetails(
                client_call_details.method,
                client_call_details.timeout,
                metadata,
                client_call_details.credentials,
                client_call_details.wait_for_ready,
            )
        return await continuation(client_call_details, request)


@dataclass
class Readiness:
    ready: bool
    detail: str
    components: list[str] = field(default_factory=list)


class Sidecar:
    def __init__(self, settings: ServiceSettings, required_components: list[str]) -> None:
        self._settings = settings
        self._required = required_components
        headers = {}
        if settings.dapr_api_token is not None:
            headers["dapr-api-token"] = settings.dapr_api_token.get_secret_value()
        self.http = httpx.AsyncClient(base_url=settings.sidecar_http, headers=headers, timeout=5.0)
        self._client: DaprClient | None = None

    @property
    def client(self) -> DaprClient:
        if self._client is None:
            raise RuntimeError("the sidecar connection is not open yet")
        return self._client

    async def open(self) -> None:
        await self.wait_healthy(self._settings.sidecar_wait_seconds)
        self._client = DaprClient(
            address=self._settings.sidecar_grpc, interceptors=[_TraceContextInterceptor()]
        )
        _log.info("sidecar_connected", grpc=self._settings.sidecar_grpc)

    async def wait_healthy(self, timeout: float) -> None:
        """Wait until the sidecar answers its outbound health check (components loaded)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        delay = 0.05
        while True:
            try:
                response = await self.http.get("/v1.0/healthz/outbound")
                if response.status_code == 204:
                    return
            except httpx.HTTPError:
                pass
            if loop.time() > deadline:
                raise TimeoutError(
                    f"Dapr sidecar at {self._settings.sidecar_http} not healthy after {timeout}s"
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def readiness(self) -> Readiness:
        try:
            health = await self.http.get("/v1.0/healthz", timeout=2.0)
            if health.status_code != 204:
                return Readiness(False, f"sidecar health {health.status_code}")
            meta = await self.http.get("/v1.0/metadata", timeout=2.0)
            meta.raise_for_status()
            loaded = sorted(c["name"] for c in meta.json().get("components", []))
        except httpx.HTTPError as exc:
            return Readiness(False, f"sidecar unreachable: {type(exc).__name__}")
        missing = [name for name in self._required if name not in loaded]
        if missing:
            return Readiness(False, f"components not loaded: {', '.join(missing)}", loaded)
        return Readiness(True, "ok", loaded)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()  # type: ignore[no-untyped-call]
            self._client = None
        await self.http.aclose()
