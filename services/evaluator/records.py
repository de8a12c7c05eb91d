"""What the evaluator keeps: one record per evaluated turn, per rating, per judge verdict, per session.

Text in these records is redacted: questions arrive redacted by nlp, and comments and agents' answers
are redacted here before they are stored, so no record at rest holds personal data.

They are kept for `record_retention_seconds` (14 days): long enough for the turn drill-down and for
every redelivery they gate, while the long-window numbers (quality, sessions, A/B) are read from the
aggregates. At rest a record leaves out the fields at their defaults (`LedgerFact.stored`,
`stored_json`): one per turn, they are most of what Redis holds.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from helpdesk.aggregates import LedgerFact
from helpdesk.events import AnswerMode, Citation, EscalationReason, Language, Rating, Variant
from helpdesk.knowledge.entries import KnowledgeKind

ANSWER_KEEP_CHARS = 2000


class JudgeScores(BaseModel):
    prompt: str
    """`judge@version` of the prompt that produced these scores."""
    model: str
    groundedness: int = Field(ge=1, le=5)
    relevance: int = Field(ge=1, le=5)
    coherence: int = Field(ge=1, le=5)
    reason: str = ""
    cost_usd: float = 0.0


class TurnFeedback(BaseModel):
    rating: Rating
    comment: str | None = None
    """Redacted."""
    at: datetime


class RecordedSource(BaseModel):
    """A cited source as operators see it beside the turn: an FAQ entry (its question) or a passage
    (its document's title, section path and page)."""

    kind: KnowledgeKind = KnowledgeKind.FAQ
    id: str
    title: str
    section: list[str] = Field(default_factory=list)
    page: int | None = None

    @classmethod
    def of(cls, citation: Citation) -> RecordedSource:
        return cls(
            kind=citation.kind,
            id=citation.faq_id,
            title=citation.title,
            section=list(citation.section),
            page=citation.page,
        )

    @property
    def label(self) -> str:
        """A passage as "Title › Section › Subsection (p. 3)", an FAQ entry as its question."""
        where = " › ".join([self.title, *self.section])
        return f"{where} (p. {self.page})" if self.page is not None else where


class EvaluationRecord(LedgerFact):
    turn_id: UUID
    conversation_id: UUID
    occurred_at: datetime
    language: Language
    mode: AnswerMode
    variant: Variant
    escalated: bool = False
    escalation_reason: EscalationReason | None = None
    intent: str | None = None
    confidence: float | None = None
    kb_version: str | None = None
    question: str
    answer: str
    cited_faq_ids: list[str] = Field(default_factory=list)
    """The cited items' ids: FAQ entries' and passages'."""
    sources: list[RecordedSource] = Field(default_factory=list)
    """What the answer showed as its sources, in citation order."""
    unknown_citations: list[str] = Field(default_factory=list)
    relevance: float | None = None
    groundedness: float | None = None
    citation_validity: float | None = None
    timings_ms: dict[str, float] = Field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cached: bool = False
    reasked: bool = False
    feedback: TurnFeedback | None = None
    judge: JudgeScores | None = None


class FeedbackFact(LedgerFact):
    """A rating counted in the totals (keyed by turn: one rating per turn counts, the first)."""

    turn_id: UUID
    rating: Rating
    variant: str


class JudgementFact(LedgerFact):
    turn_id: UUID
    variant: str
    scores: JudgeScores


class RememberedQuestion(BaseModel):
    """An earlier question of the conversation, as the terms a re-asked one is compared with."""

    terms: list[str]


class SessionRecord(BaseModel):
    """One conversation, as far as session metrics need it.

    `deltas` remembers what each turn or rating contributed, so that a redelivered event recomputes the
    very same contribution (and the ledger then counts it once).
    """

    conversation_id: UUID
    variant: str = "default"
    questions: list[RememberedQuestion] = Field(default_factory=list)
    handed_off: bool = False
    unresolved: bool = False
    deltas: dict[str, dict[str, float]] = Field(default_factory=dict)
    open_question: str | None = None
    """The last question (redacted) the bot could not answer, for drafting FAQ candidates."""
    escalation_reason: EscalationReason | None = None


def stored_json(record: BaseModel) -> bytes:
    """A record as kept: the fields at their defaults left out (reading fills them in again)."""
    return record.model_dump_json(exclude_defaults=True).encode()
