"""Every text, list and map an event carries has a bound, and the contract holds it exactly: an event at
the bound is accepted, one character, item or key past it is refused (a consumer dead-letters it, see
helpdesk.dapr.subscriptions). What a producer can build stays within these bounds: the producers' own
tests check their worst cases (tests/unit/{dialogue,nlp,gateway})."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import ValidationError

from helpdesk.events import (
    EVENT_TYPES,
    MAX_ANSWER_CHARS,
    MAX_CARRIED_ITEMS,
    MAX_CHOICE_CHARS,
    MAX_CITED_ITEMS,
    MAX_CLARIFIED_CHOICES,
    MAX_CONVERSATION_REF_CHARS,
    MAX_CONVERSATION_REF_KEYS,
    MAX_ENTITIES,
    MAX_FAQ_ID_CHARS,
    MAX_HEADING_CHARS,
    MAX_INTENT_ALTERNATIVES,
    MAX_INTENT_NAME_CHARS,
    MAX_KB_VERSION_CHARS,
    MAX_LOCALE_CHARS,
    MAX_MESSAGE_CHARS,
    MAX_SECTION_DEPTH,
    MAX_SNIPPET_CHARS,
    MAX_SUMMARY_CHARS,
    MAX_TIMING_NAME_CHARS,
    MAX_TIMINGS,
    MAX_TITLE_CHARS,
    MAX_TOKENS,
    MAX_URL_CHARS,
    MAX_USER_ID_CHARS,
    MAX_VARIANT_CHARS,
    ChatAnalyzed,
    ChatAnswered,
    ChatEscalated,
    ChatRequested,
    Contract,
    HandoffReplied,
    KbUpdated,
    KnowledgeCounts,
)
from helpdesk.knowledge.entries import FaqEntry

KNOWLEDGE_ENTRY_SCHEMAS = frozenset({FaqEntry.__name__, "FaqText"})
"""Schema 1 `kb.updated` entries: the knowledge base's own model (helpdesk.knowledge.entries) bounds
them, not the event contract."""


def _unbounded(
    schema: dict[str, Any], definitions: dict[str, Any], where: str, seen: set[str]
) -> Iterator[str]:
    """Paths of the JSON schema's strings without maxLength, arrays without maxItems and maps without
    maxProperties (enums, constants and formatted strings such as uuid and date-time are bounded)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in seen and name not in KNOWLEDGE_ENTRY_SCHEMAS:
            seen.add(name)
            yield from _unbounded(definitions[name], definitions, name, seen)
        return
    for key in ("anyOf", "allOf", "oneOf"):
        for option in schema.get(key, []):
            yield from _unbounded(option, definitions, where, seen)
    kind = schema.get("type")
    if kind == "string" and not {"enum", "const", "format", "maxLength"} & schema.keys():
        yield where
    if kind == "array":
        if "maxItems" not in schema:
            yield where
        yield from _unbounded(schema.get("items", {}), definitions, f"{where}[]", seen)
    if kind == "object":
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) or extra is True:
            if "maxProperties" not in schema:
                yield where
            yield from _unbounded(schema.get("propertyNames", {}), definitions, f"{where}{{key}}", seen)
            if isinstance(extra, dict):
                yield from _unbounded(extra, definitions, f"{where}{{}}", seen)
        for name, field in schema.get("properties", {}).items():
            yield from _unbounded(field, definitions, f"{where}.{name}", seen)


@pytest.mark.parametrize("model", list(EVENT_TYPES.values()), ids=lambda model: model.__name__)
def test_every_text_list_and_map_of_an_event_is_bounded(model: type[Contract]) -> None:
    schema = model.model_json_schema()
    unbounded = sorted(set(_unbounded(schema, schema.get("$defs", {}), model.__name__, set())))
    assert unbounded == []


TURN = {
    "turn_id": str(uuid.uuid4()),
    "conversation_id": str(uuid.uuid4()),
    "channel": {"channel": "teams", "user_id": "user-1"},
}
CHOICE = {"faq_id": "it-vpn", "question": "VPN?"}
CITATION = {
    "faq_id": "guide~0123456789abcdef",
    "title": "VPN guide",
    "kind": "passage",
    "section": ["Setup"],
    "document_id": "guide",
    "snippet": "Open the app.",
}
ENTITY = {"type": "date", "start": 0, "end": 8, "text": "tomorrow", "value": "2026-01-01"}
REQUESTED = {**TURN, "text": "my vpn drops"}
ANALYZED = {
    **REQUESTED,
    "language": "en",
    "normalised_text": "my vpn drops",
    "redacted_text": "my vpn drops",
    "tokens": ["my", "vpn", "drops"],
    "intent": {"name": "vpn", "confidence": 0.8, "alternatives": [{"name": "wifi", "confidence": 0.1}]},
    "out_of_scope": False,
    "entities": [ENTITY],
    "timings_ms": {"nlp": 1.0},
}
ANSWERED = {
    **TURN,
    "language": "en",
    "question": "my vpn drops",
    "answer": "Restart the client.",
    "mode": "faq",
    "cited_faq_ids": ["it-vpn"],
    "citations": [CITATION],
    "choices": [CHOICE],
    "clarified": {"question": "vpn", "faq_id": "it-vpn", "choices": [CHOICE]},
    "timings_ms": {"nlp": 1.0},
}
ESCALATED = {
    **TURN,
    "language": "en",
    "reason": "user_asked",
    "question": "a person please",
    "summary": "Question (en): a person please",
    "message": "Passing you on.",
}
REPLIED = {**TURN, "operator_id": "agent-1", "answer": "Done.", "question": "a person please"}
KB_UPDATED = {"update_id": str(uuid.uuid4()), "kb_version": "v1-abc", "changed_ids": ["it-vpn"]}
SCHEMA_1 = {
    "update_id": str(uuid.uuid4()),
    "kb_version": "v1-abc",
    "added": ["it-vpn"],
    "changed": ["it-vpn"],
    "removed": ["it-vpn"],
}
ENTRY = FaqEntry.model_validate({"id": "it-vpn", "question": "VPN?", "answer": "Restart it.", "lang": "en"})

Path = tuple[str | int, ...]


def text(size: int) -> str:
    return "x" * size


def items(item: object) -> Callable[[int], list[object]]:
    def repeated(size: int) -> list[object]:
        return [item] * size

    return repeated


def stages(size: int) -> dict[str, float]:
    return {f"stage-{number}": 1.0 for number in range(size)}


def stage_name(size: int) -> dict[str, float]:
    return {"x" * size: 1.0}


def reference_keys(size: int) -> dict[str, str]:
    return {f"k{number}": "v" for number in range(size)}


def reference_json(size: int) -> dict[str, str]:
    """A reference whose compact JSON is exactly `size` characters."""
    return {"id": "x" * (size - len(json.dumps({"id": ""}, separators=(",", ":"))))}


@dataclass(frozen=True)
class Bound:
    model: type[Contract]
    base: dict[str, Any]
    path: Path
    limit: int
    value: Callable[[int], object] = text

    def event(self, size: int) -> dict[str, Any]:
        data = copy.deepcopy(self.base)
        target: Any = data
        for step in self.path[:-1]:
            target = target[step]
        target[self.path[-1]] = self.value(size)
        return data

    @property
    def name(self) -> str:
        kind = "" if self.value is text else f"<{getattr(self.value, '__name__', 'items')}>"
        return f"{self.model.__name__}.{'.'.join(str(step) for step in self.path)}{kind}"


BOUNDS = [
    Bound(ChatRequested, REQUESTED, ("channel", "user_id"), MAX_USER_ID_CHARS),
    Bound(ChatRequested, REQUESTED, ("channel", "service_url"), MAX_URL_CHARS),
    Bound(ChatRequested, REQUESTED, ("channel", "locale"), MAX_LOCALE_CHARS),
    Bound(ChatRequested, REQUESTED, ("channel", "waiting_on"), MAX_USER_ID_CHARS),
    Bound(
        ChatRequested, REQUESTED, ("channel", "conversation_ref"), MAX_CONVERSATION_REF_KEYS, reference_keys
    ),
    Bound(
        ChatRequested, REQUESTED, ("channel", "conversation_ref"), MAX_CONVERSATION_REF_CHARS, reference_json
    ),
    Bound(ChatRequested, REQUESTED, ("locale_hint",), MAX_LOCALE_CHARS),
    Bound(ChatAnalyzed, ANALYZED, ("normalised_text",), MAX_MESSAGE_CHARS),
    Bound(ChatAnalyzed, ANALYZED, ("redacted_text",), MAX_MESSAGE_CHARS),
    Bound(ChatAnalyzed, ANALYZED, ("tokens",), MAX_TOKENS, items("vpn")),
    Bound(ChatAnalyzed, ANALYZED, ("tokens", 0), MAX_MESSAGE_CHARS),
    Bound(ChatAnalyzed, ANALYZED, ("entities",), MAX_ENTITIES, items(ENTITY)),
    Bound(ChatAnalyzed, ANALYZED, ("entities", 0, "text"), MAX_MESSAGE_CHARS),
    Bound(ChatAnalyzed, ANALYZED, ("entities", 0, "value"), MAX_MESSAGE_CHARS),
    Bound(ChatAnalyzed, ANALYZED, ("intent", "name"), MAX_INTENT_NAME_CHARS),
    Bound(
        ChatAnalyzed,
        ANALYZED,
        ("intent", "alternatives"),
        MAX_INTENT_ALTERNATIVES,
        items({"name": "a", "confidence": 0.1}),
    ),
    Bound(ChatAnalyzed, ANALYZED, ("intent", "alternatives", 0, "name"), MAX_INTENT_NAME_CHARS),
    Bound(ChatAnalyzed, ANALYZED, ("timings_ms",), MAX_TIMINGS, stages),
    Bound(ChatAnalyzed, ANALYZED, ("timings_ms",), MAX_TIMING_NAME_CHARS, stage_name),
    Bound(ChatAnswered, ANSWERED, ("question",), MAX_MESSAGE_CHARS),
    Bound(ChatAnswered, ANSWERED, ("answer",), MAX_ANSWER_CHARS),
    Bound(ChatAnswered, ANSWERED, ("cited_faq_ids",), MAX_CITED_ITEMS, items("it-vpn")),
    Bound(ChatAnswered, ANSWERED, ("cited_faq_ids", 0), MAX_FAQ_ID_CHARS),
    Bound(ChatAnswered, ANSWERED, ("citations",), MAX_CITED_ITEMS, items(CITATION)),
    Bound(ChatAnswered, ANSWERED, ("citations", 0, "faq_id"), MAX_FAQ_ID_CHARS),
    Bound(ChatAnswered, ANSWERED, ("citations", 0, "title"), MAX_TITLE_CHARS),
    Bound(ChatAnswered, ANSWERED, ("citations", 0, "snippet"), MAX_SNIPPET_CHARS),
    Bound(ChatAnswered, ANSWERED, ("citations", 0, "url"), MAX_URL_CHARS),
    Bound(ChatAnswered, ANSWERED, ("citations", 0, "section"), MAX_SECTION_DEPTH, items("Setup")),
    Bound(ChatAnswered, ANSWERED, ("citations", 0, "section", 0), MAX_HEADING_CHARS),
    Bound(ChatAnswered, ANSWERED, ("citations", 0, "document_id"), MAX_FAQ_ID_CHARS),
    Bound(ChatAnswered, ANSWERED, ("choices",), MAX_CLARIFIED_CHOICES, items(CHOICE)),
    Bound(ChatAnswered, ANSWERED, ("choices", 0, "faq_id"), MAX_FAQ_ID_CHARS),
    Bound(ChatAnswered, ANSWERED, ("choices", 0, "question"), MAX_CHOICE_CHARS),
    Bound(ChatAnswered, ANSWERED, ("clarified", "choices", 0, "faq_id"), MAX_FAQ_ID_CHARS),
    Bound(ChatAnswered, ANSWERED, ("clarified", "choices", 0, "question"), MAX_CHOICE_CHARS),
    Bound(ChatAnswered, ANSWERED, ("intent",), MAX_INTENT_NAME_CHARS),
    Bound(ChatAnswered, ANSWERED, ("kb_version",), MAX_KB_VERSION_CHARS),
    Bound(ChatAnswered, {**ANSWERED, "variant": {}}, ("variant", "prompt"), MAX_VARIANT_CHARS),
    Bound(ChatAnswered, {**ANSWERED, "variant": {}}, ("variant", "model"), MAX_VARIANT_CHARS),
    Bound(ChatAnswered, {**ANSWERED, "variant": {}}, ("variant", "name"), MAX_VARIANT_CHARS),
    Bound(ChatAnswered, ANSWERED, ("timings_ms",), MAX_TIMINGS, stages),
    Bound(ChatAnswered, ANSWERED, ("timings_ms",), MAX_TIMING_NAME_CHARS, stage_name),
    Bound(ChatEscalated, ESCALATED, ("question",), MAX_MESSAGE_CHARS),
    Bound(ChatEscalated, ESCALATED, ("summary",), MAX_SUMMARY_CHARS),
    Bound(ChatEscalated, ESCALATED, ("message",), MAX_MESSAGE_CHARS),
    Bound(ChatEscalated, {**ESCALATED, "variant": {}}, ("variant", "name"), MAX_VARIANT_CHARS),
    Bound(ChatEscalated, ESCALATED, ("timings_ms",), MAX_TIMINGS, stages),
    Bound(HandoffReplied, REPLIED, ("operator_id",), MAX_USER_ID_CHARS),
    Bound(HandoffReplied, REPLIED, ("question",), MAX_MESSAGE_CHARS),
    Bound(KbUpdated, KB_UPDATED, ("actor",), MAX_USER_ID_CHARS),
    Bound(KbUpdated, KB_UPDATED, ("kb_version",), MAX_KB_VERSION_CHARS),
    Bound(KbUpdated, KB_UPDATED, ("previous_version",), MAX_KB_VERSION_CHARS),
    Bound(KbUpdated, KB_UPDATED, ("changed_ids", 0), MAX_FAQ_ID_CHARS),
    Bound(KbUpdated, SCHEMA_1, ("added",), MAX_CARRIED_ITEMS, items("it-vpn")),
    Bound(KbUpdated, SCHEMA_1, ("changed",), MAX_CARRIED_ITEMS, items("it-vpn")),
    Bound(KbUpdated, SCHEMA_1, ("removed",), MAX_CARRIED_ITEMS, items("it-vpn")),
    Bound(KbUpdated, SCHEMA_1, ("removed", 0), MAX_FAQ_ID_CHARS),
    Bound(KbUpdated, SCHEMA_1, ("entries",), MAX_CARRIED_ITEMS, items(ENTRY)),
]


@pytest.mark.parametrize("bound", BOUNDS, ids=lambda bound: bound.name)
def test_an_event_at_the_bound_is_accepted(bound: Bound) -> None:
    bound.model.model_validate(bound.event(bound.limit))


@pytest.mark.parametrize("bound", BOUNDS, ids=lambda bound: bound.name)
def test_an_event_past_the_bound_is_refused(bound: Bound) -> None:
    with pytest.raises(ValidationError):
        bound.model.model_validate(bound.event(bound.limit + 1))


@pytest.mark.parametrize("model", [ChatRequested, ChatAnalyzed, ChatAnswered, ChatEscalated, HandoffReplied])
def test_the_bases_are_valid_events_of_their_topic(model: type[Contract]) -> None:
    """The cases above change one field of these; each must be valid as it stands."""
    base = {
        ChatRequested: REQUESTED,
        ChatAnalyzed: ANALYZED,
        ChatAnswered: ANSWERED,
        ChatEscalated: ESCALATED,
        HandoffReplied: REPLIED,
    }[model]
    model.model_validate(base)
    KbUpdated.model_validate(KB_UPDATED)
    KbUpdated.model_validate(SCHEMA_1)


def test_a_knowledge_update_is_announced_whoever_made_it() -> None:
    """The evaluator announces a version through `KbUpdated.referring`, whatever the length of the id of
    the operator who made it."""
    update = KbUpdated.referring(
        update_id=uuid.uuid4(),
        kb_version="v2-abc",
        previous_version="v1-abc",
        pages=1,
        counts=KnowledgeCounts(added=1),
        changed_ids=["it-vpn"],
        actor="operator-" + "o" * MAX_USER_ID_CHARS,
    )
    assert len(update.actor) == MAX_USER_ID_CHARS
    KbUpdated.model_validate(update.model_dump(mode="json"))
