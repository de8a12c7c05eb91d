"""What an import yields: the file's FAQ entries or passages, and what was left out and why."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, computed_field

from helpdesk.knowledge.entries import MAX_PASSAGE_CHARS, FaqEntry, Passage
from helpdesk.text.language import Language


class SkippedPart(BaseModel):
    """A part of a file that was not imported while the rest was: a row without an answer, a page
    without text. `part` says where ("row 7", "page 3", "sheet 'Old' row 2"), `reason` why."""

    model_config = ConfigDict(frozen=True)

    part: str
    reason: str


class SheetColumns(BaseModel):
    """The header names of a FAQ sheet's columns, for sheets whose headers the importer does not know
    (it knows Question/質問/問い, Answer/回答/答え, Alternatives/言い換え/別の聞き方, Category/カテゴリ, ID,
    Language/言語, Tags/タグ). Each name is compared like the known ones (case, width and spaces ignored)."""

    model_config = ConfigDict(frozen=True)

    question: str | None = None
    answer: str | None = None
    alternatives: str | None = None
    category: str | None = None
    id: str | None = None
    language: str | None = None
    tags: str | None = None


class ImportOptions(BaseModel):
    """How to read one file, where its name and content do not say."""

    model_config = ConfigDict(frozen=True)

    url: str | None = Field(default=None, max_length=2000)
    """Where readers find the document (an HTML page's address); the import name otherwise."""
    title: str | None = Field(default=None, min_length=1, max_length=300)
    """The document's title when its own (metadata, first heading) should not be used."""
    columns: SheetColumns = SheetColumns()
    passage_chars: int = Field(default=1200, ge=200, le=MAX_PASSAGE_CHARS)
    """The size passages are packed up to; a list or table up to `MAX_PASSAGE_CHARS` stays whole."""


class ImportedSource(BaseModel):
    """One file read: a FAQ sheet's entries or a document's passages (never both), with the file's
    identity (import name, document id, sha256 of the bytes) and the parts left out."""

    model_config = ConfigDict(frozen=True)

    name: str
    document_id: str
    title: str
    media_type: str
    sha256: str
    language: Language
    faq_entries: tuple[FaqEntry, ...] = ()
    passages: tuple[Passage, ...] = ()
    skipped: tuple[SkippedPart, ...] = ()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def flagged(self) -> int:
        """Passages that read like an instruction to the assistant: stored, shown, never answered from."""
        return sum(1 for passage in self.passages if passage.flagged)
