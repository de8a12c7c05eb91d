"""A FAQ candidate: what an agent's answer became, what an operator may change, and the entry it
turns into once approved; the refusals of the review rules."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from helpdesk.errors import DomainError
from helpdesk.events import Language, utcnow
from helpdesk.knowledge.entries import FaqEntry, parse_entry
from helpdesk.text.pii import redact_text as redact


class CandidateStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    WITHDRAWN = "withdrawn"
    """An approved wording an operator took back: out of its entry, never added again."""


class CandidateKind(StrEnum):
    ENTRY = "entry"
    """A new entry drafted from an agent's answer."""
    WORDING = "wording"
    """An alternative wording of an existing entry (`faq_id`), learned from users' choices or vouched
    for by an agent's answer; `question` is the wording, `answer` the entry's answer as it was."""


class Draft(BaseModel):
    question: str
    answer: str
    alternatives: list[str] = Field(default_factory=list)
    drafted_by: str = "extractive"


class Candidate(BaseModel):
    id: str
    kind: CandidateKind = CandidateKind.ENTRY
    status: CandidateStatus = CandidateStatus.PENDING
    language: Language
    question: str
    answer: str
    alternatives: list[str] = Field(default_factory=list)
    category: str | None = None
    tags: list[str] = Field(default_factory=list)
    drafted_by: str = "extractive"
    source_turn_ids: list[UUID] = Field(default_factory=list)
    operator_ids: list[str] = Field(default_factory=list)
    supporting_answers: list[str] = Field(default_factory=list)
    """Other agents' answers to the same question, merged into this candidate (redacted)."""
    duplicate_of: str | None = None
    similarity: float | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    review_note: str | None = None
    faq_id: str | None = None
    kb_version: str | None = None
    update_id: UUID | None = None
    published: bool = False
    entry_question: str | None = None
    """A wording candidate's entry, by its question in the wording's language (for the reviewer)."""
    chosen_by: int = 0
    """A wording candidate: how many distinct users chose the entry for it (0: an agent vouched)."""
    listed_by_file: bool = False
    """An approved wording its entry had without learning: its knowledge file lists it (as the file's
    latest import saw), or the entry had it when the wording was approved. Withdrawing such a wording
    leaves the entry as it is (the file's phrasing, which its next import would write again anyway)."""
    withdrawn_by: str | None = None
    withdrawn_at: datetime | None = None
    withdrawal_update_id: UUID | None = None
    """The knowledge update that takes a withdrawn wording out of its entry (the same on a retry)."""
    withdrawal_done: bool = False
    """The withdrawal reached the knowledge base: the wording was taken out of its entry (and that
    version published), or the entry had it no more."""


class CandidateEdit(BaseModel):
    """What an operator may change before approving."""

    question: str | None = Field(default=None, min_length=1, max_length=1000)
    answer: str | None = Field(default=None, min_length=1, max_length=4000)
    alternatives: list[str] | None = Field(default=None, max_length=20)
    category: str | None = Field(default=None, max_length=100)
    tags: list[str] | None = Field(default=None, max_length=20)


class CandidateAlreadyReviewed(DomainError):
    """The review action does not apply to the candidate in its current state (it was approved or
    rejected already)."""

    status = 409
    kind = "review-conflict"


class NotAnApprovedWording(DomainError):
    """Only an approved wording can be withdrawn: an entry stays in the knowledge base until its
    document is removed, and a candidate not approved has nothing in it to take back."""

    status = 409
    kind = "review-conflict"


class WordingEntryGone(DomainError):
    """The entry a wording candidate would add to is no longer in the knowledge base (or no longer in
    the wording's language)."""

    status = 409
    kind = "review-conflict"


class CandidateNotFound(DomainError):
    status = 404

    def __init__(self) -> None:
        super().__init__("No such candidate.")


def with_edits(candidate: Candidate, edit: CandidateEdit) -> Candidate:
    changes: dict[str, Any] = {k: v for k, v in edit.model_dump(exclude_none=True).items()}
    for name in ("question", "answer"):
        if name in changes:
            changes[name] = redact(str(changes[name]).strip())
    if "alternatives" in changes:
        changes["alternatives"] = [redact(a.strip()) for a in changes["alternatives"] if a.strip()]
    changes["updated_at"] = utcnow()
    return candidate.model_copy(update=changes)


def kb_entry(candidate: Candidate) -> FaqEntry:
    """The knowledge-base entry an approved candidate becomes (`InvalidKnowledge` if it cannot be one)."""
    assert candidate.faq_id is not None
    return parse_entry(
        {
            "id": candidate.faq_id,
            "category": candidate.category or "learned",
            "tags": candidate.tags,
            "owner": candidate.reviewed_by or "helpdesk",
            "updated_at": (candidate.reviewed_at or utcnow()).astimezone(UTC).isoformat(),
            "source": "handoff",
            candidate.language.value: {
                "question": candidate.question,
                "alternatives": candidate.alternatives,
                "answer": candidate.answer,
            },
        }
    )
