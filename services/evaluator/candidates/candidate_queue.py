"""The FAQ candidate queue: drafts a candidate from each handed-off reply, de-duplicates it against the
knowledge base and the pending candidates, and takes operators' reviews; approval writes the entry to
the knowledge store and publishes `kb.updated` (through the same path as an imported file)."""

from __future__ import annotations

import contextlib
import uuid
from typing import Protocol

from helpdesk.events import ChatAnswered, HandoffReplied, KbUpdated, Language, utcnow
from helpdesk.knowledge.entries import FaqEntry
from helpdesk.logging import get_logger
from helpdesk.text import detect_language, normalise, terms
from helpdesk.text.pii import redact_text as redact
from services.evaluator.candidates.candidate import (
    Candidate,
    CandidateAlreadyReviewed,
    CandidateEdit,
    CandidateKind,
    CandidateStatus,
    Draft,
    NotAnApprovedWording,
    WordingEntryGone,
    kb_entry,
    with_edits,
)
from services.evaluator.candidates.candidate_store import CandidateStore
from services.evaluator.candidates.drafting import Drafter, ExtractiveDrafter
from services.evaluator.candidates.wordings import (
    WordingChoice,
    WordingCount,
    WordingCounts,
    refusal,
    with_wording,
    without_wording,
    wording_key,
)
from services.evaluator.knowledge import KnowledgeFollower, answer_terms_of, similarity

_log = get_logger(__name__)

KEEP_SUPPORTING = 5
LEARNED_AUTOMATICALLY = "helpdesk:learned-wording"
"""Who approved a wording applied without review (`learn_wordings_automatically`)."""


class EntryPublisher(Protocol):
    async def learn(self, entry: FaqEntry, update_id: uuid.UUID, actor: str) -> KbUpdated:
        """Write the entry as a new knowledge version and publish `kb.updated` (again, with the same
        update id, when the store has it already): an approved entry, or an entry a wording was added
        to or withdrawn from."""
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
        wordings: WordingCounts | None = None,
        learn_wordings_automatically: bool = False,
    ) -> None:
        """`publisher` writes approved entries to the knowledge base; `library` is the knowledge copy
        candidates are checked against; `drafter` drafts candidates from an agent's reply (extraction
        when None); `wordings` counts users' choices of an entry for a wording (None: no wordings are
        learned), whose proposals are applied at once with `learn_wordings_automatically`."""
        self._store = store
        self._publisher = publisher
        self.library = library
        self._threshold = duplicate_threshold
        self._drafter = drafter or ExtractiveDrafter()
        self._wordings = wordings
        self._automatic = learn_wordings_automatically

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
        await self._vouched(event, question, draft, language)
        await self._store.remember_source(event.turn_id, candidate.id)
        return candidate

    async def _vouched(self, event: HandoffReplied, question: str, draft: Draft, language: Language) -> None:
        """An agent's answer that repeats an entry's answer vouches for the handed-off question as a
        wording of that entry."""
        answered = frozenset(terms(draft.answer, language))
        best, best_score = None, 0.0
        for entry in self.library.copy:
            score = similarity(answered, answer_terms_of(entry, language))
            if score > best_score:
                best, best_score = entry, score
        if best is not None and best_score >= self._threshold:
            choice = WordingChoice(
                best.id, question, language, event.channel.user_id, event.turn_id, vouched=True
            )
            await self._wording_chosen(choice)

    # ---- wordings ----------------------------------------------------------------------------------

    async def learn_wording(self, event: ChatAnswered) -> Candidate | None:
        """Count an answer that resolved a clarification as the user's choice of an entry for the
        question's wording; the wording's candidate once it has enough users (approved at once with
        `learn_wordings_automatically`), else None. The wording's language is its own (a reply such as
        "2" or "yes" may be read as another language than the question)."""
        clarified = event.clarified
        if clarified is None or event.refusal is not None:
            return None
        wording = redact(clarified.question)
        language = detect_language(wording)
        if language not in (Language.EN, Language.JA):
            language = event.language
        choice = WordingChoice(clarified.faq_id, wording, language, event.channel.user_id, event.turn_id)
        return await self._wording_chosen(choice)

    async def _wording_chosen(self, choice: WordingChoice) -> Candidate | None:
        if self._wordings is None:
            return None
        refused = refusal(choice, self.library.copy, self._wordings.rules)
        if refused is not None:
            _log.info("wording_refused", faq_id=choice.faq_id, reason=refused.value)
            return None
        ready = await self._wordings.choose(choice)
        if ready is None:
            return None
        candidate = self._wording_candidate(choice.faq_id, ready)
        await self._store.create(candidate)
        if self._automatic:
            with contextlib.suppress(CandidateAlreadyReviewed, WordingEntryGone):
                await self.approve(candidate.id, LEARNED_AUTOMATICALLY)
        await self._wordings.proposed(choice.faq_id, ready)
        _log.info("wording_proposed", faq_id=choice.faq_id, users=len(ready.users), vouched=ready.vouched)
        return await self.get(candidate.id) or candidate

    def _wording_candidate(self, faq_id: str, count: WordingCount) -> Candidate:
        entry = self.library.copy.get(faq_id)
        text = entry.texts.get(count.language) if entry is not None else None
        key = f"helpdesk:wording:{faq_id}:{count.language.value}:{wording_key(count.wording)}"
        return Candidate(
            id=uuid.uuid5(uuid.NAMESPACE_URL, key).hex,
            kind=CandidateKind.WORDING,
            language=count.language,
            question=normalise(count.wording),
            answer=text.answer if text is not None else "-",
            drafted_by="users' choices" if not count.vouched else "an agent's answer",
            source_turn_ids=count.turn_ids,
            faq_id=faq_id,
            entry_question=text.question if text is not None else None,
            chosen_by=0 if count.vouched else len(count.users),
        )

    def _learned_entry(self, candidate: Candidate) -> FaqEntry:
        """What approving `candidate` writes: a new entry, or the entry with the wording added."""
        if candidate.kind is CandidateKind.ENTRY:
            return kb_entry(candidate)
        entry = self.library.copy.get(candidate.faq_id or "")
        if entry is None or candidate.language not in entry.texts:
            raise WordingEntryGone("The entry this wording belongs to is no longer in the knowledge base.")
        return with_wording(entry, candidate.language, candidate.question, candidate.reviewed_at or utcnow())

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
            if current.status in (CandidateStatus.APPROVED, CandidateStatus.WITHDRAWN):
                raise CandidateAlreadyReviewed(f"a {current.status.value} candidate cannot be rejected")
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
        A wording candidate adds its wording to its entry's alternatives (`WordingEntryGone` when the
        entry is no longer there); one the entry has already is noted as the entry's own
        (`listed_by_file`), not learning's.
        """
        pending = await self.get(candidate_id)
        had_it = False
        if pending is not None and pending.kind is CandidateKind.WORDING:
            had_it = self._learned_entry(pending) is self.library.copy.get(pending.faq_id or "")

        def change(current: Candidate) -> Candidate | None:
            if current.status is CandidateStatus.APPROVED:
                return None
            if current.status in (CandidateStatus.REJECTED, CandidateStatus.WITHDRAWN):
                raise CandidateAlreadyReviewed(f"a {current.status.value} candidate cannot be approved")
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
                    "listed_by_file": edited.kind is CandidateKind.WORDING and had_it,
                }
            )

        candidate = await self._store.change(candidate_id, change)
        assert candidate is not None
        if candidate.published:
            return candidate
        assert candidate.update_id is not None
        published = await self._publisher.learn(self._learned_entry(candidate), candidate.update_id, operator)

        def mark(current: Candidate) -> Candidate | None:
            if current.published:
                return None
            return current.model_copy(update={"published": True, "kb_version": published.kb_version})

        return await self._store.change(candidate_id, mark) or candidate

    async def withdraw(self, candidate_id: str, operator: str) -> Candidate:
        """Take an approved wording back: out of its entry's alternatives (a new knowledge version and
        `kb.updated`, as its approval wrote), and never added again by a re-import of the entry's file
        or by users choosing it again (its candidate stays withdrawn).

        Withdrawing a withdrawn wording changes nothing; if taking it out had failed, it is tried
        again with the same update id. When the entry is gone, or has the wording no more, only the
        candidate changes; so too when the entry's knowledge file lists the wording itself
        (`listed_by_file`): that phrasing is the file's, which the operator edits (taking it out of the
        knowledge base alone would last until the file's next import). `NotAnApprovedWording` for
        anything else than an approved wording.
        """

        def change(current: Candidate) -> Candidate | None:
            if current.kind is CandidateKind.WORDING and current.status is CandidateStatus.WITHDRAWN:
                return None
            if current.kind is not CandidateKind.WORDING or current.status is not CandidateStatus.APPROVED:
                state = current.status.value
                what = "wording" if current.kind is CandidateKind.WORDING else "new entry"
                article = "an" if state[0] in "aeiou" else "a"
                raise NotAnApprovedWording(
                    f"Only an approved wording can be withdrawn; this candidate is {article} {state} {what}."
                )
            now = utcnow()
            return current.model_copy(
                update={
                    "status": CandidateStatus.WITHDRAWN,
                    "withdrawn_by": operator,
                    "withdrawn_at": now,
                    "updated_at": now,
                    "withdrawal_update_id": uuid.uuid4(),
                }
            )

        candidate = await self._store.change(candidate_id, change)
        assert candidate is not None
        if candidate.withdrawal_done:
            return candidate
        assert candidate.withdrawal_update_id is not None
        assert candidate.withdrawn_at is not None
        await self.library.refresh()
        entry = None if candidate.listed_by_file else self.library.copy.get(candidate.faq_id or "")
        kb_version: str | None = None
        if entry is not None:
            without = without_wording(entry, candidate.language, candidate.question, candidate.withdrawn_at)
            if without is not entry:
                published = await self._publisher.learn(without, candidate.withdrawal_update_id, operator)
                kb_version = published.kb_version

        def done(current: Candidate) -> Candidate | None:
            if current.withdrawal_done:
                return None
            return current.model_copy(update={"withdrawal_done": True})

        withdrawn = await self._store.change(candidate_id, done) or candidate
        _log.info(
            "wording_withdrawn",
            candidate_id=candidate_id,
            faq_id=candidate.faq_id,
            language=candidate.language.value,
            withdrawn_by=withdrawn.withdrawn_by,
            kb_version=kb_version,
            taken_out=kb_version is not None,
            listed_by_file=candidate.listed_by_file,
        )
        return withdrawn
