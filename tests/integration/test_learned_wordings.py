"""A wording learned from users' choices, through the running stack (issue 19): two users ask the same
question, get a clarification and pick the same entry; the evaluator proposes the wording as an
alternative of that entry, the operator approves it, and a third user asking the same way is answered
directly from that entry, also after the operator re-imports the knowledge file that holds the entry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from helpdesk_ops.devstack import Stack
from tests.integration.test_knowledge_import import every_replica_indexes
from tests.support.stack import eventually

pytestmark = pytest.mark.integration

WORDING = "could IT lend me a headset for a week"
"""Offered as a clarification by the default knowledge base (equipment request first, Teams audio second)."""
ENTRY = "it-equipment-request"
ENTRY_FILE = Path(__file__).resolve().parents[2] / "knowledge" / "it-devices.yaml"
"""The default knowledge file that holds `ENTRY` (seeded under its file name)."""


def anonymous_user(stack: Stack) -> httpx.AsyncClient:
    """A web visitor of its own: no credential, so the gateway's anonymous cookie names the user."""
    return httpx.AsyncClient(base_url=stack.gateway_url(0), timeout=30.0)


def operator_api(stack: Stack) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=stack.of("evaluator")[0].url,
        headers={"authorization": f"Bearer {stack.operator_key}"},
        timeout=10.0,
    )


async def say(user: httpx.AsyncClient, message: str, conversation_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message}
    if conversation_id:
        body["conversation_id"] = conversation_id
    response = await user.post("/v1/chat", json=body)
    assert response.status_code == 200, response.text
    reply: dict[str, Any] = response.json()
    return reply


async def picks_the_entry(stack: Stack, api: httpx.AsyncClient, wording: str = WORDING) -> dict[str, Any]:
    """One user asks, is offered the entry among the choices and picks it; returns the offer once the
    evaluator has the answer to the pick."""
    async with anonymous_user(stack) as user:
        offered = await say(user, wording)
        assert offered["mode"] == "clarify", offered
        ids = [c["faq_id"] for c in offered["choices"]]
        assert ENTRY in ids, offered
        reply = "yes" if len(ids) == 1 else str(ids.index(ENTRY) + 1)
        picked = await say(user, reply, offered["conversation_id"])
    assert picked["mode"] == "faq", picked
    assert picked["citations"] == [ENTRY]

    async def evaluated() -> bool:
        return (await api.get(f"/v1/evaluations/{picked['turn_id']}")).status_code == 200

    assert await eventually(evaluated), "the evaluator must have the pick"
    return offered


async def wording_candidate(api: httpx.AsyncClient) -> dict[str, Any] | None:
    listing = (await api.get("/v1/faq-candidates", params={"status": "pending"})).json()["candidates"]
    return next((c for c in listing if c.get("kind") == "wording" and c.get("faq_id") == ENTRY), None)


async def test_a_wording_two_users_resolved_is_answered_directly_once_approved(stack: Stack) -> None:
    async with operator_api(stack) as api:
        await picks_the_entry(stack, api)
        assert await wording_candidate(api) is None, "one user is not enough"
        await picks_the_entry(stack, api)
        candidate = await eventually(lambda: wording_candidate(api))
        assert candidate, "two users' picks must propose the wording"
        assert candidate["question"] == WORDING
        assert candidate["chosen_by"] == 2
        approved = await api.post(f"/v1/faq-candidates/{candidate['id']}/approve")
        assert approved.status_code == 200, approved.text
        assert approved.json()["published"] is True

    async def answered_directly() -> dict[str, Any] | None:
        async with anonymous_user(stack) as third:
            reply = await say(third, WORDING)
        return reply if reply["mode"] == "faq" else None

    reply = await eventually(answered_directly, timeout=60, interval=2.0)
    assert reply, "once approved, the same wording must be answered directly"
    assert reply["citations"] == [ENTRY]

    async with operator_api(stack) as api:
        imported = await api.post(
            "/v1/knowledge/imports", params={"name": ENTRY_FILE.name}, content=ENTRY_FILE.read_bytes()
        )
    assert imported.status_code == 200, imported.text
    assert await every_replica_indexes(stack, imported.json()["kb_version"])
    async with anonymous_user(stack) as fourth:
        after_import = await say(fourth, WORDING)
    assert after_import["mode"] == "faq", "a re-import of the entry's file must keep the approved wording"
    assert after_import["citations"] == [ENTRY]
    assert imported.json()["kept_wordings"] == 1
