"""The subscription adapter: token check, schema validation to DROP, outcomes, trace continuation."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from helpdesk.dapr.ports import SidecarUnavailable
from helpdesk.dapr.subscriptions import Delivery, Drop, Subscriptions
from helpdesk.errors import install_problem_handlers
from helpdesk.events import ChatRequested
from helpdesk.telemetry import current_trace_id
from helpdesk.topics import AppId, Component, Topic
from tests.support.events import chat_requested, envelope

TOKEN = "sidecar-token"


def app_with(handler: Any) -> TestClient:
    subscriptions = Subscriptions(AppId.NLP, SecretStr(TOKEN))
    subscriptions.on(Topic.CHAT_REQUESTED, ChatRequested)(handler)
    app = FastAPI()
    install_problem_handlers(app)
    subscriptions.install(app)
    return TestClient(app)


def post(client: TestClient, body: Any, token: str | None = TOKEN) -> Any:
    headers = {"dapr-api-token": token} if token else {}
    return client.post("/events/pubsub/chat.requested", json=body, headers=headers)


def test_the_subscription_table_names_a_dead_letter_topic() -> None:
    async def handler(event: ChatRequested, delivery: Delivery) -> None:
        return None

    client = app_with(handler)
    table = client.get("/dapr/subscribe", headers={"dapr-api-token": TOKEN}).json()
    assert table == [
        {
            "pubsubname": "pubsub",
            "topic": "chat.requested",
            "route": "/events/pubsub/chat.requested",
            "metadata": {},
            "deadLetterTopic": "deadletter.nlp.chat.requested",
        }
    ]


def test_a_valid_event_reaches_the_handler_with_its_trace() -> None:
    seen: list[tuple[ChatRequested, str | None]] = []

    async def handler(event: ChatRequested, delivery: Delivery) -> None:
        seen.append((event, current_trace_id()))

    event = chat_requested("hello")
    response = post(app_with(handler), envelope(event, "chat.requested"))
    assert response.json() == {"status": "SUCCESS"}
    assert seen[0][0] == event
    assert seen[0][1] == "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize(
    "data",
    [{"turn_id": "nope"}, {}, {"text": 5}, "a string", None],
)
def test_an_invalid_payload_is_dropped_to_the_dead_letter_topic(data: Any) -> None:
    called = []

    async def handler(event: ChatRequested, delivery: Delivery) -> None:
        called.append(event)

    body = envelope(chat_requested(), "chat.requested") | {"data": data}
    assert post(app_with(handler), body).json() == {"status": "DROP"}
    assert called == []


def test_an_envelope_that_is_not_an_object_is_dropped() -> None:
    async def handler(event: ChatRequested, delivery: Delivery) -> None:
        raise AssertionError("must not be called")

    assert post(app_with(handler), ["not", "an", "envelope"]).json() == {"status": "DROP"}


@pytest.mark.parametrize("token", [None, "wrong"])
def test_calls_without_the_app_token_are_refused(token: str | None) -> None:
    async def handler(event: ChatRequested, delivery: Delivery) -> None:
        raise AssertionError("must not be called")

    client = app_with(handler)
    response = post(client, envelope(chat_requested(), "chat.requested"), token=token)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    listing = client.get("/dapr/subscribe", headers={"dapr-api-token": token} if token else {})
    assert listing.status_code == 401


@pytest.mark.parametrize(
    ("error", "status"),
    [(SidecarUnavailable("down"), "RETRY"), (RuntimeError("bug"), "RETRY"), (Drop("nothing to do"), "DROP")],
)
def test_handler_failures_map_to_retry_or_drop(error: Exception, status: str) -> None:
    async def handler(event: ChatRequested, delivery: Delivery) -> None:
        raise error

    assert post(app_with(handler), envelope(chat_requested(), "chat.requested")).json() == {"status": status}


def test_broadcast_subscriptions_follow_the_live_topic_without_dead_letters() -> None:
    subscriptions = Subscriptions(AppId.GATEWAY, None)

    async def handler(event: ChatRequested, delivery: Delivery) -> None:
        return None

    subscriptions.on(Topic.CHAT_ANSWERED, ChatRequested, pubsub=Component.BROADCAST)(handler)
    app = FastAPI()
    subscriptions.install(app)
    [entry] = TestClient(app).get("/dapr/subscribe").json()
    assert entry["pubsubname"] == "broadcast"
    assert entry["topic"] == "live.chat.answered"
    assert "deadLetterTopic" not in entry
