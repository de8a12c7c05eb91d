"""The knowledge base's items as data: FAQ entries in English and Japanese.

Everything that reaches a knowledge base (the default files, the evaluator's approved candidates, an
operator's file, the entries a `kb.updated` carries) is validated by these models, so dialogue, the
evaluator and the operator tools agree on what an entry is. An entry is one answer to one need, written
in one or both languages. The flat single-language form used by benchmarks and quick imports
(`question`, `answer`, `alternatives`, `lang`) is accepted and turned into it.

`KnowledgeItem` is what every kind of item shares (a citable id, when it changed, where it came from, a
digest of its content). Two kinds exist: FAQ entries, and passages of imported documents (a manual's
section, a guide's list item, a table), which keep their document's title, section path and page so an
answer can cite exactly where it came from.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from helpdesk.text.language import Language, detect_language

ENTRY_LANGUAGES = (Language.EN, Language.JA)
ITEM_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:~-]{0,127}$"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class InvalidKnowledge(ValueError):
    """An entry (in a file or an event) that does not have the knowledge base's shape."""


class KnowledgeKind(StrEnum):
    FAQ = "faq"
    PASSAGE = "passage"


class KnowledgeItem(BaseModel):
    """What every item of the knowledge base has, whatever its kind.

    `id` is what answers cite, so it is stable across edits; `updated_at` orders two versions of the
    same item (the later one wins wherever they meet); `digest` identifies the content itself. Optional
    fields left empty are not written out, so an item's JSON has only what it says.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: ClassVar[KnowledgeKind]

    id: str = Field(pattern=ITEM_ID_PATTERN)
    updated_at: datetime = Field(default_factory=_utcnow)
    source: str | None = None
    """Where the item came from when it was not written in a knowledge file (`handoff`: an approved
    candidate)."""

    @model_serializer(mode="wrap")
    def _without_empty_optionals(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data

    @property
    def digest(self) -> str:
        """SHA-256 of the content (everything but `updated_at`) as canonical JSON: the same on every
        replica and every run for the same content, different for any change a reader would see."""
        content = self.model_dump(mode="json", exclude={"updated_at"})
        canonical = json.dumps(
            {"kind": self.kind.value, **content}, sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


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


class FaqEntry(KnowledgeItem):
    kind: ClassVar[KnowledgeKind] = KnowledgeKind.FAQ

    category: str = "general"
    tags: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()
    """The nlp intents this entry answers: a soft signal that lifts it when the intent agrees."""
    owner: str = "helpdesk"
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

    @property
    def texts(self) -> dict[Language, FaqText]:
        """The versions there are, by their language (no fallback: `OTHER` is never a key)."""
        return dict(self.versions())

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
    """The entry `raw` describes; `InvalidKnowledge` naming its id and the fields at fault otherwise."""
    try:
        return FaqEntry.model_validate(raw)
    except ValidationError as exc:
        ident = raw.get("id") if isinstance(raw, dict) else None
        fields = sorted({".".join(str(p) for p in error["loc"]) for error in exc.errors()})
        raise InvalidKnowledge(f"entry {ident!r} is invalid: {', '.join(fields) or 'shape'}") from None


@dataclass(frozen=True, slots=True)
class RejectedEntry:
    """An entry that failed validation, kept only to be reported: its id when it had one, and why."""

    id: str | None
    reason: str


def sort_entries(raws: Iterable[Any]) -> tuple[list[FaqEntry], list[RejectedEntry]]:
    """Each entry validated on its own: the valid ones (already-built entries pass through), and the
    rejected ones, so that a reader may follow the valid rest instead of refusing them all."""
    valid: list[FaqEntry] = []
    rejected: list[RejectedEntry] = []
    for raw in raws:
        if isinstance(raw, FaqEntry):
            valid.append(raw)
            continue
        try:
            valid.append(parse_entry(raw))
        except InvalidKnowledge as exc:
            ident = raw.get("id") if isinstance(raw, dict) else None
            rejected.append(RejectedEntry(str(ident) if ident is not None else None, str(exc)))
    return valid, rejected


MAX_PASSAGE_CHARS = 4000
DOCUMENT_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"


class Passage(KnowledgeItem):
    """One passage of an imported document: a section's text, a list item, a table kept whole.

    Its id is derived from its document and its content (`passage_id`), so re-importing an unchanged
    document yields the same ids and changes nothing, and a changed document replaces only the passages
    whose text changed. `flagged` marks a passage whose text reads like an instruction to the assistant
    ("ignore your rules and ..."): it is kept for the operator to see, and never used in an answer.
    """

    kind: ClassVar[KnowledgeKind] = KnowledgeKind.PASSAGE

    document_id: str = Field(pattern=DOCUMENT_ID_PATTERN)
    title: str = Field(min_length=1, max_length=300)
    """The document's title, shown with every citation."""
    section: tuple[str, ...] = ()
    """The headings above the passage, outermost first."""
    page: int | None = Field(default=None, ge=1)
    """The page the passage starts on, for paged formats (PDF)."""
    text: str = Field(min_length=1, max_length=MAX_PASSAGE_CHARS)
    language: Language = Language.EN
    link: str | None = Field(default=None, max_length=2000)
    """Where a reader finds the document: its URL, or the name it was imported under."""
    flagged: bool = False

    @property
    def citation(self) -> str:
        """How the passage is named to a reader: title, section path and page."""
        parts = [self.title, *self.section]
        where = " › ".join(dict.fromkeys(part for part in parts if part))
        return f"{where} (p. {self.page})" if self.page is not None else where


def document_id(name: str) -> str:
    """A document's id from the name it is imported under (its file name or URL): readable, stable
    across re-imports of the same name, and distinct for names that slug to the same text."""
    stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
    slug = "".join(c if c.isascii() and c.isalnum() else "-" for c in stem).strip("-")
    slug = "-".join(part for part in slug.split("-") if part)[:40] or "doc"
    return f"{slug}-{hashlib.sha256(name.encode()).hexdigest()[:10]}"


def passage_id(document: str, section: Iterable[str], text: str, occurrence: int = 0) -> str:
    """A passage's id from its document, its section path and its text (whitespace-collapsed); the
    `occurrence` tells apart identical passages under the same headings of one document."""
    content = "\x1f".join([*section, " ".join(text.split()), str(occurrence)])
    return f"{document}~{hashlib.sha256(content.encode()).hexdigest()[:16]}"
