"""How the knowledge base's items are named and cited to a user, whichever their kind: an FAQ entry by
its question and the start of its answer, a passage of a document by the document's title, its section
path and page (passage_answers.py builds its citation); and how an escalation summary names them."""

from __future__ import annotations

from collections.abc import Sequence

from helpdesk.events import (
    MAX_CHOICE_CHARS,
    MAX_SUMMARY_CHARS,
    OUT_OF_SCOPE,
    AnswerMode,
    ChatAnalyzed,
    Citation,
    Language,
    shortened,
)
from helpdesk.knowledge.entries import Passage
from services.dialogue.knowledge.index import Hit, KnowledgeHit, Retrieval
from services.dialogue.memory import ConversationMemory
from services.dialogue.passage_answers import passage_citation

SNIPPET_CHARACTERS = 200
"""How much of an entry's answer a citation shows before its ellipsis."""


def citation(entry: KnowledgeHit, language: Language) -> Citation:
    """How a channel shows the cited entry: its question as the title, the start of its answer (a
    passage: its document, section, page and the start of its text)."""
    if isinstance(entry, Passage):
        return passage_citation(entry)
    text = entry.text(language)
    snippet = shortened(text.answer, SNIPPET_CHARACTERS + 1)
    return Citation(faq_id=entry.id, title=text.question, snippet=snippet)


def passage_label(passage: Passage) -> str:
    """A passage named by its document, section path and page, within `MAX_CHOICE_CHARS` (a document's
    headings can make the path longer than a choice may be)."""
    return shortened(passage.citation, MAX_CHOICE_CHARS)


def choice_label(entry: KnowledgeHit, language: Language) -> str:
    """How a choice reads: an entry's question (within `MAX_CHOICE_CHARS` already, as the knowledge
    base keeps questions); a passage's document and section."""
    if isinstance(entry, Passage):
        return passage_label(entry)
    return entry.text(language).question


def closest_lines(hits: Sequence[Hit], confidence: float) -> list[str]:
    """How an escalation summary names the closest items: FAQ entries by id, passages by document,
    section and page."""
    lines = []
    entries = ", ".join(h.entry.id for h in hits if not isinstance(h.entry, Passage))
    passages = " | ".join(passage_label(h.entry) for h in hits if isinstance(h.entry, Passage))
    if entries:
        lines.append(f"Closest FAQ entries: {entries} (confidence {confidence:.2f})")
    if passages:
        lines.append(f"Closest passages: {passages} (confidence {confidence:.2f})")
    return lines


def escalation_summary(
    event: ChatAnalyzed, memory: ConversationMemory, language: Language, retrieval: Retrieval | None
) -> str:
    """What an agent needs at a glance, from redacted text only. Within `MAX_SUMMARY_CHARS` however
    long the conversation's earlier questions are (one kept before nlp held questions to
    `MAX_MESSAGE_CHARS` may be longer)."""
    lines = [f"Question ({language.value}): {event.redacted_text}"]
    earlier = [t.question for t in memory.turns if t.mode is not AnswerMode.SMALLTALK][-3:]
    if earlier:
        lines.append("Earlier in the conversation: " + " | ".join(earlier))
    if memory.clarification is not None:
        offered = ", ".join(c.faq_id for c in memory.clarification.choices)
        lines.append(f"Offered and not chosen: {offered}")
    if retrieval is not None:
        lines.extend(closest_lines(retrieval.hits[:3], retrieval.confidence))
    intent = event.intent
    if intent.name != OUT_OF_SCOPE or intent.confidence > 0:
        lines.append(f"Intent: {intent.name} ({intent.confidence:.2f})")
    return shortened("\n".join(lines), MAX_SUMMARY_CHARS)
