"""FAQ candidates in the state store: one record per candidate, an index of their ids (the state API
cannot list keys), and per handed-off turn the candidate its reply produced (so each `handoff.replied`
is handled once). Every change is an etag-checked read-modify-write."""

from __future__ import annotations

from collections.abc import Callable, Collection
from uuid import UUID

import orjson

from helpdesk.dapr.ports import ETagMismatch, KeyValueStore
from services.evaluator.candidates.candidate import (
    Candidate,
    CandidateKind,
    CandidateNotFound,
    CandidateStatus,
)
from services.evaluator.candidates.wordings import LearnedWording

INDEX_KEY = "candidates:index"
CHANGE_ATTEMPTS = 16
"""Rounds of an etag-checked read-modify-write before giving up on a key that keeps changing."""


class CandidateStore:
    def __init__(self, state: KeyValueStore) -> None:
        self._state = state

    async def get(self, candidate_id: str) -> Candidate | None:
        stored = await self._state.get(_candidate_key(candidate_id))
        return Candidate.model_validate_json(stored.value) if stored else None

    async def find(self, status: CandidateStatus | None = None) -> list[Candidate]:
        """Every candidate (or those in `status`), newest first."""
        index = await self._state.get(INDEX_KEY)
        ids: list[str] = orjson.loads(index.value) if index else []
        found = await self._state.get_many([_candidate_key(i) for i in ids])
        candidates = [Candidate.model_validate_json(s.value) for s in found.values()]
        if status is not None:
            candidates = [c for c in candidates if c.status is status]
        return sorted(candidates, key=lambda c: c.created_at, reverse=True)

    async def approved_wordings(self, faq_ids: Collection[str]) -> list[LearnedWording]:
        """The approved wording candidates of these entries, oldest approval first. A re-import of a
        knowledge file replaces its entries with the file's, so the knowledge sources add these back
        (`LearnedWordings`); read through the index, as `find` does."""
        wanted = set(faq_ids)
        learned = [
            LearnedWording(c.faq_id, c.language, c.question, c.reviewed_at or c.updated_at, c.id)
            for c in await self.find(CandidateStatus.APPROVED)
            if c.kind is CandidateKind.WORDING and c.faq_id is not None and c.faq_id in wanted
        ]
        return sorted(learned, key=lambda w: w.approved_at)

    async def listed_by_files(
        self, listed: Collection[LearnedWording], unlisted: Collection[LearnedWording]
    ) -> None:
        """Note on each approved wording whether its entry's knowledge file lists it itself (as an
        import just saw): such a wording is the file's, and withdrawing it leaves the entry as it is.
        A file may hold hundreds of wordings, so they are read in one bulk get and the candidates whose
        note changes written in one bulk save with their etags: two state calls however many. When
        one of them changed meanwhile, the ones that save carried are read again and what is still due
        written (a candidate noted already is left alone, one no longer approved or gone is skipped)."""
        flags = {w.candidate_id: True for w in listed} | {w.candidate_id: False for w in unlisted}
        due = {_candidate_key(candidate_id): flag for candidate_id, flag in flags.items()}
        for _ in range(CHANGE_ATTEMPTS):
            found = await self._state.get_many(list(due))
            noted: dict[str, tuple[bytes, str]] = {}
            for key, flag in due.items():
                stored = found.get(key)
                if stored is None:
                    continue
                current = Candidate.model_validate_json(stored.value)
                if current.status is not CandidateStatus.APPROVED or current.listed_by_file is flag:
                    continue
                updated = current.model_copy(update={"listed_by_file": flag})
                noted[key] = (updated.model_dump_json().encode(), stored.etag)
            if not noted:
                return
            try:
                await self._state.save_many_if_unchanged(noted)
                return
            except ETagMismatch:
                due = {key: due[key] for key in noted}
        raise ETagMismatch(f"{len(due)} candidates kept changing")

    async def create(self, candidate: Candidate) -> None:
        await self._state.create(_candidate_key(candidate.id), candidate.model_dump_json().encode())
        await self._update_index(lambda ids: None if candidate.id in ids else [*ids, candidate.id])

    async def change(
        self, candidate_id: str, change: Callable[[Candidate], Candidate | None]
    ) -> Candidate | None:
        """Apply `change` to the stored candidate (None from it: leave it as it is) and return the
        candidate as stored afterwards; `CandidateNotFound` when there is none."""
        key = _candidate_key(candidate_id)
        for _ in range(CHANGE_ATTEMPTS):
            stored = await self._state.get(key)
            if stored is None:
                raise CandidateNotFound()
            current = Candidate.model_validate_json(stored.value)
            updated = change(current)
            if updated is None:
                return current
            try:
                await self._state.save(key, updated.model_dump_json().encode(), etag=stored.etag)
                return updated
            except ETagMismatch:
                continue
        raise ETagMismatch(f"{key} kept changing")

    async def produced_by(self, turn_id: UUID) -> str | None:
        """The candidate the reply to this handed-off turn produced, when it was handled already."""
        done = await self._state.get(_source_key(turn_id))
        return str(orjson.loads(done.value)["candidate_id"]) if done is not None else None

    async def remember_source(self, turn_id: UUID, candidate_id: str) -> None:
        await self._state.create(_source_key(turn_id), orjson.dumps({"candidate_id": candidate_id}))

    async def _update_index(self, change: Callable[[list[str]], list[str] | None]) -> None:
        for _ in range(CHANGE_ATTEMPTS):
            stored = await self._state.get(INDEX_KEY)
            ids: list[str] = orjson.loads(stored.value) if stored else []
            updated = change(ids)
            if updated is None:
                return
            try:
                if stored is None:
                    if await self._state.create(INDEX_KEY, orjson.dumps(updated)):
                        return
                    continue
                await self._state.save(INDEX_KEY, orjson.dumps(updated), etag=stored.etag)
                return
            except ETagMismatch:
                continue
        raise ETagMismatch(f"{INDEX_KEY} kept changing")


def _candidate_key(candidate_id: str) -> str:
    return f"candidate:{candidate_id}"


def _source_key(turn_id: UUID) -> str:
    return f"candidate-source:{turn_id}"
