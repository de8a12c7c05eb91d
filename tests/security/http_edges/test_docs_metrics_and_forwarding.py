"""What the services show and whom they believe: /docs from this origin under a CSP, /metrics only to
operators, every evaluator API answer `nosniff` and `no-store`, and `X-Forwarded-For` from a peer that
is not a trusted proxy ignored."""

from __future__ import annotations

import asyncio
import re
import time

import httpx
import pytest

from helpdesk_ops.devstack import Stack
from tests.security.http_edges.raw_http import (
    SESSIONS_PER_ADDRESS,
)
from tests.support.browser import chromium

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("app_id", ["gateway", "evaluator"])
async def test_docs_come_from_this_origin_under_a_csp(edges: Stack, app_id: str) -> None:
    replica = edges.of(app_id)[0]
    async with httpx.AsyncClient(base_url=replica.url, timeout=10) as client:
        page = await client.get("/docs")
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "unsafe-eval" not in csp
        assert not re.search(r"https?://", csp)
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert assets
        assert "<script>" not in page.text, "an inline script"
        for asset in assets:
            assert asset.startswith("/"), f"{asset} is not on this origin"
            assert (await client.get(asset)).status_code == 200, asset
        assert (await client.get("/redoc")).status_code == 404


async def test_swagger_ui_renders_under_its_csp_from_this_origin_only(edges: Stack) -> None:
    gateway = edges.gateway_url()
    violations: list[str] = []
    elsewhere: list[str] = []
    async with chromium() as browser:
        page = await browser.new_page()
        page.on("console", lambda m: violations.append(m.text) if "Security Policy" in m.text else None)
        page.on("request", lambda r: None if r.url.startswith(gateway) else elsewhere.append(r.url))
        await page.goto(f"{gateway}/docs")
        await page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
        title = await page.inner_text(".swagger-ui .info .title")
        await page.close()
    assert "Helpdesk gateway" in title
    assert violations == []
    assert elsewhere == []


@pytest.mark.parametrize("app_id", ["gateway", "evaluator"])
async def test_metrics_need_the_operator_key(edges: Stack, app_id: str) -> None:
    replica = edges.of(app_id)[0]
    async with httpx.AsyncClient(base_url=replica.url, timeout=10) as client:
        anonymous = await client.get("/metrics")
        as_user = await client.get("/metrics", headers={"authorization": f"Bearer {edges.api_key}"})
        as_operator = await client.get("/metrics", headers={"authorization": f"Bearer {edges.operator_key}"})
    assert anonymous.status_code == 401
    assert as_user.status_code in (401, 403)
    assert as_operator.status_code == 200
    assert "helpdesk_http_requests_total" in as_operator.text


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/v1/evaluations/summary", "operator"),
        ("/v1/evaluations/summary", None),
        ("/v1/faq-candidates", "operator"),
        ("/v1/no-such-route", None),
    ],
)
async def test_every_evaluator_api_answer_is_nosniff_and_no_store(
    edges: Stack, path: str, key: str | None
) -> None:
    headers = {"authorization": f"Bearer {edges.operator_key}"} if key else {}
    async with httpx.AsyncClient(base_url=edges.of("evaluator")[0].url, timeout=10) as client:
        response = await client.get(path, headers=headers)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in response.headers["content-security-policy"]


# ---- forwarded headers -------------------------------------------------------------------------------


async def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(edges: Stack) -> None:
    window = 60
    left = window - time.time() % window
    if left < 15:
        await asyncio.sleep(left + 0.5)
    statuses = []
    async with httpx.AsyncClient(base_url=edges.gateway_url(), timeout=10) as client:
        for i in range(SESSIONS_PER_ADDRESS + 2):
            forwarded = {"x-forwarded-for": f"198.51.100.{i + 1}", "x-forwarded-proto": "https"}
            issued = await client.post("/v1/sessions", headers=forwarded)
            statuses.append(issued.status_code)
    assert statuses[:SESSIONS_PER_ADDRESS] == [200] * SESSIONS_PER_ADDRESS
    assert statuses[SESSIONS_PER_ADDRESS:] == [429, 429], statuses
