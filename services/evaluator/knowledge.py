"""The evaluator's own copy of the knowledge base.

The dialogue service's index lives under its app-id and the evaluator may not read it, yet scoring
groundedness needs the text of the cited FAQ entries and de-duplicating FAQ candidates needs every known
question. So the evaluator keeps a copy: the default knowledge base files (the same files dialogue
seeds from) plus every entry it has learned and published itself. The loader is deliberately tolerant
of the file layout (YAML lists or mappings, JSON Lines; per-language blocks or flat fields), because it
only needs ids, questions, alternatives and answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import orjson
import yaml

from helpdesk.dapr.ports import ETagMismatch, KeyValueStore
from helpdesk.events import KbUpdated, Language
from helpdesk.text import detect_language, terms

LANGUAGES = (Language.EN, Language.JA)
LEARNED_KEY = "kb-learned"


@dataclass(frozen=True, slots=True)
class FaqText:
    question: str
    answer: str
    alternatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class FaqEntry:
    id: str
    texts: Mapping[Language, FaqText]
    category: str | None = None
    tags: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def text(self, language: Language) -> FaqText | None:
        return self.texts.get(language) or next(iter(self.texts.values()), None)

    @cached_property
    def _terms(self) -> dict[tuple[Language, str], frozenset[str]]:
        out: dict[tuple[Language, str], frozenset[str]] = {}
        for language, text in self.texts.items():
            questions = [text.question, *text.alternatives]
            out[(language, "questions")] = frozenset(t for q in questions for t in terms(q, language))
            out[(language, "answer")] = frozenset(terms(text.answer, language))
        return out

    def question_terms(self, language: Language) -> frozenset[str]:
        return self._terms.get((language, "questions"), frozenset())

    def answer_terms(self, language: Language) -> frozenset[str]:
        return self._terms.get((language, "answer"), frozenset())


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,) if value.strip() else ()
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value if isinstance(v, str) and v.strip())
    return ()


def _language_of(value: Any) -> Language | None:
    if isinstance(value, Language):
        return value
    if isinstance(value, str) and value[:2].lower() in ("en", "ja"):
        return Language(value[:2].lower())
    return None


def _text_from(block: Mapping[str, Any]) -> FaqText | None:
    question = block.get("question") or block.get("q")
    answer = block.get("answer") or block.get("a")
    if not isinstance(question, str) or not isinstance(answer, str):
        return None
    alternatives = _strings(block.get("alternatives") or block.get("alternative_questions") or [])
    return FaqText(question=question, answer=answer, alternatives=alternatives)


def parse_entry(raw: Mapping[str, Any]) -> FaqEntry | None:
    """One entry in any of the layouts a knowledge file may use; None when it has no id or text.

    Accepted: per-language blocks (`en: {question, answer, alternatives}`), per-language fields
    (`question: {en: ..., ja: ...}`), or flat fields with `language` (or none: detected from the text).
    """
    ident = raw.get("id") or raw.get("faq_id")
    if not isinstance(ident, str | int) or not str(ident).strip():
        return None
    texts: dict[Language, FaqText] = {}
    for language in LANGUAGES:
        block = raw.get(language.value)
        if isinstance(block, Mapping):
            text = _text_from(block)
            if text:
                texts[language] = text
    translations = raw.get("translations") or raw.get("languages")
    if isinstance(translations, Mapping):
        for key, block in translations.items():
            named = _language_of(key)
            if named and isinstance(block, Mapping) and (text := _text_from(block)):
                texts.setdefault(named, text)
    question, answer = raw.get("question"), raw.get("answer")
    if isinstance(question, Mapping) and isinstance(answer, Mapping):
        alternatives = raw.get("alternatives")
        for language in LANGUAGES:
            q, a = question.get(language.value), answer.get(language.value)
            if isinstance(q, str) and isinstance(a, str):
                alts = _strings(alternatives.get(language.value)) if isinstance(alternatives, Mapping) else ()
                texts.setdefault(language, FaqText(q, a, alts))
    elif not texts and (flat := _text_from(raw)):
        found = _language_of(raw.get("language") or raw.get("lang")) or detect_language(flat.question)
        texts[found if found in LANGUAGES else Language.EN] = flat
    if not texts:
        return None
    category = raw.get("category")
    return FaqEntry(
        id=str(ident),
        texts=texts,
        category=str(category) if category else None,
        tags=_strings(raw.get("tags") or []),
        raw=dict(raw),
    )


def _documents(path: Path) -> Iterator[Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        for line in text.splitlines():
            if line.strip():
                yield json.loads(line)
    elif path.suffix == ".json":
        yield json.loads(text)
    else:
        yield from yaml.safe_load_all(text)


def _raw_entries(document: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(document, list):
        for item in document:
            yield from _raw_entries(item)
    elif isinstance(document, Mapping):
        for key in ("entries", "faqs", "faq", "items"):
            if isinstance(document.get(key), list):
                yield from _raw_entries(document[key])
                return
        yield document


def load_directory(path: Path) -> list[FaqEntry]:
    """Every entry under `path` (recursively), in file order; later files override earlier ids."""
    entries: dict[str, FaqEntry] = {}
    if not path.is_dir():
        return []
    for file in sorted(path.rglob("*")):
        if file.suffix not in (".yaml", ".yml", ".json", ".jsonl") or not file.is_file():
            continue
        for document in _documents(file):
            for raw in _raw_entries(document):
                entry = parse_entry(raw)
                if entry is not None:
                    entries[entry.id] = entry
    return list(entries.values())


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Dice coefficient of two term sets: 1 for the same question phrased with the same terms."""
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


class KnowledgeCopy:
    """The entries the evaluator knows, by id; each entry's terms are computed once."""

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
            for phrasing in (text.question, *text.alternatives):
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
    """The evaluator's knowledge-base copy: the default files plus every entry learned here."""

    def __init__(self, state: Callable[[], KeyValueStore], base: list[FaqEntry]) -> None:
        self._state = state
        self._base = base
        self._observed: dict[str, FaqEntry] = {}
        self._removed: set[str] = set()
        self.copy = KnowledgeCopy(base)

    async def refresh(self) -> None:
        stored = await self._state().get(LEARNED_KEY)
        learned = orjson.loads(stored.value) if stored else []
        entries = [e for raw in learned if (e := parse_entry(raw)) is not None]
        copy = KnowledgeCopy(self._base)
        copy.upsert(entries)
        copy.upsert(self._observed.values())
        copy.remove(self._removed)
        self.copy = copy

    def observe(self, update: KbUpdated) -> None:
        """Follow a knowledge-base change published by anyone (this replica's memory only: the live
        copy of `kb.updated` reaches every replica, and the stream replays recent ones at start)."""
        entries = [e for raw in update.entries if (e := parse_entry(raw)) is not None]
        for entry in entries:
            self._observed[entry.id] = entry
            self._removed.discard(entry.id)
        for ident in update.removed:
            self._observed.pop(ident, None)
            self._removed.add(ident)
        self.copy.upsert(entries)
        self.copy.remove(update.removed)

    async def learned(self) -> list[dict[str, Any]]:
        stored = await self._state().get(LEARNED_KEY)
        return list(orjson.loads(stored.value)) if stored else []

    async def learn(self, raw: dict[str, Any]) -> None:
        store = self._state()
        for _ in range(16):
            stored = await store.get(LEARNED_KEY)
            entries: list[dict[str, Any]] = orjson.loads(stored.value) if stored else []
            entries = [e for e in entries if e.get("id") != raw["id"]] + [raw]
            try:
                if stored is None:
                    if not await store.create(LEARNED_KEY, orjson.dumps(entries)):
                        continue
                else:
                    await store.save(LEARNED_KEY, orjson.dumps(entries), etag=stored.etag)
            except ETagMismatch:
                continue
            entry = parse_entry(raw)
            if entry is not None:
                self.copy.upsert([entry])
            return
        raise ETagMismatch(f"{LEARNED_KEY} kept changing")
