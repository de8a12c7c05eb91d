"""Run a service: `python -m helpdesk.serve services.gateway.app:create_app --host 0.0.0.0 --port 8000`.

The one place where the server's own limits are set from the settings, for `make run`, the tests'
stacks and the images alike: uvicorn with uvloop and httptools (measured faster, docs/benchmarks.md),
no access log, no `server` header, forwarded headers believed only from the proxies in
`forwarded_allow_ips` (uvicorn's default believes anyone on loopback), and idle kept-alive connections
closed after `keep_alive_seconds`.

httptools has no limit on the size of the headers and uvicorn no deadline for them: a client that sends
a header a byte at a time, or never sends anything, holds its connection for ever, and one endless
header grows the parser's buffer without bound. `GuardedHttpToolsProtocol` adds both: 431 once the
request line and headers pass `max_header_bytes`, 408 once they take longer than
`header_timeout_seconds`, counted from the connection (or the request's first byte on a kept-alive
connection). The body's limits are the app's (`helpdesk.http_edges`).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any, ClassVar

import orjson
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from helpdesk.errors import PROBLEM_BASE, PROBLEM_JSON
from helpdesk.settings import ServiceSettings

_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


class _HeadersTooLarge(Exception):
    pass


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a size and a time limit on each request's headers."""

    max_header_bytes: ClassVar[int] = 32 * 1024
    header_timeout_seconds: ClassVar[float] = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._reading_headers = True
        self._header_bytes = 0
        """Request line and headers that the parser has handed over, exactly."""
        self._fed_while_reading_headers = 0
        """Bytes fed while a request's headers were incomplete: bounds a header still in the parser."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._reading_headers and not self.transport.is_closing():
            self._fed_while_reading_headers += len(data)
            if self._fed_while_reading_headers > self.max_header_bytes:
                self._refuse(431, "headers-too-large", "The request's headers are too large.")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading_headers = True
        self._header_bytes = 0
        self._fed_while_reading_headers = 0
        if self._header_timer is None:
            self._arm_header_timer()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        self._fed_while_reading_headers = 0
        self._disarm_header_timer()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if self._header_bytes > self.max_header_bytes:
            self._refuse(431, "headers-too-large", "The request's headers are too large.")
        else:
            super().send_400_response(msg)

    def _count(self, size: int) -> None:
        """Raising inside a parser callback makes the parser fail, and uvicorn answer through
        `send_400_response`, which answers 431 instead."""
        self._header_bytes += size
        if self._header_bytes > self.max_header_bytes:
            raise _HeadersTooLarge

    def _arm_header_timer(self) -> None:
        self._header_timer = self.loop.call_later(self.header_timeout_seconds, self._headers_too_slow)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self._reading_headers or self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self.transport.close()  # a pipelined request's headers stalled while an answer is going out
            return
        self._refuse(408, "header-timeout", "The request's headers did not arrive in time.")

    def _refuse(self, status: int, kind: str, detail: str) -> None:
        self._disarm_header_timer()
        body = orjson.dumps(
            {
                "type": PROBLEM_BASE + kind,
                "title": _REASONS[status].decode(),
                "status": status,
                "detail": detail,
                "correlation_id": "none",
            }
        )
        head = [
            b"HTTP/1.1 %d %s" % (status, _REASONS[status]),
            b"content-type: " + PROBLEM_JSON.encode(),
            b"content-length: %d" % len(body),
            b"x-content-type-options: nosniff",
            b"cache-control: no-store",
            b"connection: close",
        ]
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        self.transport.close()


def guarded_protocol(settings: ServiceSettings) -> type[GuardedHttpToolsProtocol]:
    return type(
        "HelpdeskHttpProtocol",
        (GuardedHttpToolsProtocol,),
        {
            "max_header_bytes": settings.max_header_bytes,
            "header_timeout_seconds": settings.header_timeout_seconds,
        },
    )


def server_config(app: str, *, host: str, port: int, settings: ServiceSettings) -> uvicorn.Config:
    """`app` is `module:factory`. Forwarded headers are read only when a trusted proxy is configured."""
    trusted = list(settings.forwarded_allow_ips)
    return uvicorn.Config(
        app,
        factory=True,
        host=host,
        port=port,
        loop="uvloop",
        http=guarded_protocol(settings),
        access_log=False,
        server_header=False,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted,
        timeout_keep_alive=settings.keep_alive_seconds,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m helpdesk.serve", description="Run a helpdesk service.")
    parser.add_argument("app", help="the service's app factory, module:function")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    uvicorn.Server(server_config(args.app, host=args.host, port=args.port, settings=ServiceSettings())).run()


if __name__ == "__main__":
    main()
