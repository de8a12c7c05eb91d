"""Answers to input that would break a service: JSON nested 1,000 deep is a 400 with no traceback
logged, a message of only invisible characters a 422, and a 500 still carries the security headers and
no detail of the bug."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from helpdesk.memory_ports import memory_runtime
from helpdesk.runtime import flag_defaults
from helpdesk.settings import ServiceSettings
from helpdesk_ops.devstack import Stack
from helpdesk_ops.seed import local_secrets
from services.gateway.app import create_app as create_gateway
from services.gateway.settings import GatewaySettings
from tests.security.http_edges.raw_http import (
    SECURITY_HEADERS,
    log_of,
)

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("path", ["/v1/chat", "/v1/feedback"])
async def test_json_nested_1000_deep_is_a_400_without_a_traceback(edges: Stack, path: str) -> None:
    gateway = edges.of("gateway")[0]
    log = log_of(edges, gateway)
    offset = log.stat().st_size
    body = '{"message": "hi", "turn_id": "x", "nested": ' + "[" * 1000 + "]" * 1000 + "}"
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
        response = await client.post(
            path,
            content=body,
            headers={"content-type": "application/json", "authorization": f"Bearer {edges.api_key}"},
        )
    assert response.status_code == 400, response.text[:300]
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("/too-deep")
    await asyncio.sleep(0.5)
    with log.open("rb") as written:
        written.seek(offset)
        logged = written.read().decode("utf-8", "replace")
    assert "Traceback" not in logged
    assert "RecursionError" not in logged


@pytest.mark.parametrize("message", ["\u200b", "\u200b\u200c\u200d\ufeff", "\u00ad \u2060 \u200b"])
async def test_a_message_of_only_invisible_characters_is_a_422(edges: Stack, message: str) -> None:
    async with httpx.AsyncClient(base_url=edges.gateway_url(), timeout=10) as client:
        response = await client.post(
            "/v1/chat", json={"message": message}, headers={"authorization": f"Bearer {edges.api_key}"}
        )
    assert response.status_code == 422, response.text[:300]


def test_a_forced_500_carries_the_security_headers() -> None:
    settings = GatewaySettings(app_api_token=SecretStr("t"), environment="test")
    runtime = memory_runtime(
        "gateway", flags=flag_defaults(ServiceSettings()), secrets=local_secrets("hd_u", "hdop_o")
    )
    app = create_gateway(settings, runtime=runtime)

    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/v1/broken", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/v1/broken")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    for name in SECURITY_HEADERS:
        assert name in response.headers, name
    assert response.headers["cache-control"] == "no-store"
    assert "a bug" not in response.text
