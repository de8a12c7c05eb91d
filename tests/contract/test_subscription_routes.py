"""Before release: the subscription table each app gives daprd matches helpdesk.topics, and every
route in it exists. daprd treats a 404 from a subscription route as "drop": a renamed route or a
forgotten handler would lose traffic silently, so this fails the build instead."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from helpdesk.memory_ports import memory_runtime
from helpdesk.runtime import flag_defaults
from helpdesk.settings import ServiceSettings
from helpdesk.topics import (
    BROADCAST_SUBSCRIPTIONS,
    DEAD_LETTER_RECORDER,
    SUBSCRIPTIONS,
    AppId,
    Topic,
    all_dead_letter_topics,
    dead_letter_topic,
    live_topic,
)
from services.dialogue.app import create_app as dialogue
from services.evaluator.app import create_app as evaluator
from services.gateway.app import create_app as gateway
from services.nlp.app import create_app as nlp
from tests.support.events import delivery_path

FACTORIES: dict[AppId, Callable[..., FastAPI]] = {
    AppId.GATEWAY: gateway,
    AppId.NLP: nlp,
    AppId.DIALOGUE: dialogue,
    AppId.EVALUATOR: evaluator,
}


def expected(app: AppId) -> set[tuple[str, str, str | None]]:
    entries: set[tuple[str, str, str | None]] = {
        ("pubsub", t.value, dead_letter_topic(app, t)) for t in SUBSCRIPTIONS.get(app, ())
    }
    entries |= {("broadcast", live_topic(t), None) for t in BROADCAST_SUBSCRIPTIONS.get(app, ())}
    if app is DEAD_LETTER_RECORDER:
        entries |= {("pubsub", t, None) for t in all_dead_letter_topics()}
    return entries


@pytest.mark.parametrize("app_id", list(AppId))
def test_the_subscription_table_matches_the_topics_and_every_route_exists(app_id: AppId) -> None:
    runtime = memory_runtime(app_id.value, flags=flag_defaults(ServiceSettings()))
    app = FACTORIES[app_id](None, runtime=runtime)
    with TestClient(app) as client:
        table: list[dict[str, Any]] = client.get("/dapr/subscribe").json()
        announced = {(e["pubsubname"], e["topic"], e.get("deadLetterTopic")) for e in table}
        assert announced == expected(app_id)
        for entry in table:
            route = delivery_path(entry)
            response = client.post(route, json={"data": {"not": "a contract"}})
            assert response.status_code != 404, f"{route} is announced to daprd but not served"
            recorder = entry["topic"] in all_dead_letter_topics()  # keeps whatever arrives, by design
            want = "SUCCESS" if recorder else "DROP"
            assert response.json() == {"status": want}, "a payload matching no contract is dead-lettered"
            if "bulkSubscribe" in entry:
                answer_in_bulk(client, entry)


def test_only_the_gateways_live_answers_are_routed_by_address() -> None:
    """Each gateway replica takes only the live answers addressed to it, or to nobody; every other
    subscription takes everything."""
    for app_id in AppId:
        runtime = memory_runtime(app_id.value, flags=flag_defaults(ServiceSettings()))
        with TestClient(FACTORIES[app_id](None, runtime=runtime)) as client:
            table: list[dict[str, Any]] = client.get("/dapr/subscribe").json()
        routed = {e["topic"] for e in table if "routes" in e}
        want = (
            {live_topic(Topic.CHAT_ANSWERED), live_topic(Topic.CHAT_ESCALATED)}
            if app_id is AppId.GATEWAY
            else set()
        )
        assert routed == want, app_id


def answer_in_bulk(client: TestClient, entry: dict[str, Any]) -> None:
    """A route announced with bulkSubscribe gets its deliveries as daprd batches them, and answers
    each entry: one matching no contract is dead-lettered, entry by entry."""
    assert entry["bulkSubscribe"]["enabled"] is True
    assert entry["bulkSubscribe"]["maxMessagesCount"] >= 1
    assert entry["bulkSubscribe"]["maxAwaitDurationMs"] >= 1
    assert entry.get("deadLetterTopic"), "a batched subscription still dead-letters what it drops"
    event = {"data": {"not": "a contract"}, "source": "dialogue", "specversion": "1.0"}
    body = {
        "topic": entry["topic"],
        "pubsubname": entry["pubsubname"],
        "entries": [{"entryId": "e-1", "event": event, "contentType": "application/cloudevents+json"}],
    }
    response = client.post(delivery_path(entry), json=body)
    assert response.json() == {"statuses": [{"entryId": "e-1", "status": "DROP"}]}


def test_the_evaluator_takes_every_turns_outcome_in_batches() -> None:
    runtime = memory_runtime(AppId.EVALUATOR.value, flags=flag_defaults(ServiceSettings()))
    with TestClient(evaluator(None, runtime=runtime)) as client:
        table: list[dict[str, Any]] = client.get("/dapr/subscribe").json()
    batched = {e["topic"] for e in table if e.get("bulkSubscribe", {}).get("enabled")}
    assert batched == {"chat.answered", "chat.escalated"}
