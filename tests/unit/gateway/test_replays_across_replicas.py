"""A repeated request (same idempotency key) may reach another gateway replica than the first one did.

The answer's live copy is addressed to the replica the first request waited on, so the replica holding
the repeat is woken only if the competing delivery happens to land on it. It reads the turn while it
waits, so it answers as soon as any replica has stored the reply, not after the whole wait.
"""

from __future__ import annotations

import threading
import time

import httpx

from helpdesk.events import ChatRequested
from services.gateway.desk.books import Books
from services.gateway.desk.intake import REPLAY_READ_SECONDS
from services.gateway.turns import TurnRecord, reply_from
from tests.support.gateway import GatewayUnderTest, answer_for, gateway

WAIT = 8.0


def _stored_by_another_replica(g: GatewayUnderTest, request: ChatRequested) -> None:
    """What the competing delivery does on a replica that does not hold the waiting request: the reply
    goes onto the shared turn record, and no waiter here is woken."""
    turns = Books.in_store(g.runtime.state, g.settings.turn_retention_seconds).turns
    reply = reply_from(answer_for(request, "Stored elsewhere."))

    def attach(turn: TurnRecord | None) -> TurnRecord | None:
        return turn.complete(reply) if turn is not None else None

    async def store() -> None:
        await turns.update(request.turn_id, attach)

    g.client.portal.call(store)  # type: ignore[union-attr]


def test_a_repeat_waiting_here_answers_once_another_replica_stored_the_reply() -> None:
    with gateway(answering=False, chat_wait_seconds=WAIT) as g:
        headers = g.auth() | {"idempotency-key": "repeat-1"}
        first = g.client.post(
            "/v1/chat", json={"message": "hello"}, headers=headers | {"prefer": "respond-async"}
        )
        assert first.status_code == 202
        (request,) = g.published(ChatRequested)

        results: list[httpx.Response] = []
        repeat = threading.Thread(
            target=lambda: results.append(
                g.client.post("/v1/chat", json={"message": "hello"}, headers=headers)
            )
        )
        started = time.monotonic()
        repeat.start()
        time.sleep(2 * REPLAY_READ_SECONDS)
        _stored_by_another_replica(g, request)
        repeat.join(WAIT + 5)
        took = time.monotonic() - started

    (response,) = results
    assert response.status_code == 200, response.text
    assert response.json()["answer"] == "Stored elsewhere."
    assert response.headers["idempotent-replayed"] == "true"
    assert took < WAIT, "the repeat must not sit out the whole wait once the reply is stored"
    assert len(g.published(ChatRequested)) == 1
