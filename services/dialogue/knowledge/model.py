"""The knowledge base as data: FAQ entries in English and Japanese, and how a `kb.updated` changes it.

An entry is one answer to one need, written in one or both languages. Everything that reaches the
knowledge base (the default files, the evaluator's approved candidates, an operator's file) has this
shape, so the same validation guards all of them. The flat single-language form used by benchmarks
and quick imports (`question`, `answer`, `alternatives`, `lang`) is accepted and turned into it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from helpdesk.events import KbUpdated, Language, utcnow
from helpdesk.text import detect_language

ENTRY_LANGUAGES = (Language.EN, Language.JA)
ENTRY_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:~-]{0,127}$"


class InvalidKnowledge(ValueError):
    """An entry (in a file or an event) that does not have the knowledge base's shape."""


class FaqText(BaseModel):
    """One language's version of an entry."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    question: str = Field(min_length=1, max_length=1000)
    alternatives: tuple[str, ...] = ()
    """Other ways people ask the same thing; each is matched like the question itself."""
    answer: str = Field(min_length=1, max_length=20_000)

    @field_validator("alternatives", mode="before")
    @classmethod
    def _drop_blank(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list | tuple):
            return tuple(v.strip() for v in value if isinstance(v, str) and v.strip())
        return value

    @property
    def phrasings(self) -> tuple[str, ...]:
        return (self.question, *self.alternatives)


class FaqEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(pattern=ENTRY_ID_PATTERN)
    category: str = "general"
    tags: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()
    """The nlp intents this entry answers: a soft signal that lifts it when the intent agrees."""
    owner: str = "helpdesk"
    updated_at: datetime = Field(default_factory=utcnow)
    en: FaqText | None = None
    ja: FaqText | None = None

    @model_validator(mode="before")
    @classmethod
    def _flat_form(cls, data: Any) -> Any:
        """`{"id", "question", "answer", "alternatives", "lang"}` is one language's version (without
        `lang`, the question's language)."""
        if not isinstance(data, dict) or "question" not in data:
            return data
        data = dict(data)
        named = str(data.pop("lang", None) or data.pop("language", None) or "")[:2].lower()
        language = named if named in ("en", "ja") else None
        if language is None:
            detected = detect_language(str(data.get("question", "")))
            language = "ja" if detected is Language.JA else "en"
        data[language] = {
            "question": data.pop("question"),
            "answer": data.pop("answer", None),
            "alternatives": data.pop("alternatives", ()),
        }
        return data

    @model_validator(mode="after")
    def _has_text(self) -> FaqEntry:
        if self.en is None and self.ja is None:
            raise ValueError("an entry needs an English or a Japanese version")
        return self

    def versions(self) -> Iterator[tuple[Language, FaqText]]:
        for language in ENTRY_LANGUAGES:
            text = self.version(language)
            if text is not None:
                yield language, text

    def version(self, language: Language) -> FaqText | None:
        return self.ja if language is Language.JA else self.en

    def text(self, language: Language) -> FaqText:
        """The version in the user's language, or the one there is."""
        preferred = self.version(language)
        if preferred is not None:
            return preferred
        fallback = self.en or self.ja
        assert fallback is not None
        return fallback


def parse_entry(raw: Any) -> FaqEntry:
    try:
        return FaqEntry.model_validate(raw)
    except ValidationError as exc:
        ident = raw.get("id") if isinstance(raw, dict) else None
        fields = sorted({".".join(str(p) for p in error["loc"]) for error in exc.errors()})
        raise InvalidKnowledge(f"entry {ident!r} is invalid: {', '.join(fields) or 'shape'}") from None


class KnowledgeBase(BaseModel):
    """The whole knowledge base at one version: what dialogue keeps in its state store (one key,
    written with its etag) and what every replica indexes."""

    KEEP_UPDATES: ClassVar[int] = 1000

    kb_version: str
    entries: dict[str, FaqEntry] = Field(default_factory=dict)
    applied_updates: list[UUID] = Field(default_factory=list)
    """The last `KEEP_UPDATES` update ids, so that a redelivered `kb.updated` changes nothing."""
    seeded_from: str | None = None
    """The fingerprint of the default files this knowledge base was first seeded from."""

    @classmethod
    def seeded(cls, entries: Iterable[FaqEntry], fingerprint: str) -> KnowledgeBase:
        return cls(
            kb_version=f"seed-{fingerprint}",
            entries={e.id: e for e in entries},
            seeded_from=fingerprint,
        )

    def has_applied(self, update_id: UUID) -> bool:
        return update_id in self.applied_updates

    def applying(self, update: KbUpdated) -> KnowledgeBase | None:
        """This knowledge base with the update applied, or None when it was applied already.

        Entries come from the event itself (ids listed without their entry are ignored). An entry
        older than the one already held (by `updated_at`) is a late redelivery of an earlier change
        and is skipped, so replicas that see updates in different orders still converge.
        """
        if self.has_applied(update.update_id):
            return None
        incoming = [parse_entry(raw) for raw in update.entries]
        entries = {k: v for k, v in self.entries.items() if k not in set(update.removed)}
        for entry in incoming:
            held = entries.get(entry.id)
            if held is None or held.updated_at <= entry.updated_at:
                entries[entry.id] = entry
        return self.model_copy(
            update={
                "kb_version": update.kb_version,
                "entries": entries,
                "applied_updates": [*self.applied_updates, update.update_id][-self.KEEP_UPDATES :],
            }
        )

    def includes(self, other: KnowledgeBase) -> bool:
        """Whether this knowledge base has seen every update `other` has (so may replace it)."""
        return set(other.applied_updates) <= set(self.applied_updates)
