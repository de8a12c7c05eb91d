"""Both deliveries of an answer on the replica holding the request: the competing one (which stores the
reply) and the live copy (which wakes the request) arrive together. They must not both read and write
the turn: the reply is stored with one read and one write, and the request gets it either way.

The state store answers each call after a turn of the event loop, as the sidecar does, so the two
deliveries can interleave as they do on the real stack.
"""

from __future__ import annotations

import asyncio

import pytest

from helpdesk.dapr.ports import ETagMismatch, Stored
from helpdesk.events import ChatRequested, Contract
from tests.support.gateway import GatewayUnderTest, answer_for, gateway


def count_turn_calls(g: GatewayUnderTest) -> tuple[list[str], list[str]]:
    """Reads and refused (etag) writes of turn records, from now on."""
    reads: list[str] = []
    refused: list[str] = []
    get, save = g.state.get, g.state.save

    async def counted_get(key: str) -> Stored | None:
        await asyncio.sleep(0)
        if key.startswith("turn:"):
            reads.append(key)
        return await get(key)

    async def counted_save(
        key: str, value: bytes, *, etag: str | None = None, ttl_seconds: int | None = None
    ) -> None:
        await asyncio.sleep(0)
        try:
            await save(key, value, etag=etag, ttl_seconds=ttl_seconds)
        except ETagMismatch:
            refused.append(key)
            raise

    g.state.get = counted_get  # type: ignore[method-assign]
    g.state.save = counted_save  # type: ignore[method-assign]
    return reads, refused


@pytest.mark.parametrize(("first", "turn_reads"), [("competing", 1), ("live", 2)])
def test_both_deliveries_on_the_waiting_replica_store_the_reply_once(first: str, turn_reads: int) -> None:
    with gateway(answering=False) as g:
        reads, refused = count_turn_calls(g)

        async def answer(event: Contract) -> None:
            assert isinstance(event, ChatRequested)
            answered = answer_for(event)
            competing, live = g.parts.answers.complete(answered), g.parts.answers.wake(answered)
            await asyncio.gather(*((competing, live) if first == "competing" else (live, competing)))

        g.bus.subscribe(ChatRequested.topic, answer)
        response = g.client.post("/v1/chat", json={"message": "hello"}, headers=g.auth())

        assert response.status_code == 200
        assert response.json()["answer"] == "Here is how."
        assert refused == []
        assert len(reads) == turn_reads
        polled = g.client.get(response.json()["links"]["self"], headers=g.auth()).json()
        assert polled["status"] == "answered"
