"""What nlp publishes stays within the `chat.analyzed` contract at its worst: a message of the longest
length the gateway accepts that redaction or normalisation makes longer, or that is all tokens or all
entities, is analysed into a valid event (a turn is never lost to its own length), and an intent model
whose names the event cannot carry is refused before it answers any turn."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from helpdesk.events import (
    MAX_INTENT_NAME_CHARS,
    MAX_MESSAGE_CHARS,
    Channel,
    ChannelRef,
    ChatRequested,
)
from services.nlp.pipeline import Analyzer
from services.nlp.pipeline.intents import IntentClassifier
from services.nlp.turn_analysis import analyzed_event

WORST_MESSAGES = {
    "ligatures": "ﷺ" * MAX_MESSAGE_CHARS,
    "addresses": ("a@b.co " * MAX_MESSAGE_CHARS)[:MAX_MESSAGE_CHARS],
    "phones_past_the_cut": "ﷺ" * 300 + " call me at 090-1234-5678 or 03-9876-5432",
    "tokens": ("a " * MAX_MESSAGE_CHARS)[:MAX_MESSAGE_CHARS],
    "japanese": "あ" * MAX_MESSAGE_CHARS,
    "times": ("3pm " * MAX_MESSAGE_CHARS)[:MAX_MESSAGE_CHARS],
    "one_link": "https://example.com/" + "a" * (MAX_MESSAGE_CHARS - len("https://example.com/")),
}


@pytest.mark.parametrize("text", list(WORST_MESSAGES.values()), ids=list(WORST_MESSAGES))
def test_the_longest_messages_are_analysed_into_a_valid_event(analyzer: Analyzer, text: str) -> None:
    request = ChatRequested(
        turn_id=uuid.uuid4(),
        conversation_id=uuid.uuid4(),
        channel=ChannelRef(channel=Channel.API, user_id="user-1"),
        text=text,
    )
    event = analyzed_event(request, analyzer)
    assert len(event.redacted_text) <= MAX_MESSAGE_CHARS
    assert event.redacted_text == event.normalised_text
    assert all(entity.end <= MAX_MESSAGE_CHARS for entity in event.entities)
    assert "1234" not in event.redacted_text
    assert "9876" not in event.redacted_text


def test_a_model_with_an_intent_name_longer_than_an_event_holds_is_refused(
    classifier: IntentClassifier,
) -> None:
    dataclasses.replace(classifier, classes=[*classifier.classes[:-1], "i" * MAX_INTENT_NAME_CHARS])
    with pytest.raises(ValueError, match="intent names longer"):
        dataclasses.replace(classifier, classes=[*classifier.classes[:-1], "i" * (MAX_INTENT_NAME_CHARS + 1)])
