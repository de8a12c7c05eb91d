"""The evaluator's copy of the knowledge base.

Scoring groundedness needs the text of the cited items and de-duplicating FAQ candidates needs every
known question. The evaluator writes the knowledge store itself (it owns `kb.updated`), so its copy is
the store's current version: read at start, again when a `kb.updated` (live copy) says it changed and
every `knowledge_refresh_seconds`, reading only the items that changed. Until the store has a version
the copy holds the default knowledge files (the ones the store is seeded with). Schema 1 updates (with
their entries inline, sent before the store existed) are laid over it in this replica's memory.

The copy follows; it does not decide. An invalid entry (in a file, in an update, in the store) is
skipped, logged and counted, and the valid rest is followed: one bad entry must not stop the evaluator
from scoring answers or starting.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from prometheus_client import Counter

from helpdesk.events import KbUpdated, Language
from helpdesk.knowledge.entries import FaqEntry, KnowledgeItem, Passage, RejectedEntry
from helpdesk.knowledge.files import read_valid_entries
from helpdesk.knowledge.store import KnowledgeStore
from helpdesk.knowledge.versions import LoadedKnowledge
from helpdesk.logging import get_logger
from helpdesk.text import terms

_log = get_logger(__name__)

LEARNED_KEY = "kb-learned"
"""Where approved entries were kept before the knowledge store (read once, when the store is seeded)."""
KB_ENTRIES_SKIPPED = Counter(
    "helpdesk_evaluator_kb_entries_skipped_total",
    "Invalid knowledge entries the evaluator's copy skipped, by where they came from",
    ["origin"],
)


def skip_rejected(rejected: Sequence[RejectedEntry], origin: str) -> None:
    for entry in rejected:
        KB_ENTRIES_SKIPPED.labels(origin).inc()
        _log.warning("knowledge_entry_skipped", origin=origin, faq_id=entry.id, reason=entry.reason)


def load_directory(path: Path) -> list[FaqEntry]:
    """The valid entries of the knowledge files under `path` (none when it does not exist)."""
    if not path.exists():
        return []
    entries, rejected = read_valid_entries(path)
    skip_rejected(rejected, "files")
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
    """The items the evaluator knows, by id: FAQ entries and passages of imported documents."""

    def __init__(self, items: Iterable[KnowledgeItem] = ()) -> None:
        self._items: dict[str, KnowledgeItem] = {}
        self.upsert(items)

    def upsert(self, items: Iterable[KnowledgeItem]) -> None:
        for item in items:
            self._items[item.id] = item

    def remove(self, ids: Iterable[str]) -> None:
        for ident in ids:
            self._items.pop(ident, None)

    def item(self, ident: str) -> KnowledgeItem | None:
        """Any item by id, FAQ entry or passage."""
        return self._items.get(ident)

    def passage(self, ident: str) -> Passage | None:
        found = self._items.get(ident)
        return found if isinstance(found, Passage) else None

    def get(self, ident: str) -> FaqEntry | None:
        """The FAQ entry with this id (None for a passage or an unknown id)."""
        found = self._items.get(ident)
        return found if isinstance(found, FaqEntry) else None

    def __contains__(self, ident: object) -> bool:
        return ident in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[FaqEntry]:
        """The FAQ entries (what candidates are compared with)."""
        return (item for item in self._items.values() if isinstance(item, FaqEntry))

    def closest(self, question_terms: frozenset[str], language: Language) -> tuple[FaqEntry | None, float]:
        """The entry whose question (or an alternative) is most like these terms, and how alike."""
        best: FaqEntry | None = None
        best_score = 0.0
        for entry in self:
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
    """Keeps the evaluator's copy current with the knowledge store (the default files until it has a
    version), with schema 1 updates laid over in memory.

    `copy` is replaced whole on every change, so a reader holding one keeps a consistent snapshot."""

    def __init__(self, store: KnowledgeStore, base: list[FaqEntry]) -> None:
        self._store = store
        self._base = base
        self._loaded: LoadedKnowledge | None = None
        self._observed: dict[str, FaqEntry] = {}
        self._removed: set[str] = set()
        self.copy = KnowledgeCopy(base)

    @property
    def kb_version(self) -> str | None:
        return self._loaded.version.version if self._loaded is not None else None

    async def refresh(self) -> bool:
        """Adopt the store's current version when it is not the one held; False when it is."""
        loaded = await self._store.load(self._loaded)
        if loaded is None or loaded is self._loaded:
            return False
        self._loaded = loaded
        self._rebuild()
        return True

    def observe(self, update: KbUpdated) -> None:
        """Follow a schema 1 update's entries (this replica's memory only; the writer adopts them into
        the store). Schema 2 updates are followed by `refresh`."""
        if not update.carries_entries:
            return
        skip_rejected(update.rejected_entries, "update")
        for entry in update.entries:
            self._observed[entry.id] = entry
            self._removed.discard(entry.id)
        for ident in update.removed:
            self._observed.pop(ident, None)
            self._removed.add(ident)
        self._rebuild()

    def _rebuild(self) -> None:
        copy = KnowledgeCopy(self._loaded.items.values() if self._loaded is not None else self._base)
        copy.upsert(self._observed.values())
        copy.remove(self._removed)
        self.copy = copy
