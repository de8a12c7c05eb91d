"""The process's one connection to its Dapr sidecar.

State and pub/sub go over the sidecar's HTTP API through one pooled aiohttp session, which costs less
CPU per call than the SDK's aio gRPC client (the figures: docs/architecture.md, "Design decisions").
The SDK's gRPC client stays for the configuration store's change stream, which has no HTTP equivalent
for an app that does not expose a callback. The sidecar is waited for asynchronously before anything
is opened (the SDK's constructor would block the event loop polling its health).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import aiohttp
from dapr.aio.clients import DaprClient

from helpdesk.logging import get_logger
from helpdesk.settings import ServiceSettings

_log = get_logger(__name__)


@dataclass
class Readiness:
    ready: bool
    detail: str
    components: list[str] = field(default_factory=list)


class Sidecar:
    def __init__(self, settings: ServiceSettings, required_components: list[str]) -> None:
        self._settings = settings
        self._required = required_components
        self.base_url = settings.sidecar_http
        self.headers: dict[str, str] = {}
        if settings.dapr_api_token is not None:
            self.headers["dapr-api-token"] = settings.dapr_api_token.get_secret_value()
        self._http: aiohttp.ClientSession | None = None
        self._client: DaprClient | None = None

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(
                base_url=self.base_url,
                headers=self.headers,
                connector=aiohttp.TCPConnector(limit=64, keepalive_timeout=30),
                timeout=aiohttp.ClientTimeout(total=10),
            )
        return self._http

    @property
    def client(self) -> DaprClient:
        """The SDK's gRPC client (configuration store only)."""
        if self._client is None:
            raise RuntimeError("the sidecar connection is not open yet")
        return self._client

    async def open(self) -> None:
        await self.wait_healthy(self._settings.sidecar_wait_seconds)
        self._client = DaprClient(address=self._settings.sidecar_grpc)
        _log.info("sidecar_connected", http=self.base_url, grpc=self._settings.sidecar_grpc)

    async def wait_healthy(self, timeout: float) -> None:
        """Wait until the sidecar answers its outbound health check (components loaded)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        delay = 0.05
        while True:
            try:
                async with self.http.get("/v1.0/healthz/outbound") as response:
                    if response.status == 204:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            if loop.time() > deadline:
                raise TimeoutError(f"Dapr sidecar at {self.base_url} not healthy after {timeout}s")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def readiness(self) -> Readiness:
        probe = aiohttp.ClientTimeout(total=2)
        try:
            async with self.http.get("/v1.0/healthz", timeout=probe) as health:
                if health.status != 204:
                    return Readiness(False, f"sidecar health {health.status}")
            async with self.http.get("/v1.0/metadata", timeout=probe) as meta:
                meta.raise_for_status()
                loaded = sorted(c["name"] for c in (await meta.json()).get("components", []))
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Readiness(False, f"sidecar unreachable: {type(exc).__name__}")
        missing = [name for name in self._required if name not in loaded]
        if missing:
            return Readiness(False, f"components not loaded: {', '.join(missing)}", loaded)
        return Readiness(True, "ok", loaded)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()  # type: ignore[no-untyped-call]
            self._client = None
        if self._http is not None:
            await self._http.close()
            self._http = None
