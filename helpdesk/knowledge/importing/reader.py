"""`read_source`: one file's bytes in, its FAQ entries or passages out, or one refusal.

The order is the safety: the size before anything else, the format by name and magic bytes, a zip's
declared sizes before a parser opens it, then the format's reader under the time limit, and the
passages last (ids, language, planted-instruction flags). Nothing here touches the network, the file
system or the environment, so the same call serves the import service and the tests.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable

from helpdesk.knowledge.entries import FaqEntry, document_id
from helpdesk.knowledge.importing.archives import check_archive
from helpdesk.knowledge.importing.csv_sheets import csv_rows
from helpdesk.knowledge.importing.encodings import UNREADABLE, decode_text
from helpdesk.knowledge.importing.faq_sheets import SheetRow, SheetSite, entries_of_sheet, rows_counted
from helpdesk.knowledge.importing.html_pages import read_html
from helpdesk.knowledge.importing.imported import ImportedSource, ImportOptions, SkippedPart
from helpdesk.knowledge.importing.limits import Deadline, ImportLimits
from helpdesk.knowledge.importing.markdown_text import read_markdown
from helpdesk.knowledge.importing.media import ZIP_FORMATS, MediaType, media_type_of
from helpdesk.knowledge.importing.passages import PassageSite, cut_passages, document_language
from helpdesk.knowledge.importing.pdf_pages import read_pdf
from helpdesk.knowledge.importing.plain_text import read_plain_text
from helpdesk.knowledge.importing.refusals import ImportRefused, RefusalKind
from helpdesk.knowledge.importing.structure import ParsedDocument, fallback_title
from helpdesk.knowledge.importing.word_documents import read_word
from helpdesk.text.language import Language

MAX_TITLE_CHARS = 300
MAX_LINK_CHARS = 2000
NO_HEADER = "no question and answer columns"

_TextReader = Callable[[str, Deadline], ParsedDocument]
_TEXT_READERS: dict[MediaType, _TextReader] = {
    MediaType.MARKDOWN: read_markdown,
    MediaType.TEXT: read_plain_text,
}
_BinaryReader = Callable[[bytes, ImportLimits, Deadline], ParsedDocument]
_BINARY_READERS: dict[MediaType, _BinaryReader] = {
    MediaType.HTML: lambda data, _limits, deadline: read_html(data, deadline),
    MediaType.DOCX: lambda data, _limits, deadline: read_word(data, deadline),
    MediaType.PDF: read_pdf,
}
_SHEETS = (MediaType.CSV, MediaType.TSV, MediaType.XLSX)


def read_source(
    name: str,
    data: bytes,
    limits: ImportLimits = ImportLimits(),  # noqa: B008 - immutable
    options: ImportOptions | None = None,
) -> ImportedSource:
    """The file `name` (its import name: a file name or URL, which also gives its document id) read
    into FAQ entries (CSV, TSV, XLSX) or passages (PDF, DOCX, HTML, Markdown, plain text).

    Raises `ImportRefused` for a file that is not imported at all; parts left out of an imported file
    are in `skipped`.
    """
    options = options or ImportOptions()
    if len(data) > limits.max_bytes:
        raise ImportRefused(
            RefusalKind.TOO_LARGE, f"The file is larger than {limits.max_bytes} bytes ({len(data)} bytes)."
        )
    if not data.strip():
        raise ImportRefused(RefusalKind.NO_TEXT, "The file is empty.")
    deadline = Deadline(limits.max_seconds)
    media = media_type_of(name, data)
    if media in ZIP_FORMATS:
        check_archive(data, media, limits)
    source = _Source(name=name, data=data, media=media, limits=limits, options=options, deadline=deadline)
    if media in _SHEETS:
        return source.sheet()
    return source.document()


class _Source:
    def __init__(
        self,
        *,
        name: str,
        data: bytes,
        media: MediaType,
        limits: ImportLimits,
        options: ImportOptions,
        deadline: Deadline,
    ) -> None:
        self.name = name
        self.data = data
        self.media = media
        self.limits = limits
        self.options = options
        self.deadline = deadline
        self.document_id = document_id(name)

    def _title(self, found: str | None) -> str:
        """The options' title, else the one the file names, else its file name; one line, bounded."""
        for candidate in (self.options.title, found, fallback_title(self.name)):
            title = " ".join((candidate or "").split())[:MAX_TITLE_CHARS].strip()
            if title:
                return title
        return "Untitled"

    def _imported(self, title: str | None, language: Language, **content: object) -> ImportedSource:
        return ImportedSource.model_validate(
            {
                "name": self.name,
                "document_id": self.document_id,
                "title": self._title(title),
                "media_type": self.media.value,
                "sha256": hashlib.sha256(self.data).hexdigest(),
                "language": language,
                **content,
            }
        )

    def sheet(self) -> ImportedSource:
        skipped: list[SkippedPart] = []
        site = SheetSite(name=self.name, document_id=self.document_id, columns=self.options.columns)
        if self.media is MediaType.XLSX:
            from helpdesk.knowledge.importing.excel_sheets import workbook_sheets

            sheets = workbook_sheets(self.data, self.limits, self.deadline)
        else:
            decoded = decode_text(self.data)
            delimiter = "\t" if self.media is MediaType.TSV else None
            read_rows = csv_rows(decoded, delimiter=delimiter, deadline=self.deadline)
            sheets = [("", rows_counted(read_rows, self.limits))]
        entries: list[FaqEntry] = []
        headed = False
        for sheet_name, rows in sheets:
            read = entries_of_sheet(rows, site, limits=self.limits, deadline=self.deadline)
            if read is None:
                if sheet_name:
                    skipped.append(SkippedPart(part=f"sheet '{sheet_name}'", reason=NO_HEADER))
                continue
            headed = True
            entries.extend(read[0])
            skipped.extend(read[1])
        if not entries:
            raise ImportRefused(RefusalKind.BAD_SHEET, _no_entries(headed, sheets))
        return self._imported(None, _entries_language(entries), faq_entries=entries, skipped=skipped)

    def document(self) -> ImportedSource:
        parsed = self._parsed()
        if not parsed.blocks:
            raise ImportRefused(RefusalKind.NO_TEXT, "No text was found in the document.")
        title = self._title(parsed.title)
        site = PassageSite(
            source=self.name,
            document_id=self.document_id,
            title=title,
            link=(self.options.url or self.name)[:MAX_LINK_CHARS],
        )
        passages = cut_passages(
            parsed.blocks,
            site,
            passage_chars=self.options.passage_chars,
            limits=self.limits,
            deadline=self.deadline,
        )
        return self._imported(
            title, document_language(parsed.blocks), passages=passages, skipped=parsed.skipped
        )

    def _parsed(self) -> ParsedDocument:
        reader = _TEXT_READERS.get(self.media)
        if reader is not None:
            decoded = decode_text(self.data)
            lines = decoded.text.split("\n")
            parsed = reader("\n".join("" if line == UNREADABLE else line for line in lines), self.deadline)
            parsed.skipped[:0] = [
                SkippedPart(part=f"line {number}", reason=f"not in the file's encoding ({decoded.encoding})")
                for number in decoded.unreadable_lines
            ]
            return parsed
        return _BINARY_READERS[self.media](self.data, self.limits, self.deadline)


def _entries_language(entries: list[FaqEntry]) -> Language:
    counted = Counter(language for entry in entries for language, _ in entry.versions())
    return counted.most_common(1)[0][0] if counted else Language.EN


def _no_entries(headed: bool, sheets: list[tuple[str, list[SheetRow]]]) -> str:
    if not any(rows for _, rows in sheets):
        return "The sheet has no rows."
    if not headed:
        return (
            "No header row names a question and an answer column (e.g. Question/Answer, 質問/回答) "
            "in the first rows; name them with the import's column options."
        )
    return "No row has both a question and an answer."
