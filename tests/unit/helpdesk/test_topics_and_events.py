"""Names and contracts every service relies on."""

from __future__ import annotations

import uuid

import pytest

from helpdesk.events import EVENT_TYPES, ChatAnswered, ChatRequested, KbUpdated
from helpdesk.topics import (
    BROADCAST_SUBSCRIPTIONS,
    LIVE_TOPICS,
    PUBLICATIONS,
    SUBSCRIPTIONS,
    AppId,
    Component,
    Topic,
    all_dead_letter_topics,
    component_topics,
    dead_letter_topic,
    live_topic,
    owner,
    publisher_of,
    publishing_scopes,
    subscription_scopes,
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


def test_every_topic_has_exactly_one_owner() -> None:
    published = [t for topics in PUBLICATIONS.values() for t in topics]
    assert len(published) == len(set(published))
    assert owner(Topic.KB_UPDATED) is AppId.EVALUATOR
    assert owner(Topic.HANDOFF_REPLIED) is AppId.GATEWAY


def test_the_publisher_of_a_topic_of_its_live_copy_and_of_a_dead_letter_topic() -> None:
    assert publisher_of("chat.answered") is AppId.DIALOGUE
    assert publisher_of(live_topic(Topic.KB_UPDATED)) is AppId.EVALUATOR
    assert publisher_of(dead_letter_topic(AppId.NLP, Topic.CHAT_REQUESTED)) is AppId.NLP
    for name in ("chat.unknown", "live.chat.requested", "deadletter.nlp.kb.updated", ""):
        with pytest.raises(ValueError, match="not a topic"):
            publisher_of(name)


def test_scopes_give_each_app_its_own_topics_and_dead_letters() -> None:
    pubsub = publishing_scopes(Component.PUBSUB)
    assert set(pubsub) == set(AppId)
    assert pubsub[AppId.NLP] == ("chat.analyzed", "deadletter.nlp.chat.requested")
    every = [name for names in pubsub.values() for name in names]
    assert len(every) == len(set(every)), "one publisher per topic"
    assert set(every) == {t.value for t in Topic} | set(all_dead_letter_topics())
    assert set(component_topics(Component.PUBSUB)) == set(every)
    subscribed = subscription_scopes(Component.PUBSUB)
    assert subscribed[AppId.EVALUATOR][-len(all_dead_letter_topics()) :] == tuple(all_dead_letter_topics())


def test_broadcast_scopes_cover_the_apps_that_use_it_and_only_live_copies() -> None:
    published = publishing_scopes(Component.BROADCAST)
    assert set(published) == set(BROADCAST_SUBSCRIPTIONS)
    assert published[AppId.GATEWAY] == ()
    assert set(component_topics(Component.BROADCAST)) == {live_topic(t) for t in LIVE_TOPICS}
    assert subscription_scopes(Component.BROADCAST)[AppId.DIALOGUE] == (live_topic(Topic.KB_UPDATED),)
    with pytest.raises(ValueError, match="not a pub/sub"):
        publishing_scopes(Component.STATESTORE)


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
