"""Answering from a passage without a model: its best sentences, in the passage's own words and
language, cited with the document, section and page it comes from.

A passage can be a whole manual section; its best sentences are the ones that hold most of the
question's term weight (IDF from the passage index: a rare word like "809" counts more than "vpn" in a
VPN guide). A short passage is given whole: a list of steps or a table row reads wrong when cut. Longer
ones give their best sentences, up to `EXTRACT_CHARS`, in the order the passage has them, so a
procedure keeps its order. Sentences end at 。！？ (Japanese), at . ! ? before a space, and at line
breaks (list items and table rows are lines).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from helpdesk.events import (
    MAX_HEADING_CHARS,
    MAX_SECTION_DEPTH,
    MAX_TITLE_CHARS,
    Citation,
    Language,
    shortened,
)
from helpdesk.knowledge.entries import KnowledgeKind, Passage
from services.dialogue import replies
from services.dialogue.knowledge.analysis import index_terms

WHOLE_PASSAGE_CHARS = 360
"""A passage up to this long is the answer itself."""
EXTRACT_CHARS = 480
"""Longer passages give their best sentences up to about this many characters."""
PASSAGE_SNIPPET_CHARS = 600
"""How much of a cited passage travels with its citation, before its ellipsis (tooltips; the
evaluator's groundedness)."""

_SENTENCE_END = re.compile(r"(?<=[。！？])|(?<=[.!?])\s+|\n+")

Idf = Callable[[str], float | None]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def _coverage(sentence: str, language: Language, weights: dict[str, float]) -> float:
    held = set(index_terms(sentence, language))
    return sum(w for t, w in weights.items() if t in held)


def best_sentences(passage: Passage, terms: Sequence[str], idf: Idf) -> str:
    """The passage's text when short, else its sentences that cover most of the query's term weight
    (the best always, then the next best while they fit in `EXTRACT_CHARS`), in passage order."""
    text = passage.text.strip()
    parts = sentences(text)
    if len(text) <= WHOLE_PASSAGE_CHARS or len(parts) <= 1:
        return text
    weights = {t: w for t in dict.fromkeys(terms) if (w := idf(t)) is not None}
    scored = [
        (_coverage(sentence, passage.language, weights), -number) for number, sentence in enumerate(parts)
    ]
    ranked = sorted(range(len(parts)), key=lambda number: scored[number], reverse=True)
    chosen = [ranked[0]]
    length = len(parts[ranked[0]])
    for number in ranked[1:]:
        if scored[number][0] <= 0 or length + len(parts[number]) > EXTRACT_CHARS:
            continue
        chosen.append(number)
        length += len(parts[number])
    joiner = "" if passage.language is Language.JA else " "
    runs: list[list[str]] = []
    for number in sorted(chosen):
        if runs and number - 1 in chosen:
            runs[-1].append(parts[number])
        else:
            runs.append([parts[number]])
    gap = "…" if passage.language is Language.JA else " … "
    return gap.join(joiner.join(run) for run in runs)


def passage_answer(passage: Passage, terms: Sequence[str], idf: Idf, language: Language) -> str:
    """The extract, with a note when the passage is in another language than the user's. Where it
    comes from travels as the answer's citation (document, section, page), which every channel shows
    beside the answer."""
    extract = best_sentences(passage, terms, idf)
    if passage.language is not language and passage.language in (Language.EN, Language.JA):
        return f"{extract}\n\n{replies.ONLY_IN_OTHER_LANGUAGE[language]}"
    return extract


def link_of(passage: Passage) -> str | None:
    """The passage's link when it is a web address (an import name is not something to open)."""
    link = passage.link
    return link if link and link.startswith(("https://", "http://")) else None


def passage_citation(passage: Passage) -> Citation:
    """How a channel shows a cited passage: its document's title, the section path and page, the start
    of its text, and the document's address when it has one. Importers keep headings whole and as deep
    as the document nests them, so the path is held to the event's bounds here (the outermost
    `MAX_SECTION_DEPTH` headings, each shortened to `MAX_HEADING_CHARS`)."""
    snippet = shortened(passage.text, PASSAGE_SNIPPET_CHARS + 1)
    return Citation(
        faq_id=passage.id,
        kind=KnowledgeKind.PASSAGE,
        title=shortened(passage.title, MAX_TITLE_CHARS),
        section=[shortened(heading, MAX_HEADING_CHARS) for heading in passage.section[:MAX_SECTION_DEPTH]],
        page=passage.page,
        document_id=passage.document_id,
        snippet=snippet,
        url=link_of(passage),
    )
