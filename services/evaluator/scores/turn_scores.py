"""Scoring one turn: from the event to its evaluation record and its contribution to the totals."""

from __future__ import annotations

import math
from datetime import datetime
from functools import lru_cache

from helpdesk.aggregates import Tally
from helpdesk.events import AnswerMode, ChatAnswered, ChatEscalated, Language, Variant
from helpdesk.text import terms
from helpdesk.text.pii import redact_text as redact
from services.evaluator.knowledge import KnowledgeCopy
from services.evaluator.records import ANSWER_KEEP_CHARS, EvaluationRecord, JudgeScores, RecordedSource
from services.evaluator.scores.cited import cited_terms
from services.evaluator.scores.overlap import groundedness, relevance

GROUNDED_MODES = frozenset({AnswerMode.FAQ, AnswerMode.LLM})
LATENCY_BOUNDS_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000)
SCORE_BINS = 10
"""Proxy scores in [0, 1] are kept as 11 bins (0.0, 0.1, ... 1.0) for rank tests and distributions."""

END_TO_END = "end_to_end"


def _language(language: Language) -> Language:
    return language if language in (Language.EN, Language.JA) else Language.EN


def latency_bin(ms: float) -> str:
    for bound in LATENCY_BOUNDS_MS:
        if ms <= bound:
            return str(bound)
    return "inf"


def score_bin(value: float) -> str:
    return str(round(min(max(value, 0.0), 1.0) * SCORE_BINS))


def _timings(
    timings_ms: dict[str, float], occurred_at: datetime, received_at: datetime | None
) -> dict[str, float]:
    out = {
        k: float(v)
        for k, v in timings_ms.items()
        if isinstance(v, int | float) and math.isfinite(v) and v >= 0
    }
    if received_at is not None:
        out[END_TO_END] = max((occurred_at - received_at).total_seconds() * 1000, 0.0)
    return out


def evaluate_answer(event: ChatAnswered, kb: KnowledgeCopy) -> EvaluationRecord:
    """The evaluation of one answer, without an LLM: overlap proxies, citations (FAQ entries and
    passages of documents), latency, cost."""
    language = _language(event.language)
    cited = cited_terms(event, kb, language)
    rel = grd = validity = None
    if event.mode in GROUNDED_MODES:
        asked = _question_terms(event.question, language)
        answer_terms = _answer_terms(event.answer, event.mode, language)
        rel = relevance(asked, answer_terms, cited.about)
        grd = groundedness(answer_terms, cited.held) if cited.held else (0.0 if answer_terms else None)
        validity = len(cited.known) / len(event.cited_faq_ids) if event.cited_faq_ids else 0.0
    return EvaluationRecord(
        turn_id=event.turn_id,
        conversation_id=event.conversation_id,
        occurred_at=event.occurred_at,
        language=event.language,
        mode=event.mode,
        variant=event.variant,
        intent=event.intent,
        confidence=event.confidence,
        kb_version=event.kb_version,
        question=redact(event.question),
        answer=_redacted_answer(event.answer, event.mode),
        cited_faq_ids=list(event.cited_faq_ids),
        sources=[RecordedSource.of(citation) for citation in event.citations],
        unknown_citations=cited.unknown,
        relevance=rel,
        groundedness=grd,
        citation_validity=validity,
        timings_ms=_timings(event.timings_ms, event.occurred_at, event.received_at),
        prompt_tokens=event.usage.prompt_tokens,
        completion_tokens=event.usage.completion_tokens,
        cost_usd=event.usage.cost_usd,
        cached=event.usage.cached,
    )


def evaluate_escalation(event: ChatEscalated, variant: Variant) -> EvaluationRecord:
    return EvaluationRecord(
        turn_id=event.turn_id,
        conversation_id=event.conversation_id,
        occurred_at=event.occurred_at,
        language=event.language,
        mode=AnswerMode.HANDOFF,
        variant=variant,
        escalated=True,
        escalation_reason=event.reason,
        question=redact(event.question),
        answer=redact(event.message)[:ANSWER_KEEP_CHARS],
        timings_ms=_timings(event.timings_ms, event.occurred_at, event.received_at),
    )


def question_terms(record: EvaluationRecord) -> list[str]:
    return list(_question_terms(record.question, _language(record.language)))


@lru_cache(maxsize=256)
def _question_terms(question: str, language: Language) -> tuple[str, ...]:
    """Cached briefly: an answer's question is tokenised for scoring and again for session tracking,
    within the same delivery (a few hundred cover every delivery in flight)."""
    return tuple(terms(question, language))


def _answer_terms(answer: str, mode: AnswerMode, language: Language) -> tuple[str, ...]:
    if mode is AnswerMode.FAQ:
        return _faq_answer_terms(answer, language)
    return tuple(terms(answer, language))


def _redacted_answer(answer: str, mode: AnswerMode) -> str:
    if mode is AnswerMode.FAQ:
        return _redacted_faq_answer(answer)
    return _kept(answer)


def _kept(answer: str) -> str:
    """Redacted first, then cut: a cut first could split a card number into a piece no longer recognised
    and keep that piece raw."""
    return redact(answer)[:ANSWER_KEEP_CHARS]


FAQ_ANSWERS_CACHED = 1024
"""FAQ answers repeat their entry's text word for word, turn after turn, so their terms and redacted
form are cached; other answers (a model's) are new every time and would only push them out. The
bound is the number of distinct answer texts kept, about one per entry and language."""


@lru_cache(maxsize=FAQ_ANSWERS_CACHED)
def _faq_answer_terms(answer: str, language: Language) -> tuple[str, ...]:
    return tuple(terms(answer, language))


@lru_cache(maxsize=FAQ_ANSWERS_CACHED)
def _redacted_faq_answer(answer: str) -> str:
    return _kept(answer)


def turn_tally(record: EvaluationRecord, session_delta: dict[str, float]) -> Tally:
    """What one turn adds to its (hour, variant) bucket."""
    tally = Tally()
    tally.add("turns")
    tally.add(f"mode.{record.mode.value}")
    tally.add(f"language.{record.language.value}")
    if record.escalated or record.mode is AnswerMode.HANDOFF:
        tally.add("handoff_turns")
    for name, value in (
        ("relevance", record.relevance),
        ("groundedness", record.groundedness),
        ("citation_validity", record.citation_validity),
    ):
        if value is not None:
            tally.add(f"{name}.sum", value)
            tally.add(f"{name}.n")
            tally.observe(name, score_bin(value))
    for stage, ms in record.timings_ms.items():
        tally.add(f"latency.{stage}.sum", ms)
        tally.add(f"latency.{stage}.n")
        tally.observe(f"latency.{stage}", latency_bin(ms))
    tally.add("prompt_tokens", record.prompt_tokens)
    tally.add("completion_tokens", record.completion_tokens)
    tally.add("cost_usd", record.cost_usd)
    if record.cached:
        tally.add("cached")
    for name, value in session_delta.items():
        tally.add(name, value)
    return tally


def rating_tally(up: bool, with_comment: bool, session_delta: dict[str, float]) -> Tally:
    tally = Tally()
    tally.add("ratings")
    tally.add("thumbs_up" if up else "thumbs_down")
    if with_comment:
        tally.add("comments")
    for name, value in session_delta.items():
        tally.add(name, value)
    return tally


def judge_tally(scores: JudgeScores) -> Tally:
    tally = Tally()
    tally.add("judged")
    tally.add("judge.cost_usd", scores.cost_usd)
    for criterion in ("groundedness", "relevance", "coherence"):
        value = getattr(scores, criterion)
        tally.add(f"judge.{criterion}.sum", value)
        tally.add(f"judge.{criterion}.n")
        tally.observe(f"judge.{criterion}", str(value))
    return tally
