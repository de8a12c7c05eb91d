"""The HTTP edges every service shares (issue 15, items 3, 4, 6 and 7), attacked on a running stack.

The review read an unauthenticated 200 MB body in full before answering 401 (the evaluator's RSS went
from 145 to 513 MB), kept connections open for clients that sent their headers a byte at a time, gave a
500 with a 370 KB traceback for a 2 KB body nested 1,000 deep, sent 5xx answers without the security
headers, served /docs from a CDN without a CSP and /metrics to anyone, and trusted `X-Forwarded-For`
from loopback. Each test speaks HTTP/1.1 over a raw socket where a client library would hide what the
server does (how much of a body it took, when it closed).

One stack for the module, with a low web-session budget per address (to see forwarded headers ignored)
and a short body deadline on the gateway (to see a slow body cut off without waiting for the default).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import select
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from helpdesk.memory_ports import memory_runtime
from helpdesk.runtime import flag_defaults
from helpdesk.settings import ServiceSettings
from helpdesk_ops.devstack import Replica, Stack
from helpdesk_ops.seed import local_secrets
from services.gateway.app import create_app as create_gateway
from services.gateway.settings import GatewaySettings
from tests.support.browser import chromium
from tests.support.stack import running_stack

pytestmark = pytest.mark.integration

MB = 1024 * 1024
SESSIONS_PER_ADDRESS = 3
GATEWAY_BODY_SECONDS = 3
HEADER_SECONDS = 10
"""The default header deadline (`ServiceSettings.header_timeout_seconds`): the stack keeps it."""
SECURITY_HEADERS = ("x-content-type-options", "x-frame-options", "referrer-policy", "content-security-policy")


@pytest.fixture(scope="module")
async def edges(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    gateway_env = {
        "HELPDESK_RATE_LIMIT_PER_USER": "100000",
        "HELPDESK_RATE_LIMIT_PER_KEY": "100000",
        "HELPDESK_WEB_SESSIONS_PER_ADDRESS": str(SESSIONS_PER_ADDRESS),
        "HELPDESK_BODY_TIMEOUT_SECONDS": str(GATEWAY_BODY_SECONDS),
    }
    async with running_stack(Path(tmp_path_factory.mktemp("edges")), extra_env={"gateway": gateway_env}) as s:
        yield s


def rss_mb(replica: Replica) -> float:
    assert replica.app is not None
    status = Path(f"/proc/{replica.app.pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]


def log_of(stack: Stack, replica: Replica) -> Path:
    return stack.log_dir / f"{replica.name}.log"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    sent: int
    """How many body bytes the client got into the connection before the answer came."""


def parse_answer(received: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines[0].startswith("HTTP/") else 0
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return status, headers, body


def _post_huge(port: int, head: bytes, total: int, chunked: bool) -> Answer:
    """A blocking socket rather than asyncio's streams: those drop what the server sent once a write
    fails, and a server that refuses a body closes while the client is still writing it."""
    piece = b"a" * MB
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        try:
            sock.sendall(head)
            time.sleep(0.2)
            while sent < total and not select.select([sock], [], [], 0)[0]:
                sock.sendall(b"%x\r\n%b\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
            if chunked and sent >= total:
                sock.sendall(b"0\r\n\r\n")
        except (ConnectionError, TimeoutError):
            pass
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
                status, headers, body = parse_answer(received)
                if status and len(body) >= int(headers.get("content-length", "0")):
                    break
        except (ConnectionError, TimeoutError):
            pass
    status, headers, body = parse_answer(received)
    return Answer(status, headers, body, sent)


async def post_huge(
    port: int,
    path: str,
    *,
    total: int = 200 * MB,
    chunked: bool,
    content_type: str,
    headers: dict[str, str] | None = None,
) -> Answer:
    """POST `total` bytes in 1 MiB pieces, stopping as soon as the server answers."""
    lines = [f"POST {path} HTTP/1.1", "host: 127.0.0.1", f"content-type: {content_type}"]
    lines.append("transfer-encoding: chunked" if chunked else f"content-length: {total}")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    return await asyncio.to_thread(_post_huge, port, head, total, chunked)


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bytes | None:
    """What the server sent before closing, or None if it kept the connection open that long."""
    received = b""
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            chunk = await asyncio.wait_for(reader.read(65536), deadline - time.monotonic())
            if not chunk:
                return received
            received += chunk
    except TimeoutError:
        return None
    except ConnectionError:
        return received
    return None


# ---- bodies (item 3) ---------------------------------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_200_mb_body_to_the_dashboard_login_is_refused_unread(edges: Stack, chunked: bool) -> None:
    evaluator = edges.of("evaluator")[0]
    before = rss_mb(evaluator)
    answer = await post_huge(
        evaluator.app_port,
        "/dashboard/login",
        chunked=chunked,
        content_type="application/x-www-form-urlencoded",
    )
    grown = rss_mb(evaluator) - before
    assert answer.status == 413, (answer.status, answer.body[:200])
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.sent <= 4 * MB, f"the server took {answer.sent / MB:.0f} MiB before answering"
    assert grown < 20, f"the evaluator grew by {grown:.0f} MiB"
    assert answer.headers.get("connection") == "close"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_200_mb_chat_is_refused_unread_even_without_a_valid_key(edges: Stack, chunked: bool) -> None:
    gateway = edges.of("gateway")[0]
    before = rss_mb(gateway)
    answer = await post_huge(
        gateway.app_port,
        "/v1/chat",
        chunked=chunked,
        content_type="application/json",
        headers={"authorization": f"Bearer {edges.api_key if chunked else 'not-a-key'}"},
    )
    grown = rss_mb(gateway) - before
    assert answer.status == 413, (answer.status, answer.body[:200])
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.sent <= 4 * MB
    assert grown < 20, f"the gateway grew by {grown:.0f} MiB"
    assert answer.headers.get("connection") == "close", "the server would go on reading the 200 MB"


async def test_a_body_that_stalls_is_cut_off_at_the_body_deadline(edges: Stack) -> None:
    gateway = edges.of("gateway")[0]
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.app_port)
    started = time.monotonic()
    writer.write(
        b"POST /v1/chat HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        + f"authorization: Bearer {edges.api_key}\r\ncontent-length: 1000\r\n\r\n".encode()
        + b'{"message": "'
    )
    await writer.drain()
    received = await closed_within(reader, GATEWAY_BODY_SECONDS + 7)
    writer.close()
    assert received is not None, "the connection is still open, waiting for the rest of the body"
    assert received.startswith(b"HTTP/1.1 408"), received[:200]
    assert time.monotonic() - started < GATEWAY_BODY_SECONDS + 5


# ---- headers and connections (item 3) --------------------------------------------------------------


@pytest.mark.parametrize(
    "padding",
    [
        "x-padding: " + "a" * MB + "\r\n",
        "".join(f"x-padding-{i}: {'a' * 40}\r\n" for i in range(2000)),
    ],
    ids=["one-huge-header", "many-headers"],
)
async def test_huge_headers_are_refused(edges: Stack, padding: str) -> None:
    for replica in (edges.of("gateway")[0], edges.of("evaluator")[0]):
        reader, writer = await asyncio.open_connection("127.0.0.1", replica.app_port)
        writer.write(f"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n{padding}\r\n".encode())
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        received = await closed_within(reader, 10)
        writer.close()
        assert received is not None, f"{replica.name} kept the connection open"
        assert received.startswith(b"HTTP/1.1 431"), received[:200]


async def test_a_slow_header_client_is_cut_off_while_others_are_served(edges: Stack) -> None:
    gateway = edges.of("gateway")[0]
    slow_reader, slow_writer = await asyncio.open_connection("127.0.0.1", gateway.app_port)
    idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", gateway.app_port)
    started = time.monotonic()

    async def trickle() -> None:
        slow_writer.write(b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: ")
        while True:
            slow_writer.write(b"a")
            await slow_writer.drain()
            await asyncio.sleep(0.5)

    async def others() -> int:
        served = 0
        async with httpx.AsyncClient(base_url=gateway.url, timeout=5) as client:
            while time.monotonic() - started < HEADER_SECONDS:
                assert (await client.get("/healthz")).status_code == 200
                served += 1
                await asyncio.sleep(0.5)
        return served

    trickling = asyncio.ensure_future(trickle())
    try:
        served, slow, idle = await asyncio.gather(
            others(),
            closed_within(slow_reader, HEADER_SECONDS + 10),
            closed_within(idle_reader, HEADER_SECONDS + 10),
        )
    finally:
        trickling.cancel()
        slow_writer.close()
        idle_writer.close()
    assert slow is not None, "a client sending its headers a byte at a time is still connected"
    assert idle is not None, "a client that never sent a byte is still connected"
    assert time.monotonic() - started < HEADER_SECONDS + 6
    assert served >= HEADER_SECONDS, "other clients were not served meanwhile"


# ---- JSON, blank messages and 5xx (item 6) -----------------------------------------------------------


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


# ---- docs, metrics, evaluator API headers (item 7) -------------------------------------------------


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


# ---- forwarded headers (item 4) ----------------------------------------------------------------------


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
