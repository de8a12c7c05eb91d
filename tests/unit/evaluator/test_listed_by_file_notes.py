"""An import notes on each approved learned wording of the file's entries whether the file lists it
itself (`listed_by_file`): one bulk read and one bulk save with etags however many wordings the file
has, and a candidate changed meanwhile is read again and noted, not overwritten."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from helpdesk.dapr.ports import Stored
from helpdesk.events import Language
from helpdesk.memory_ports import MemoryStateStore
from services.evaluator.candidates.candidate import Candidate, CandidateKind, CandidateStatus
from services.evaluator.candidates.candidate_store import CandidateStore
from services.evaluator.candidates.wordings import LearnedWording

WORDINGS = 40


class CountedStore(MemoryStateStore):
    """Counts the state calls, and can let another writer change the store before the bulk save."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()
        self.saved_together: list[int] = []
        self.before_bulk_save: Callable[[], Awaitable[object]] | None = None

    async def get(self, key: str) -> Stored | None:
        self.calls["get"] += 1
        return await super().get(key)

    async def get_many(self, keys: list[str]) -> dict[str, Stored]:
        self.calls["get_many"] += 1
        return await super().get_many(keys)

    async def save(
        self, key: str, value: bytes, *, etag: str | None = None, ttl_seconds: int | None = None
    ) -> None:
        self.calls["save"] += 1
        await super().save(key, value, etag=etag, ttl_seconds=ttl_seconds)

    async def save_many_if_unchanged(self, values: dict[str, tuple[bytes, str]]) -> None:
        self.calls["save_many_if_unchanged"] += 1
        self.saved_together.append(len(values))
        if self.before_bulk_save is not None:
            interleaved, self.before_bulk_save = self.before_bulk_save, None
            await interleaved()
        await super().save_many_if_unchanged(values)


def wording(number: int, status: CandidateStatus = CandidateStatus.APPROVED) -> Candidate:
    return Candidate(
        id=f"wording-{number}",
        kind=CandidateKind.WORDING,
        status=status,
        language=Language.EN,
        question=f"How do I do thing {number}?",
        answer="",
        faq_id="password-reset",
    )


def learned(candidate: Candidate) -> LearnedWording:
    return LearnedWording(
        candidate.faq_id or "", candidate.language, candidate.question, datetime.now(UTC), candidate.id
    )


async def stored_with(candidates: list[Candidate]) -> tuple[CountedStore, CandidateStore]:
    state = CountedStore()
    store = CandidateStore(state)
    for candidate in candidates:
        await store.create(candidate)
    state.calls.clear()
    return state, store


async def notes(store: CandidateStore, candidates: list[Candidate]) -> list[bool]:
    return [(await store.get(c.id) or c).listed_by_file for c in candidates]


async def test_a_files_wordings_are_noted_in_one_bulk_read_and_one_bulk_save() -> None:
    candidates = [wording(n) for n in range(WORDINGS)]
    state, store = await stored_with(candidates)
    listed, unlisted = candidates[: WORDINGS // 2], candidates[WORDINGS // 2 :]

    await store.listed_by_files([learned(c) for c in listed], [learned(c) for c in unlisted])

    assert state.calls == {"get_many": 1, "save_many_if_unchanged": 1}
    assert state.saved_together == [WORDINGS // 2], "only the notes that change are written"
    assert await notes(store, candidates) == [True] * (WORDINGS // 2) + [False] * (WORDINGS // 2)


async def test_nothing_is_written_when_every_note_stands() -> None:
    candidates = [wording(n) for n in range(WORDINGS)]
    state, store = await stored_with(candidates)

    await store.listed_by_files([], [learned(c) for c in candidates])

    assert state.calls == {"get_many": 1}


async def test_wordings_no_longer_approved_or_gone_are_left_alone() -> None:
    withdrawn, pending = wording(1, CandidateStatus.WITHDRAWN), wording(2, CandidateStatus.PENDING)
    approved, gone = wording(3), wording(4)
    state, store = await stored_with([withdrawn, pending, approved])

    await store.listed_by_files([learned(c) for c in (withdrawn, pending, approved, gone)], [])

    assert state.calls == {"get_many": 1, "save_many_if_unchanged": 1}
    assert state.saved_together == [1]
    assert await notes(store, [withdrawn, pending, approved]) == [False, False, True]
    assert await store.get(gone.id) is None


async def test_a_candidate_changed_meanwhile_is_read_again_and_noted_without_losing_the_change() -> None:
    candidates = [wording(n) for n in range(WORDINGS)]
    state, store = await stored_with(candidates)
    reviewed = candidates[7]

    async def another_writer() -> None:
        await store.change(reviewed.id, lambda c: c.model_copy(update={"review_note": "checked"}))

    state.before_bulk_save = another_writer

    await store.listed_by_files([learned(c) for c in candidates], [])

    assert state.calls["get_many"] == 2
    assert state.calls["save_many_if_unchanged"] == 2
    assert state.saved_together == [WORDINGS, 1], "the retry writes only what is still due"
    assert await notes(store, candidates) == [True] * WORDINGS
    again = await store.get(reviewed.id)
    assert again is not None
    assert again.review_note == "checked"
