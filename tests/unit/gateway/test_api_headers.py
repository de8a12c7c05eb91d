"""The public API's response headers: the security headers on every answer, and CORS only for the
configured origins."""

from __future__ import annotations

import pytest

from tests.support.gateway import GatewayUnderTest, gateway


@pytest.fixture
def g():  # type: ignore[no-untyped-def]
    with gateway() as under_test:
        yield under_test


def test_security_headers_on_api_responses(g: GatewayUnderTest) -> None:
    response = g.client.post("/v1/chat", json={"message": "hello"}, headers=g.auth())
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in response.headers["content-security-policy"]


def test_cors_only_for_configured_origins() -> None:
    with gateway(cors_origins=["https://intranet.example"]) as g:
        allowed = g.client.options(
            "/v1/chat",
            headers={"origin": "https://intranet.example", "access-control-request-method": "POST"},
        )
        denied = g.client.options(
            "/v1/chat", headers={"origin": "https://evil.example", "access-control-request-method": "POST"}
        )
    assert allowed.headers["access-control-allow-origin"] == "https://intranet.example"
    assert "access-control-allow-origin" not in denied.headers
