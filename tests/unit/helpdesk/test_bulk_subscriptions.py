"""The subscription adapter in bulk mode: the table declares it, each entry of a batch goes through the
single delivery's checks and gets its own status, and a batch's entries run concurrently within a bound."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import structlog
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from pydantic import SecretStr

from helpdesk.dapr.bulk_subscriptions import BulkDelivery
from helpdesk.dapr.ports import ETagMismatch, SidecarUnavailable
from helpdesk.dapr.subscriptions import Delivery, Drop, Retry, Subscriptions
from helpdesk.errors import install_problem_handlers
from helpdesk.events import ChatRequested
from helpdesk.telemetry import current_trace_id
from helpdesk.topics import AppId, Topic
from tests.support.events import chat_requested, envelope

TOKEN = "sidecar-token"
ROUTE = "/events/pubsub/chat.requested"
BULK = BulkDelivery(max_messages=50, max_await_ms=300, concurrency=4)


def app_with(handler: Any, bulk: BulkDelivery = BULK) -> TestClient:
    subscriptions = Subscriptions(AppId.NLP, SecretStr(TOKEN))
    subscriptions.on(Topic.CHAT_REQUESTED, ChatRequested, bulk=bulk)(handler)
    app = FastAPI()
    install_problem_handlers(app)
    subscriptions.install(app)
    return TestClient(app)


def batch(*events: Any) -> dict[str, Any]:
    """A bulk request as daprd 1.18 sends it over HTTP: one entry per CloudEvent, ids of its own."""
    return {
        "id": "5d1c2a53-0000-4000-8000-000000000000",
        "type": "com.dapr.event.sent",
        "topic": "chat.requested",
        "pubsubname": "pubsub",
        "metadata": {"pubsubName": "pubsub"},
        "entries": [
            {
                "entryId": f"entry-{index}",
                "event": event,
                "contentType": "application/cloudevents+json",
                "metadata": {"pubsubName": "pubsub"},
            }
            for index, event in enumerate(events)
        ],
    }


def statuses(client: TestClient, body: Any, token: str | None = TOKEN) -> Any:
    headers = {"dapr-api-token": token} if token else {}
    response = client.post(ROUTE, json=body, headers=headers)
    assert response.status_code == 200, response.text
    return {entry["entryId"]: entry["status"] for entry in response.json()["statuses"]}


def handled(outcome: str) -> float:
    labels = {"service": "nlp", "pubsub": "pubsub", "topic": "chat.requested", "outcome": outcome}
    return REGISTRY.get_sample_value("helpdesk_events_total", labels) or 0.0


def test_the_table_declares_bulk_delivery_and_keeps_the_dead_letter_topic() -> None:
    async def handler(event: ChatRequested, delivery: Delivery) -> None:
        return None

    table = app_with(handler).get("/dapr/subscribe", headers={"dapr-api-token": TOKEN}).json()
    assert table == [
        {
            "pubsubname": "pubsub",
            "topic": "chat.requested",
            "route": ROUTE,
            "metadata": {},
            "deadLetterTopic": "deadletter.nlp.chat.requested",
            "bulkSubscribe": {"enabled": True, "maxMessagesCount": 50, "maxAwaitDurationMs": 300},
        }
    ]


def test_each_entry_gets_its_own_status() -> None:
    seen: list[str] = []

    async def handler(event: ChatRequested, delivery: Delivery) -> None:
        if event.text == "later":
            raise Retry("not yet")
        if event.text == "crash":
            raise RuntimeError("bug")
        if event.text == "nothing":
            raise Drop("refers to nothing")
        seen.append(event.text)

    valid = envelope(chat_requested("valid"), "chat.requested")
    invalid = envelope(chat_requested(), "chat.requested") | {"data": {"turn_id": "nope"}}
    foreign = envelope(chat_requested("forged"), "chat.requested", source="dialogue")
    later = envelope(chat_requested("later"), "chat.requested")
    crash = envelope(chat_requested("crash"), "chat.requested")
    nothing = envelope(chat_requested("nothing"), "chat.requested")
    before = {outcome: handled(outcome) for outcome in ("success", "retry", "drop")}
    answer = statuses(app_with(handler), batch(valid, invalid, foreign, later, crash, nothing, ["no"]))
    assert answer == {
        "entry-0": "SUCCESS",
        "entry-1": "DROP",
        "entry-2": "DROP",
        "entry-3": "RETRY",
        "entry-4": "RETRY",
        "entry-5": "DROP",
        "entry-6": "DROP",
    }
    assert seen == ["valid"]
    after = {outcome: handled(outcome) for outcome in ("success", "retry", "drop")}
    assert after == {
        "success": before["success"] + 1,
        "retry": before["retry"] + 2,
        "drop": before["drop"] + 4,
    }, "every entry is counted as a delivery of its own"


@pytest.mark.parametrize("error", [SidecarUnavailable("down"), ETagMismatch("raced")])
def test_outages_and_lost_races_are_retried(error: Exception) -> None:
    async def handler(event: ChatRequested, delivery: Delivery) -> None:
        raise error

    body = batch(envelope(chat_requested(), "chat.requested"))
    assert statuses(app_with(handler), body) == {"entry-0": "RETRY"}


def test_an_event_sent_as_json_text_is_read_and_one_without_an_id_is_not_answered() -> None:
    seen: list[str] = []

    async def handler(event: ChatRequested, delivery: Delivery) -> None:
        seen.append(event.text)

    body = batch(json.dumps(envelope(chat_requested("as text"), "chat.requested")), "{not json")
    body["entries"].append({"event": envelope(chat_requested("anonymous"), "chat.requested")})
    assert statuses(app_with(handler), body) == {"entry-0": "SUCCESS", "entry-1": "DROP"}
    assert seen == ["as text"]


@pytest.mark.parametrize("token", [None, "wrong"])
def test_a_batch_without_the_app_token_is_refused_whole(token: str | None) -> None:
    async def handler(event: ChatRequested, delivery: Delivery) -> None:
        raise AssertionError("must not be called")

    response = app_with(handler).post(
        ROUTE,
        json=batch(envelope(chat_requested(), "chat.requested")),
        headers={"dapr-api-token": token} if token else {},
    )
    assert response.status_code == 401


def test_a_single_delivery_on_a_bulk_route_is_answered_as_one() -> None:
    async def handler(event: ChatRequested, delivery: Delivery) -> None:
        return None

    response = app_with(handler).post(
        ROUTE, json=envelope(chat_requested(), "chat.requested"), headers={"dapr-api-token": TOKEN}
    )
    assert response.json() == {"status": "SUCCESS"}


def test_each_entry_continues_its_own_trace_and_binds_its_own_turn() -> None:
    seen: dict[str, tuple[str | None, Any]] = {}

    async def handler(event: ChatRequested, delivery: Delivery) -> None:
        await asyncio.sleep(0.01)
        context = structlog.contextvars.get_contextvars()
        seen[str(event.turn_id)] = (current_trace_id(), context.get("turn_id"))

    traces = ["0af7651916cd43dd8448eb211c80319c", "4bf92f3577b34da6a3ce929d0e0e4736"]
    events = [chat_requested(f"turn {index}") for index in range(2)]
    body = batch(
        *(
            envelope(event, "chat.requested", traceparent=f"00-{trace}-00f067aa0ba902b7-01")
            for event, trace in zip(events, traces, strict=True)
        )
    )
    assert statuses(app_with(handler), body) == {"entry-0": "SUCCESS", "entry-1": "SUCCESS"}
    assert seen == {
        str(event.turn_id): (trace, str(event.turn_id)) for event, trace in zip(events, traces, strict=True)
    }


@pytest.mark.parametrize("bound", [1, 3])
def test_the_entries_of_a_batch_run_concurrently_within_the_bound(bound: int) -> None:
    running = 0
    most = 0

    async def handler(event: ChatRequested, delivery: Delivery) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.02)
        running -= 1

    body = batch(*(envelope(chat_requested(), "chat.requested") for _ in range(8)))
    answer = statuses(app_with(handler, BulkDelivery(concurrency=bound)), body)
    assert set(answer.values()) == {"SUCCESS"}
    assert len(answer) == 8
    assert most == bound
