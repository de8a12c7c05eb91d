"""The kernel's HTTP edges in process: JSON nesting, the header policy per path, the body guard, and the
server configuration (forwarded headers believed only from configured proxies, through a real uvicorn).
The attacks on a running stack are in tests/security/http_edges/."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from helpdesk.errors import Problem, install_problem_handlers
from helpdesk.http_edges import (
    API_CSP,
    DOCS_CSP,
    MAX_JSON_DEPTH,
    PAGE_CSP,
    BodyGuard,
    EdgedAPI,
    SecurityHeaders,
    nested_deeper_than,
    parse_json,
)
from helpdesk.serve import GuardedHttpToolsProtocol, server_config
from helpdesk.settings import ServiceSettings


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_json_nested_to_the_limit_is_read_and_one_deeper_is_a_400() -> None:
    assert parse_json(nested(MAX_JSON_DEPTH)) == parse_json(nested(MAX_JSON_DEPTH))
    with pytest.raises(Problem) as refused:
        parse_json(nested(MAX_JSON_DEPTH + 1))
    assert (refused.value.status, refused.value.kind) == (400, "too-deep")


def test_the_depth_check_does_not_recurse() -> None:
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    assert nested_deeper_than(deep, MAX_JSON_DEPTH)
    assert not nested_deeper_than({"a": [1, {"b": "c"}]}, 3)
    assert nested_deeper_than({"a": [1, {"b": []}]}, 3)


def app_with_edges(max_bytes: int = 100) -> EdgedAPI:
    app = EdgedAPI(
        max_body_size=max_bytes,
        edges=[
            (SecurityHeaders, {"pages": ["/", "/static/"]}),
            (BodyGuard, {"max_bytes": max_bytes, "timeout_seconds": 5}),
        ],
    )
    install_problem_handlers(app)
    seen: list[bytes] = []

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        body = await request.body()
        seen.append(body)
        return {"bytes": len(body)}

    @app.post("/ignore")
    async def ignore() -> dict[str, str]:
        return {"body": "unread"}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    app.state.seen = seen
    return app


def test_a_declared_body_over_the_limit_never_reaches_the_app() -> None:
    app = app_with_edges()
    with TestClient(app) as client:
        response = client.post("/echo", content=b"x" * 101)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/too-large")
    assert response.headers["connection"] == "close"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert app.state.seen == []


def test_a_streamed_body_over_the_limit_is_a_413_problem() -> None:
    app = app_with_edges()
    with TestClient(app) as client:
        response = client.post("/echo", content=iter([b"x" * 60, b"x" * 60]))
    assert response.status_code == 413
    assert response.json()["detail"] == "The body is larger than 100 bytes."
    assert app.state.seen == []


def test_an_answer_before_the_body_was_read_closes_the_connection() -> None:
    with TestClient(app_with_edges()) as client:
        unread = client.post("/ignore", content=b"x" * 50)
        read = client.post("/echo", content=b"x" * 50)
    assert unread.headers["connection"] == "close"
    assert "connection" not in read.headers


def test_a_500_from_the_error_handler_carries_the_security_headers() -> None:
    with TestClient(app_with_edges(), raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-security-policy"] == API_CSP
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    ("path", "csp", "no_store"),
    [
        ("/", PAGE_CSP, False),
        ("/static/app.js", PAGE_CSP, False),
        ("/docs", DOCS_CSP, False),
        ("/docs/assets/swagger-ui.css", DOCS_CSP, False),
        ("/v1/chat", API_CSP, True),
        ("/openapi.json", API_CSP, True),
        ("/staticky", API_CSP, True),
    ],
)
def test_the_policy_follows_the_path(path: str, csp: str, no_store: bool) -> None:
    guard = SecurityHeaders(app_with_edges(), pages=["/", "/static/"])
    assert guard._policy(path) == (csp, no_store)


# ---- the server ------------------------------------------------------------------------------------


def test_forwarded_headers_are_off_unless_proxies_are_configured() -> None:
    default = server_config("m:f", host="127.0.0.1", port=1, settings=ServiceSettings())
    assert default.proxy_headers is False
    trusted = ServiceSettings(forwarded_allow_ips=["10.0.0.0/16"])
    configured = server_config("m:f", host="127.0.0.1", port=1, settings=trusted)
    assert configured.proxy_headers is True
    assert configured.forwarded_allow_ips == ["10.0.0.0/16"]


def test_the_protocol_takes_its_limits_from_the_settings() -> None:
    settings = ServiceSettings(max_header_bytes=8192, header_timeout_seconds=3)
    config = server_config("m:f", host="127.0.0.1", port=1, settings=settings)
    protocol = config.http
    assert isinstance(protocol, type)
    assert issubclass(protocol, GuardedHttpToolsProtocol)
    assert (protocol.max_header_bytes, protocol.header_timeout_seconds) == (8192, 3)
    assert config.server_header is False
    assert config.access_log is False


async def echo_client(scope: dict[str, object], receive: object, send: object) -> None:
    assert scope["type"] in ("http", "lifespan")
    if scope["type"] == "lifespan":
        return
    body = str(scope["client"][0]).encode()  # type: ignore[index]
    await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": body})  # type: ignore[operator]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def serving(settings: ServiceSettings) -> AsyncIterator[str]:
    import uvicorn

    port = free_port()
    config = server_config("unused:unused", host="127.0.0.1", port=port, settings=settings)
    config.app, config.factory, config.loop, config.lifespan = echo_client, False, "asyncio", "off"
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve())
    for _ in range(500):  # uvicorn.Server has no event for "started"
        if server.started or task.done():
            break
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.mark.parametrize(
    ("trusted", "seen"),
    [([], "127.0.0.1"), (["10.1.0.0/16"], "127.0.0.1"), (["127.0.0.1"], "198.51.100.7")],
    ids=["nobody", "another-network", "loopback-configured"],
)
async def test_the_client_address_is_the_peer_unless_the_peer_is_a_configured_proxy(
    trusted: list[str], seen: str
) -> None:
    async with serving(ServiceSettings(forwarded_allow_ips=trusted)) as url, httpx.AsyncClient() as client:
        response = await client.get(url, headers={"x-forwarded-for": "198.51.100.7"})
    assert response.text == seen
