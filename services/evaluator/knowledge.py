"""The evaluator's own copy of the knowledge base.

The dialogue service's knowledge base lives under its app-id and the evaluator may not read it, yet
scoring groundedness needs the text of the cited FAQ entries and de-duplicating FAQ candidates needs
every known question. So the evaluator keeps a copy: the default knowledge files (the same files
dialogue seeds from), every entry it has learned and published itself, and every `kb.updated` it sees.

The copy follows; it does not decide. An invalid entry (in a file, in the learned entries, in an
update) is skipped, logged and counted, and the valid rest is followed: one bad entry must not stop
the evaluator from scoring answers or starting. Dialogue, which owns the knowledge base, is the one
that refuses an update with an invalid entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import orjson
from prometheus_client import Counter

from helpdesk.dapr.ports import ETagMismatch, KeyValueStore
from helpdesk.events import KbUpdated, Language
from helpdesk.knowledge.entries import FaqEntry, RejectedEntry, sort_entries
from helpdesk.knowledge.files import read_valid_entries
from helpdesk.logging import get_logger
from helpdesk.text import terms

_log = get_logger(__name__)

LEARNED_KEY = "kb-learned"
KB_ENTRIES_SKIPPED = Counter(
    "helpdesk_evaluator_kb_entries_skipped_total",
    "Invalid knowledge entries the evaluator's copy skipped, by where they came from",
    ["origin"],
)


def _skipped(rejected: Sequence[RejectedEntry], origin: str) -> None:
    for entry in rejected:
        KB_ENTRIES_SKIPPED.labels(origin).inc()
        _log.warning("knowledge_entry_skipped", origin=origin, faq_id=entry.id, reason=entry.reason)


def load_directory(path: Path) -> list[FaqEntry]:
    """The valid entries of the knowledge files under `path` (none when it does not exist)."""
    if not path.exists():
        return []
    entries, rejected = read_valid_entries(path)
    _skipped(rejected, "files")
    return entries


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Dice coefficient of two term sets: 1 for the same question phrased with the same terms."""
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


def question_terms_of(entry: FaqEntry, language: Language) -> frozenset[str]:
    """The terms of the entry's question and alternatives in `language` (none without that version)."""
    text = entry.texts.get(language)
    if text is None:
        return frozenset()
    return frozenset().union(*(_phrasing_terms(phrasing, language) for phrasing in text.phrasings))


def answer_terms_of(entry: FaqEntry, language: Language) -> frozenset[str]:
    """The terms of the entry's answer in `language` (none without that version)."""
    text = entry.texts.get(language)
    return _phrasing_terms(text.answer, language) if text is not None else frozenset()


class KnowledgeCopy:
    """The entries the evaluator knows, by id."""

    def __init__(self, entries: Iterable[FaqEntry] = ()) -> None:
        self._entries: dict[str, FaqEntry] = {}
        self.upsert(entries)

    def upsert(self, entries: Iterable[FaqEntry]) -> None:
        for entry in entries:
            self._entries[entry.id] = entry

    def remove(self, ids: Iterable[str]) -> None:
        for ident in ids:
            self._entries.pop(ident, None)

    def get(self, ident: str) -> FaqEntry | None:
        return self._entries.get(ident)

    def __contains__(self, ident: object) -> bool:
        return ident in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[FaqEntry]:
        return iter(self._entries.values())

    def closest(self, question_terms: frozenset[str], language: Language) -> tuple[FaqEntry | None, float]:
        """The entry whose question (or an alternative) is most like these terms, and how alike."""
        best: FaqEntry | None = None
        best_score = 0.0
        for entry in self._entries.values():
            text = entry.texts.get(language)
            if text is None:
                continue
            for phrasing in text.phrasings:
                score = similarity(question_terms, _phrasing_terms(phrasing, language))
                if score > best_score:
                    best, best_score = entry, score
        return best, best_score


_PHRASING_CACHE: dict[tuple[str, Language], frozenset[str]] = {}


def _phrasing_terms(text: str, language: Language) -> frozenset[str]:
    key = (text, language)
    cached = _PHRASING_CACHE.get(key)
    if cached is None:
        cached = frozenset(terms(text, language))
        if len(_PHRASING_CACHE) < 50_000:
            _PHRASING_CACHE[key] = cached
    return cached


class KnowledgeFollower:
    """Keeps the evaluator's copy current: the default files plus every entry learned here (stored
    under `LEARNED_KEY`, shared by the evaluator's replicas) plus what `kb.updated` brought.

    `copy` is replaced whole on `refresh`, so a reader holding one keeps a consistent snapshot."""

    def __init__(self, state: KeyValueStore, base: list[FaqEntry]) -> None:
        self._state = state
        self._base = base
        self._observed: dict[str, FaqEntry] = {}
        self._removed: set[str] = set()
        self.copy = KnowledgeCopy(base)

    async def refresh(self) -> None:
        stored = await self._state.get(LEARNED_KEY)
        learned, rejected = sort_entries(orjson.loads(stored.value) if stored else [])
        _skipped(rejected, "learned")
        copy = KnowledgeCopy(self._base)
        copy.upsert(learned)
        copy.upsert(self._observed.values())
        copy.remove(self._removed)
        self.copy = copy

    def observe(self, update: KbUpdated) -> None:
        """Follow a knowledge-base change published by anyone (this replica's memory only: the live
        copy of `kb.updated` reaches every replica, and the stream replays recent ones at start)."""
        _skipped(update.rejected_entries, "update")
        for entry in update.entries:
            self._observed[entry.id] = entry
            self._removed.discard(entry.id)
        for ident in update.removed:
            self._observed.pop(ident, None)
            self._removed.add(ident)
        self.copy.upsert(update.entries)
        self.copy.remove(update.removed)

    async def learn(self, entry: FaqEntry) -> None:
        """Add an approved entry to the learned entries (replacing one with its id) and to the copy."""
        store = self._state
        raw = entry.model_dump(mode="json")
        for _ in range(16):
            stored = await store.get(LEARNED_KEY)
            learned: list[dict[str, object]] = orjson.loads(stored.value) if stored else []
            learned = [e for e in learned if e.get("id") != entry.id] + [raw]
            try:
                if stored is None:
                    if not await store.create(LEARNED_KEY, orjson.dumps(learned)):
                        continue
                else:
                    await store.save(LEARNED_KEY, orjson.dumps(learned), etag=stored.etag)
            except ETagMismatch:
                continue
            self.copy.upsert([entry])
            return
        raise ETagMismatch(f"{LEARNED_KEY} kept changing")
