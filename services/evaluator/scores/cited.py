"""What an answer's citations offer the overlap scores: the terms saying what each cited item is about
(an FAQ entry's question and alternatives; a passage's document title and section headings) and every
term the cited items hold (those plus an entry's answer; a passage's text).

A cited item is looked up in the evaluator's copy of the knowledge base, FAQ entries and passages
alike. One the copy does not know yet (an update still on its way) grounds the answer through what its
citation travelled with: its title, section path and snippet; it still counts as unknown for citation
validity. A passage is read in its own language, which may differ from the answer's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from helpdesk.events import ChatAnswered, Citation, Language
from helpdesk.knowledge.entries import Passage
from helpdesk.text import terms
from services.evaluator.knowledge import KnowledgeCopy, answer_terms_of, question_terms_of

PASSAGE_TERMS_CACHED = 2048
"""Passages are cited turn after turn; their analysis is kept for about this many texts."""


@dataclass
class CitedTerms:
    about: frozenset[str] = frozenset()
    """What the cited items are about: entries' questions, passages' titles and headings."""
    held: frozenset[str] = frozenset()
    """Everything the cited items say."""
    known: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


@lru_cache(maxsize=PASSAGE_TERMS_CACHED)
def _terms(text: str, language: Language) -> frozenset[str]:
    return frozenset(terms(text, language))


def _passage_terms(passage: Passage) -> tuple[frozenset[str], frozenset[str]]:
    language = passage.language if passage.language in (Language.EN, Language.JA) else Language.EN
    about = _terms(" ".join((passage.title, *passage.section)), language)
    return about, about | _terms(passage.text, language)


def _citation_terms(citation: Citation, language: Language) -> tuple[frozenset[str], frozenset[str]]:
    about = _terms(" ".join((citation.title, *citation.section)), language)
    return about, about | _terms(citation.snippet or "", language)


def cited_terms(event: ChatAnswered, kb: KnowledgeCopy, language: Language) -> CitedTerms:
    cited = CitedTerms()
    details = {c.faq_id: c for c in event.citations}
    for ident in event.cited_faq_ids:
        entry, passage = kb.get(ident), kb.passage(ident)
        if entry is not None:
            about = question_terms_of(entry, language)
            held = about | answer_terms_of(entry, language)
        elif passage is not None:
            about, held = _passage_terms(passage)
        else:
            cited.unknown.append(ident)
            citation = details.get(ident)
            if citation is not None:
                about, held = _citation_terms(citation, language)
                cited.about |= about
                cited.held |= held
            continue
        cited.known.append(ident)
        cited.about |= about
        cited.held |= held
    return cited
