"""The FAQ learning loop: an agent's answer to a handed-off question becomes a FAQ candidate, operators
review it, and an approved candidate is published to the knowledge base (`kb.updated`).

Drafting is extractive by default (the user's redacted question, the agent's answer without greeting
and sign-off, redacted); with a model configured, a `Drafter` may generalise both. Candidates are
de-duplicated on language-aware terms: one that repeats a knowledge-base question is kept as a
duplicate (not queued), and one that repeats a pending candidate is merged into it as more evidence.
Each `handoff.replied` is handled once: its outcome is remembered under its turn id.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID

import orjson
from pydantic import BaseModel, Field

from helpdesk.dapr.ports import ETagMismatch, EventPublisher, KeyValueStore
from helpdesk.errors import DomainError
from helpdesk.events import HandoffReplied, KbUpdated, Language, utcnow
from helpdesk.knowledge.entries import FaqEntry, parse_entry
from helpdesk.logging import get_logger
from helpdesk.text import detect_language, normalise, terms
from helpdesk.text.pii import redact_text as redact
from services.evaluator.knowledge import KnowledgeFollower, similarity
from services.evaluator.llm import ChatModel, PromptFile, json_object

_log = get_logger(__name__)

INDEX_KEY = "candidates:index"
KEEP_SUPPORTING = 5


class CandidateStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


class Draft(BaseModel):
    question: str
    answer: str
    alternatives: list[str] = Field(default_factory=list)
    drafted_by: str = "extractive"


class Candidate(BaseModel):
    id: str
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


class CandidateEdit(BaseModel):
    """What an operator may change before approving."""

    question: str | None = Field(default=None, min_length=1, max_length=1000)
    answer: str | None = Field(default=None, min_length=1, max_length=4000)
    alternatives: list[str] | None = Field(default=None, max_length=20)
    category: str | None = Field(default=None, max_length=100)
    tags: list[str] | None = Field(default=None, max_length=20)


class Drafter(Protocol):
    async def draft(self, question: str, answer: str, language: Language) -> Draft: ...


class CandidateAlreadyReviewed(DomainError):
    """The review action does not apply to the candidate in its current state (it was approved or
    rejected already)."""

    status = 409
    kind = "review-conflict"


class CandidateNotFound(DomainError):
    status = 404

    def __init__(self) -> None:
        super().__init__("No such candidate.")


_GREETING = re.compile(
    r"^\s*(?:(?:hi|hello|hey|dear|good (?:morning|afternoon|evening))\b[^\n,.!]*[,.!]?"
    r"|(?:お疲れ様です|お世話になっております|こんにちは)[。、!！]?)\s*",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"(?:^|(?<=[.!?。！]))\s*"
    r"(?:(?:best(?: regards)?|kind regards|regards|many thanks|thanks|thank you|cheers)\b[^\n]*"
    r"|(?:よろしくお願い(?:いた|致)?します|以上です)[。!！]?)\s*$",
    re.IGNORECASE,
)
MAX_NAME_LINES = 2


def clean_answer(answer: str) -> str:
    """The agent's answer as a FAQ answer: greeting and sign-off (with the name under it) dropped,
    personal data redacted."""
    lines = [normalise(line) for line in answer.splitlines()]
    lines = [line for line in lines if line]
    if lines:
        lines[0] = _GREETING.sub("", lines[0], count=1)
    for index in range(len(lines) - 1, max(len(lines) - 2 - MAX_NAME_LINES, -1), -1):
        if index > 0 and _SIGN_OFF.fullmatch(lines[index]):
            lines = lines[:index]
            break
    text = " ".join(line for line in lines if line)
    text = _SIGN_OFF.sub("", text).rstrip()
    return redact(text.strip() or normalise(answer))


class ExtractiveDrafter:
    async def draft(self, question: str, answer: str, language: Language) -> Draft:
        return Draft(question=normalise(question), answer=clean_answer(answer))


LANGUAGE_NAMES = {Language.EN: "English", Language.JA: "Japanese"}


class ModelDrafter:
    """Drafts with a chat model (`prompts/faq-draft.v<N>.en.yaml`), from the redacted question and the
    redacted, cleaned reply; anything unusable from the model falls back to the extractive draft."""

    def __init__(self, model: ChatModel, prompt: PromptFile) -> None:
        self._model = model
        self._prompt = prompt

    async def draft(self, question: str, answer: str, language: Language) -> Draft:
        extractive = await ExtractiveDrafter().draft(question, answer, language)
        try:
            completion = await self._model.complete(
                self._prompt.system.safe_substitute(language_name=LANGUAGE_NAMES.get(language, "English")),
                self._prompt.user.safe_substitute(question=extractive.question, answer=extractive.answer),
                temperature=self._prompt.temperature,
                max_tokens=self._prompt.max_tokens,
            )
        except Exception as exc:
            _log.warning("faq_draft_failed", error_type=type(exc).__name__)
            return extractive
        data = json_object(completion.text) or {}
        drafted_question, drafted_answer = data.get("question"), data.get("answer")
        if not isinstance(drafted_question, str) or not isinstance(drafted_answer, str):
            _log.warning("faq_draft_unusable")
            return extractive
        if not drafted_question.strip() or not drafted_answer.strip():
            return extractive
        alternatives = [a.strip() for a in data.get("alternatives") or [] if isinstance(a, str) and a.strip()]
        return Draft(
            question=normalise(drafted_question)[:1000],
            answer=drafted_answer.strip()[:4000],
            alternatives=[normalise(a)[:1000] for a in alternatives[:3]],
            drafted_by=f"{self._prompt.ref}:{self._model.name}",
        )


class CandidateQueue:
    """Drafts, de-duplicates, stores and reviews candidates; approval publishes `kb.updated`."""

    def __init__(
        self,
        state: KeyValueStore,
        bus: EventPublisher,
        library: KnowledgeFollower,
        *,
        duplicate_threshold: float,
        drafter: Drafter | None = None,
    ) -> None:
        """`drafter` drafts candidates from an agent's reply (extraction when None)."""
        self._state = state
        self._bus = bus
        self.library = library
        self._threshold = duplicate_threshold
        self._drafter = drafter or ExtractiveDrafter()

    async def from_handoff(self, event: HandoffReplied) -> Candidate | None:
        """The candidate this reply created or joined; None when there is nothing to learn."""
        if not event.question or not event.question.strip():
            return None
        store = self._state
        source_key = f"candidate-source:{event.turn_id}"
        if (done := await store.get(source_key)) is not None:
            return await self.get(orjson.loads(done.value)["candidate_id"])
        language: Language = event.language or detect_language(event.question)
        if language not in (Language.EN, Language.JA):
            language = Language.EN
        question = redact(event.question)
        draft = await self._drafter.draft(question, redact(event.answer), language)
        draft = draft.model_copy(
            update={
                "answer": redact(draft.answer),
                "question": redact(draft.question),
                "alternatives": [redact(a) for a in draft.alternatives],
            }
        )
        wanted = frozenset(terms(draft.question, language))
        asked = frozenset(terms(question, language))
        await self.library.refresh()
        entry, kb_score = max(
            (self.library.copy.closest(wanted, language), self.library.copy.closest(asked, language)),
            key=lambda found: found[1],
        )
        candidate: Candidate | None = None
        if entry is not None and kb_score >= self._threshold:
            candidate = self._new(event, draft, language)
            candidate.status = CandidateStatus.DUPLICATE
            candidate.duplicate_of = entry.id
            candidate.similarity = round(kb_score, 3)
            await self._create(candidate)
        else:
            similar, score = max(
                [await self._closest_pending(wanted, language), await self._closest_pending(asked, language)],
                key=lambda found: found[1],
            )
            if similar is not None and score >= self._threshold:
                candidate = await self._merge(similar.id, event, draft, score)
            if candidate is None:
                candidate = self._new(event, draft, language)
                await self._create(candidate)
        await store.create(source_key, orjson.dumps({"candidate_id": candidate.id}))
        return candidate

    def _new(self, event: HandoffReplied, draft: Draft, language: Language) -> Candidate:
        return Candidate(
            id=uuid.uuid5(uuid.NAMESPACE_URL, f"helpdesk:candidate:{event.turn_id}").hex,
            language=language,
            question=draft.question,
            answer=draft.answer,
            alternatives=draft.alternatives,
            drafted_by=draft.drafted_by,
            source_turn_ids=[event.turn_id],
            operator_ids=[event.operator_id],
        )

    async def _create(self, candidate: Candidate) -> None:
        await self._state.create(f"candidate:{candidate.id}", candidate.model_dump_json().encode())
        await self._update_index(lambda ids: None if candidate.id in ids else [*ids, candidate.id])

    async def _merge(
        self, candidate_id: str, event: HandoffReplied, draft: Draft, score: float
    ) -> Candidate | None:
        def change(current: Candidate) -> Candidate | None:
            if event.turn_id in current.source_turn_ids:
                return None
            if current.status is not CandidateStatus.PENDING:
                raise CandidateAlreadyReviewed("reviewed meanwhile")
            supporting = [*current.supporting_answers, draft.answer][-KEEP_SUPPORTING:]
            alternatives = current.alternatives
            if (
                normalise(draft.question).lower() != current.question.lower()
                and draft.question not in alternatives
            ):
                alternatives = [*alternatives, draft.question][:20]
            return current.model_copy(
                update={
                    "source_turn_ids": [*current.source_turn_ids, event.turn_id],
                    "operator_ids": sorted({*current.operator_ids, event.operator_id}),
                    "supporting_answers": supporting,
                    "alternatives": alternatives,
                    "similarity": round(score, 3),
                    "updated_at": utcnow(),
                }
            )

        try:
            merged = await self._change(candidate_id, change)
        except CandidateAlreadyReviewed:
            return None
        return merged

    async def _closest_pending(
        self, wanted: frozenset[str], language: Language
    ) -> tuple[Candidate | None, float]:
        best: Candidate | None = None
        best_score = 0.0
        for candidate in await self.find(CandidateStatus.PENDING):
            if candidate.language is not language:
                continue
            for phrasing in (candidate.question, *candidate.alternatives):
                score = similarity(wanted, frozenset(terms(phrasing, language)))
                if score > best_score:
                    best, best_score = candidate, score
        return best, best_score

    # ---- reading -----------------------------------------------------------------------------------

    async def get(self, candidate_id: str) -> Candidate | None:
        stored = await self._state.get(f"candidate:{candidate_id}")
        return Candidate.model_validate_json(stored.value) if stored else None

    async def find(self, status: CandidateStatus | None = None) -> list[Candidate]:
        store = self._state
        index = await store.get(INDEX_KEY)
        ids: list[str] = orjson.loads(index.value) if index else []
        found = await store.get_many([f"candidate:{i}" for i in ids])
        candidates = [Candidate.model_validate_json(s.value) for s in found.values()]
        if status is not None:
            candidates = [c for c in candidates if c.status is status]
        return sorted(candidates, key=lambda c: c.created_at, reverse=True)

    # ---- review ------------------------------------------------------------------------------------

    async def edit(self, candidate_id: str, edit: CandidateEdit) -> Candidate:
        def change(current: Candidate) -> Candidate:
            if current.status is not CandidateStatus.PENDING:
                raise CandidateAlreadyReviewed(f"a {current.status.value} candidate cannot be edited")
            return _edited(current, edit)

        result = await self._change(candidate_id, change)
        assert result is not None
        return result

    async def reject(self, candidate_id: str, operator: str, note: str | None = None) -> Candidate:
        def change(current: Candidate) -> Candidate | None:
            if current.status is CandidateStatus.REJECTED:
                return None
            if current.status is CandidateStatus.APPROVED:
                raise CandidateAlreadyReviewed("an approved candidate cannot be rejected")
            return current.model_copy(
                update={
                    "status": CandidateStatus.REJECTED,
                    "reviewed_by": operator,
                    "reviewed_at": utcnow(),
                    "review_note": note,
                    "updated_at": utcnow(),
                }
            )

        result = await self._change(candidate_id, change)
        assert result is not None
        return result

    async def approve(self, candidate_id: str, operator: str, edit: CandidateEdit | None = None) -> Candidate:
        """Approve (with optional last edits), add the entry to the knowledge base and publish it.

        Approving an approved candidate publishes nothing new; if its publication had failed, it is
        published again with the same update id (consumers are idempotent on it).
        """

        def change(current: Candidate) -> Candidate | None:
            if current.status is CandidateStatus.APPROVED:
                return None
            if current.status is CandidateStatus.REJECTED:
                raise CandidateAlreadyReviewed("a rejected candidate cannot be approved")
            edited = _edited(current, edit) if edit else current
            now = utcnow()
            update_id = uuid.uuid4()
            return edited.model_copy(
                update={
                    "status": CandidateStatus.APPROVED,
                    "reviewed_by": operator,
                    "reviewed_at": now,
                    "updated_at": now,
                    "faq_id": edited.faq_id or f"learned-{edited.id[:10]}",
                    "update_id": update_id,
                    "kb_version": f"learned-{now.strftime('%Y%m%dT%H%M%S')}-{update_id.hex[:8]}",
                }
            )

        candidate = await self._change(candidate_id, change)
        assert candidate is not None
        if candidate.published:
            return candidate
        entry = kb_entry(candidate)
        await self.library.learn(entry)
        assert candidate.update_id is not None
        assert candidate.kb_version is not None
        assert candidate.faq_id is not None
        await self._bus.publish(
            KbUpdated(
                update_id=candidate.update_id,
                kb_version=candidate.kb_version,
                added=[candidate.faq_id],
                entries=[entry],
                actor=operator,
            )
        )

        def mark(current: Candidate) -> Candidate | None:
            return None if current.published else current.model_copy(update={"published": True})

        return await self._change(candidate_id, mark) or candidate

    async def _change(
        self, candidate_id: str, change: Callable[[Candidate], Candidate | None]
    ) -> Candidate | None:
        store = self._state
        key = f"candidate:{candidate_id}"
        for _ in range(16):
            stored = await store.get(key)
            if stored is None:
                raise CandidateNotFound()
            current = Candidate.model_validate_json(stored.value)
            updated = change(current)
            if updated is None:
                return current
            try:
                await store.save(key, updated.model_dump_json().encode(), etag=stored.etag)
                return updated
            except ETagMismatch:
                continue
        raise ETagMismatch(f"{key} kept changing")

    async def _update_index(self, change: Callable[[list[str]], list[str] | None]) -> None:
        store = self._state
        for _ in range(16):
            stored = await store.get(INDEX_KEY)
            ids: list[str] = orjson.loads(stored.value) if stored else []
            updated = change(ids)
            if updated is None:
                return
            try:
                if stored is None:
                    if await store.create(INDEX_KEY, orjson.dumps(updated)):
                        return
                    continue
                await store.save(INDEX_KEY, orjson.dumps(updated), etag=stored.etag)
                return
            except ETagMismatch:
                continue
        raise ETagMismatch(f"{INDEX_KEY} kept changing")


def _edited(candidate: Candidate, edit: CandidateEdit) -> Candidate:
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
