"""How the knowledge base's items are named and cited to a user, whichever their kind: an FAQ entry by
its question and the start of its answer, a passage of a document by the document's title, its section
path and page (passage_answers.py builds its citation)."""

from __future__ import annotations

from collections.abc import Sequence

from helpdesk.events import Citation, Language
from helpdesk.knowledge.entries import Passage
from services.dialogue.knowledge.index import Hit, KnowledgeHit
from services.dialogue.passage_answers import passage_citation

SNIPPET_CHARACTERS = 200


def citation(entry: KnowledgeHit, language: Language) -> Citation:
    """How a channel shows the cited entry: its question as the title, the start of its answer (a
    passage: its document, section, page and the start of its text)."""
    if isinstance(entry, Passage):
        return passage_citation(entry)
    text = entry.text(language)
    snippet = (
        text.answer if len(text.answer) <= SNIPPET_CHARACTERS else text.answer[:SNIPPET_CHARACTERS] + "…"
    )
    return Citation(faq_id=entry.id, title=text.question, snippet=snippet)


def choice_label(entry: KnowledgeHit, language: Language) -> str:
    """How a choice reads: an entry's question; a passage's document and section."""
    if isinstance(entry, Passage):
        return entry.citation
    return entry.text(language).question


def at_least(hit: Hit, first: Hit, ratio: float) -> bool:
    """Whether `hit` scores at least `ratio` of the first: by raw score within one kind, by calibrated
    probability across kinds (raw scores of entries and passages are not comparable)."""
    if isinstance(hit.entry, Passage) == isinstance(first.entry, Passage):
        return hit.score >= first.score * ratio
    return (hit.probability or 0.0) >= (first.probability or 0.0) * ratio


def closest_lines(hits: Sequence[Hit], confidence: float) -> list[str]:
    """How an escalation summary names the closest items: FAQ entries by id, passages by document,
    section and page."""
    lines = []
    entries = ", ".join(h.entry.id for h in hits if not isinstance(h.entry, Passage))
    passages = " | ".join(h.entry.citation for h in hits if isinstance(h.entry, Passage))
    if entries:
        lines.append(f"Closest FAQ entries: {entries} (confidence {confidence:.2f})")
    if passages:
        lines.append(f"Closest passages: {passages} (confidence {confidence:.2f})")
    return lines
