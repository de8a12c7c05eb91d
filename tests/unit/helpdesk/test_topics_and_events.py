"""Names and contracts every service relies on."""

from __future__ import annotations

import uuid

from helpdesk.events import EVENT_TYPES, ChatAnswered, ChatRequested, KbUpdated
from helpdesk.topics import (
    LIVE_TOPICS,
    PUBLICATIONS,
    SUBSCRIPTIONS,
    AppId,
    Topic,
    all_dead_letter_topics,
    dead_letter_topic,
    live_topic,
)
from tests.support.events import chat_requested


def test_every_topic_has_a_contract_a_publisher_and_a_consumer() -> None:
    assert set(EVENT_TYPES) == set(Topic)
    published = {t for topics in PUBLICATIONS.values() for t in topics}
    consumed = {t for topics in SUBSCRIPTIONS.values() for t in topics}
    assert published == set(Topic)
    assert consumed == set(Topic)
    for topic, model in EVENT_TYPES.items():
        assert model.topic is topic  # type: ignore[attr-defined]


def test_dead_letter_topics_name_their_consumer() -> None:
    assert dead_letter_topic(AppId.NLP, Topic.CHAT_REQUESTED) == "deadletter.nlp.chat.requested"
    assert len(all_dead_letter_topics()) == sum(len(t) for t in SUBSCRIPTIONS.values())
    assert len(set(all_dead_letter_topics())) == len(all_dead_letter_topics())


def test_live_topics_are_separate_streams() -> None:
    assert {live_topic(t) for t in LIVE_TOPICS}.isdisjoint({t.value for t in Topic})


def test_events_ignore_unknown_fields_so_producers_can_add_optional_ones() -> None:
    event = chat_requested("hello")
    data = event.model_dump(mode="json") | {"a_future_field": 1}
    assert ChatRequested.model_validate(data) == event


def test_a_request_carries_over_into_an_answer() -> None:
    request = chat_requested("hello")
    answered = ChatAnswered(
        **request.model_dump(include={"turn_id", "conversation_id", "channel"}),
        language="en",
        question="hello",
        answer="hi",
        mode="smalltalk",
    )
    assert answered.turn_id == request.turn_id
    assert ChatAnswered.model_validate_json(answered.model_dump_json()) == answered


def test_kb_updates_are_not_turn_events() -> None:
    update = KbUpdated(update_id=uuid.uuid4(), kb_version="2", added=["kb-100"])
    assert not hasattr(update, "turn_id")
