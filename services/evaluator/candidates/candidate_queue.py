"""The FAQ candidate queue: drafts a candidate from each handed-off reply, de-duplicates it against the
knowledge base and the pending candidates, and takes operators' reviews; approval writes the entry to
the knowledge store and publishes `kb.updated` (through the same path as an imported file)."""

from __future__ import annotations

import uuid
from typing import Protocol

from helpdesk.events import HandoffReplied, KbUpdated, Language, utcnow
from helpdesk.knowledge.entries import FaqEntry
from helpdesk.text import detect_language, normalise, terms
from helpdesk.text.pii import redact_text as redact
from services.evaluator.candidates.candidate import (
    Candidate,
    CandidateAlreadyReviewed,
    CandidateEdit,
    CandidateStatus,
    Draft,
    kb_entry,
    with_edits,
)
from services.evaluator.candidates.candidate_store import CandidateStore
from services.evaluator.candidates.drafting import Drafter, ExtractiveDrafter
from services.evaluator.knowledge import KnowledgeFollower, similarity

KEEP_SUPPORTING = 5


class EntryPublisher(Protocol):
    async def learn(self, entry: FaqEntry, update_id: uuid.UUID, actor: str) -> KbUpdated:
        """Write the entry as a new knowledge version and publish `kb.updated` (again, with the same
        update id, when the store has it already)."""
        ...


class CandidateQueue:
    """Drafts, de-duplicates, stores and reviews candidates; approval publishes `kb.updated`."""

    def __init__(
        self,
        store: CandidateStore,
        publisher: EntryPublisher,
        library: KnowledgeFollower,
        *,
        duplicate_threshold: float,
        drafter: Drafter | None = None,
    ) -> None:
        """`publisher` writes approved entries to the knowledge base; `library` is the knowledge copy
        candidates are checked against; `drafter` drafts candidates from an agent's reply (extraction
        when None)."""
        self._store = store
        self._publisher = publisher
        self.library = library
        self._threshold = duplicate_threshold
        self._drafter = drafter or ExtractiveDrafter()

    async def from_handoff(self, event: HandoffReplied) -> Candidate | None:
        """The candidate this reply created or joined; None when there is nothing to learn."""
        if not event.question or not event.question.strip():
            return None
        if (done := await self._store.produced_by(event.turn_id)) is not None:
            return await self.get(done)
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
            await self._store.create(candidate)
        else:
            similar, score = max(
                [await self._closest_pending(wanted, language), await self._closest_pending(asked, language)],
                key=lambda found: found[1],
            )
            if similar is not None and score >= self._threshold:
                candidate = await self._merge(similar.id, event, draft, score)
            if candidate is None:
                candidate = self._new(event, draft, language)
                await self._store.create(candidate)
        await self._store.remember_source(event.turn_id, candidate.id)
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
            merged = await self._store.change(candidate_id, change)
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
        return await self._store.get(candidate_id)

    async def find(self, status: CandidateStatus | None = None) -> list[Candidate]:
        """Every candidate (or those in `status`), newest first."""
        return await self._store.find(status)

    # ---- review ------------------------------------------------------------------------------------

    async def edit(self, candidate_id: str, edit: CandidateEdit) -> Candidate:
        def change(current: Candidate) -> Candidate:
            if current.status is not CandidateStatus.PENDING:
                raise CandidateAlreadyReviewed(f"a {current.status.value} candidate cannot be edited")
            return with_edits(current, edit)

        result = await self._store.change(candidate_id, change)
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

        result = await self._store.change(candidate_id, change)
        assert result is not None
        return result

    async def approve(self, candidate_id: str, operator: str, edit: CandidateEdit | None = None) -> Candidate:
        """Approve (with optional last edits), add the entry to the knowledge base and publish it.

        Approving an approved candidate publishes nothing new; if its publication had failed, it is
        written and published again with the same update id (the store and consumers recognise it).
        """

        def change(current: Candidate) -> Candidate | None:
            if current.status is CandidateStatus.APPROVED:
                return None
            if current.status is CandidateStatus.REJECTED:
                raise CandidateAlreadyReviewed("a rejected candidate cannot be approved")
            edited = with_edits(current, edit) if edit else current
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

        candidate = await self._store.change(candidate_id, change)
        assert candidate is not None
        if candidate.published:
            return candidate
        assert candidate.update_id is not None
        published = await self._publisher.learn(kb_entry(candidate), candidate.update_id, operator)

        def mark(current: Candidate) -> Candidate | None:
            if current.published:
                return None
            return current.model_copy(update={"published": True, "kb_version": published.kb_version})

        return await self._store.change(candidate_id, mark) or candidate
