"""Every service's body and header limits, attacked on a running stack: a 200 MB body (declared or
chunked, with or without a valid key) is refused after at most a few MiB without the service growing,
a body that stalls is cut off at its deadline, huge headers are a 431, and a client that sends its
headers a byte at a time is disconnected while others are served."""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx
import pytest

from helpdesk_ops.devstack import Stack
from tests.security.http_edges.raw_http import (
    GATEWAY_BODY_SECONDS,
    HEADER_SECONDS,
    MB,
    closed_within,
    post_huge,
    rss_mb,
)

pytestmark = pytest.mark.integration


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


# ---- headers and connections -----------------------------------------------------------------------


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
