"""What nlp publishes stays within the `chat.analyzed` contract at its worst: a message of the longest
length the gateway accepts that redaction or normalisation makes longer, or that is all tokens or all
entities, is analysed into a valid event (a turn is never lost to its own length), and an intent model
whose names the event cannot carry is refused before it answers any turn."""

from __future__ import annotations

import dataclasses
import re
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


def request_for(text: str) -> ChatRequested:
    return ChatRequested(
        turn_id=uuid.uuid4(),
        conversation_id=uuid.uuid4(),
        channel=ChannelRef(channel=Channel.API, user_id="user-1"),
        text=text,
    )


# Ten addresses grow by one character each when redacted, which pushes the last one's placeholder
# across the bound: "[EMAIL]" would start at 3996 and end at 4003.
STRADDLING = "a@b.co " * 10 + "y" * 3915 + " a@b.co"
PARTIAL_PLACEHOLDER_AT_THE_END = re.compile(r"\[[A-Z_]*\Z")


def test_a_placeholder_across_the_bound_is_left_out_whole(analyzer: Analyzer) -> None:
    """Cutting in the middle of "[EMAIL]" would leave "[EMA", which nothing recognises as personal
    data any more: the whole placeholder goes, with the address it stands for."""
    assert len(STRADDLING) <= MAX_MESSAGE_CHARS
    event = analyzed_event(request_for(STRADDLING), analyzer)
    kept = "[EMAIL] " * 10 + "y" * 3915 + " "
    assert event.text == kept
    assert event.redacted_text == event.normalised_text == kept.rstrip()
    assert not PARTIAL_PLACEHOLDER_AT_THE_END.search(event.text)
    assert [entity.type for entity in event.entities].count("email") == 10
    assert all(entity.end <= len(event.redacted_text) for entity in event.entities)


def test_a_placeholder_lengthened_past_the_bound_by_normalisation_is_left_out_whole(
    analyzer: Analyzer,
) -> None:
    """The second cut, after normalisation: a ligature's 18 characters push a placeholder across."""
    text = "ﷺ" * 221 + "y" * 17 + " [PHONE] tail"
    event = analyzed_event(request_for(text), analyzer)
    assert event.redacted_text == "صلى الله عليه وسلم" * 221 + "y" * 17 + " "
    assert not PARTIAL_PLACEHOLDER_AT_THE_END.search(event.redacted_text)


def test_a_model_with_an_intent_name_longer_than_an_event_holds_is_refused(
    classifier: IntentClassifier,
) -> None:
    dataclasses.replace(classifier, classes=[*classifier.classes[:-1], "i" * MAX_INTENT_NAME_CHARS])
    with pytest.raises(ValueError, match="intent names longer"):
        dataclasses.replace(classifier, classes=[*classifier.classes[:-1], "i" * (MAX_INTENT_NAME_CHARS + 1)])
