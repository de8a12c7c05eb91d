"""Live copies of answers go to the gateway replica that waits for them, not to every replica.

The session stack runs two gateway replicas. Each request's `chat.requested` names the replica holding
it (`channel.waiting_on`); dialogue's live copy carries that name as its CloudEvent `subject`, and each
gateway sidecar's routing rule passes only the copies addressed to its own replica (or to nobody) to its
app, so a replica's Python never handles the answers other replicas wait for.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from helpdesk_ops.devstack import Stack
from tests.support.stack import client_for, eventually, metric_total

pytestmark = pytest.mark.integration

CHATS = 12


def _live_answers(outcome: str = "success") -> str:
    return (
        f'helpdesk_events_total{{outcome="{outcome}",pubsub="broadcast",'
        'service="gateway",topic="live.chat.answered"}'
    )


async def _subscription_table(stack: Stack, index: int) -> list[dict[str, object]]:
    replica = stack.of("gateway")[index]
    async with httpx.AsyncClient(
        base_url=replica.url, headers={"dapr-api-token": stack.app_api_token}
    ) as client:
        response = await client.get("/dapr/subscribe")
    assert response.status_code == 200, response.text
    table: list[dict[str, object]] = response.json()
    return table


async def test_each_gateway_replica_routes_only_its_own_live_answers(stack: Stack) -> None:
    rules = []
    for index in (0, 1):
        table = await _subscription_table(stack, index)
        (live,) = [s for s in table if s["topic"] == "live.chat.answered"]
        assert "route" not in live, "a plain route would be the default: every copy would reach the app"
        rules.append(live["routes"]["rules"][0]["match"])  # type: ignore[index]
    assert rules[0] != rules[1], "each replica must name itself in its routing rule"


async def test_a_replica_does_not_handle_the_answers_another_replica_waits_for(stack: Stack) -> None:
    assert len(stack.of("gateway")) == 2
    waiting_before = await metric_total(stack, "gateway", _live_answers(), replicas=[0])
    other_before = await metric_total(stack, "gateway", _live_answers(), replicas=[1])

    async with client_for(stack, 0) as client:
        responses = await asyncio.gather(
            *(client.post("/v1/chat", json={"message": f"hello number {i}"}) for i in range(CHATS))
        )
    assert [r.status_code for r in responses] == [200] * CHATS, [r.text[:200] for r in responses]
    assert all(r.json()["status"] == "answered" for r in responses)

    async def woken() -> float:
        handled = await metric_total(stack, "gateway", _live_answers(), replicas=[0])
        return handled - waiting_before if handled - waiting_before >= CHATS else 0.0

    assert await eventually(woken), "the waiting replica must get the live copy of each of its answers"
    await asyncio.sleep(1.0)
    other_after = await metric_total(stack, "gateway", _live_answers(), replicas=[1])
    assert other_after == other_before, (
        f"the other replica handled {other_after - other_before} live answers it did not wait for"
    )
