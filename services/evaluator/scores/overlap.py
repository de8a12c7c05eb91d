"""Relevance and groundedness proxies from term overlap.

Terms come from `helpdesk.text.terms`, so English is compared on stemmed words without stop words and
Japanese on lemmatised morphemes (never on whitespace, which Japanese does not have). These proxies are
cheap enough to run on every answer; the LLM judge, when enabled, gives the finer reading.
"""

from __future__ import annotations

from collections.abc import Iterable


def coverage(wanted: Iterable[str], available: frozenset[str] | set[str]) -> float | None:
    """Share of the distinct `wanted` terms found in `available`; None when nothing is wanted."""
    distinct = set(wanted)
    if not distinct:
        return None
    return len(distinct & available) / len(distinct)


def relevance(
    question_terms: Iterable[str], answer_terms: Iterable[str], cited_question_terms: Iterable[str]
) -> float | None:
    """How much of the question the answer addresses: the question's terms found in the answer or in
    what the cited items are about (an FAQ entry's questions, a passage's document title and headings:
    an answer need not repeat the question's words)."""
    return coverage(question_terms, set(answer_terms) | set(cited_question_terms))


def groundedness(answer_terms: Iterable[str], cited_terms: Iterable[str]) -> float | None:
    """How much of the answer is backed by the cited text (FAQ entries, passages of documents): the
    answer's terms found in it."""
    return coverage(answer_terms, set(cited_terms))
