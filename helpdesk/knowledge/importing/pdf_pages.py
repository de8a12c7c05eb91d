"""PDF documents, read by pypdf: the text of each page with the position and size of every line.

pypdf hands each piece of text to a visitor with its text matrix and font size, which is enough to
see structure without a layout engine: a line set larger than the body text is a heading (sizes
ranked into levels), a gap wider than the line spacing ends a paragraph, lines starting with a bullet
or a number are list items. Where the PDF has an outline (bookmarks), its entries are the headings
instead, matched to their lines on their pages. Lines that are only a page number are dropped.

Refused: bytes pypdf cannot parse (corrupt), a PDF that needs a password to open (encrypted; one
with only an owner password opens without one and is read), more pages than the limit, and a PDF with
no text at all (scanned images: OCR it first). A page without text in a PDF that has some is skipped
and reported. pypdf's own limits on stream decompression stop a compressed-stream bomb.
"""

from __future__ import annotations

import io
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError, PyPdfError

from helpdesk.knowledge.importing.imported import SkippedPart
from helpdesk.knowledge.importing.limits import Deadline, ImportLimits
from helpdesk.knowledge.importing.refusals import ImportRefused, RefusalKind
from helpdesk.knowledge.importing.structure import Block, BlockKind, Outline, ParsedDocument, join_lines
from helpdesk.text.normalise import normalise

HEADING_SIZE_RATIO = 1.15
"""A line at least this much larger than the body text is a heading."""
MAX_HEADING_CHARS = 120
MAX_HEADING_LEVELS = 4
PARAGRAPH_GAP_RATIO = 1.3
"""A gap this much wider than the line spacing (the narrow end of the gaps between body lines, so a
few paragraph gaps do not pass for it) ends a paragraph."""
LINE_SPACING_QUANTILE = 0.25
SAME_LINE_POINTS = 2.0

_PAGE_NUMBER = re.compile(
    r"^(?:[-–—]?\s*\d{1,4}\s*[-–—]?|(?:page|p\.)\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?|\d{1,4}\s*/\s*\d{1,4}"
    r"|\d{1,4}\s*ページ|[(（]?\d{1,4}[)）]?)$",
    re.IGNORECASE,
)
_LIST_ITEM = re.compile(
    r"^(?:[-*•・●■◆▪‣○◦]|\d{1,3}[.)．）]|[(（]\d{1,3}[)）]|[a-z][.)])\s*\S", re.IGNORECASE
)
_PRODUCER_PREFIX = re.compile(r"^microsoft (word|powerpoint|excel)\s*-\s*", re.IGNORECASE)


@dataclass(slots=True)
class _Line:
    page: int
    y: float
    size: float
    text: str
    heading: int | None = None


@dataclass(slots=True)
class _Page:
    number: int
    lines: list[_Line] = field(default_factory=list)


def read_pdf(data: bytes, limits: ImportLimits, deadline: Deadline) -> ParsedDocument:
    reader = _open(data)
    try:
        count = len(reader.pages)
    except LimitReachedError as exc:
        raise ImportRefused(RefusalKind.DECOMPRESSION_BOMB, "The PDF expands beyond pypdf's limits.") from exc
    except Exception as exc:  # a broken page tree shows only when the pages are counted
        raise ImportRefused(RefusalKind.CORRUPT, "The PDF's pages cannot be read.") from exc
    if count > limits.max_pages:
        raise ImportRefused(RefusalKind.TOO_LARGE, f"The PDF has {count} pages (at most {limits.max_pages}).")
    document = ParsedDocument()
    pages = [_read_page(reader, index, deadline, document.skipped) for index in range(count)]
    if not any(page.lines for page in pages):
        raise ImportRefused(
            RefusalKind.NO_TEXT,
            "The PDF has no text layer (scanned images?); run it through OCR and import the result.",
        )
    outline = _outline(reader)
    if outline:
        _mark_outline_headings(pages, outline)
    else:
        _mark_sized_headings(pages)
    document.title = _title(reader, pages, outline)
    document.blocks = _blocks(pages, document.title, deadline)
    return document


def _open(data: bytes) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and reader.decrypt("") is PasswordType.NOT_DECRYPTED:
            raise ImportRefused(RefusalKind.ENCRYPTED, "The PDF is protected by a password.")
    except ImportRefused:
        raise
    except LimitReachedError as exc:
        raise ImportRefused(RefusalKind.DECOMPRESSION_BOMB, "The PDF expands beyond pypdf's limits.") from exc
    except (FileNotDecryptedError, DependencyError) as exc:
        raise ImportRefused(
            RefusalKind.ENCRYPTED, "The PDF is encrypted in a way that cannot be opened."
        ) from exc
    except PyPdfError as exc:
        raise ImportRefused(RefusalKind.CORRUPT, "The file cannot be read as a PDF.") from exc
    except Exception as exc:  # pypdf raises plain ValueError, KeyError, ... on some malformed files
        raise ImportRefused(RefusalKind.CORRUPT, "The file cannot be read as a PDF.") from exc
    return reader


def _read_page(reader: PdfReader, index: int, deadline: Deadline, skipped: list[SkippedPart]) -> _Page:
    deadline.check()
    page = _Page(number=index + 1)

    def visit(text: str, cm: list[float], tm: list[float], _font: Any, size: float) -> None:
        for piece in text.split("\n"):
            if piece.strip():
                _place(page, piece, cm, tm, size)

    try:
        reader.pages[index].extract_text(visitor_text=visit)
    except LimitReachedError as exc:
        raise ImportRefused(RefusalKind.DECOMPRESSION_BOMB, "The PDF expands beyond pypdf's limits.") from exc
    except Exception:  # one unreadable page does not stop the others
        skipped.append(SkippedPart(part=f"page {page.number}", reason="its content cannot be read"))
        return page
    page.lines = [line for line in page.lines if not _PAGE_NUMBER.match(line.text.strip())]
    if not page.lines:
        skipped.append(SkippedPart(part=f"page {page.number}", reason="no text (a scanned image?)"))
    return page


def _place(page: _Page, text: str, cm: list[float], tm: list[float], size: float) -> None:
    """Add a piece of text to its line: the same baseline continues the line, another starts one."""
    scale = math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3])
    y = tm[5] * cm[3] + cm[5]
    effective = round(size * (scale or 1.0), 1)
    last = page.lines[-1] if page.lines else None
    if last is not None and abs(last.y - y) <= SAME_LINE_POINTS:
        last.text += text
        last.size = max(last.size, effective)
    else:
        page.lines.append(_Line(page=page.number, y=y, size=effective, text=text))


def _outline(reader: PdfReader) -> list[tuple[int, int, str]]:
    """The bookmarks as (page index, level, title) in order; none when the PDF has none or they are
    unreadable."""
    entries: list[tuple[int, int, str]] = []

    def walk(items: list[Any], level: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
                continue
            page = reader.get_destination_page_number(item)
            title = " ".join(str(getattr(item, "title", "") or "").split())
            if title and page is not None and page >= 0:
                entries.append((page, level, title))

    try:
        walk(list(reader.outline), 1)
    except Exception:  # a broken outline costs the headings, not the text
        return []
    return entries


def _mark_outline_headings(pages: list[_Page], outline: list[tuple[int, int, str]]) -> None:
    for index, level, title in outline:
        if index >= len(pages):
            continue
        wanted = normalise(title)
        for line in pages[index].lines:
            if line.heading is None and normalise(line.text) == wanted:
                line.heading = level
                break
        else:
            top = pages[index].lines[0].y + 1 if pages[index].lines else 0.0
            pages[index].lines.insert(0, _Line(page=index + 1, y=top, size=0.0, text=title, heading=level))


def _body_size(pages: list[_Page]) -> float:
    weight: Counter[float] = Counter()
    for page in pages:
        for line in page.lines:
            weight[line.size] += len(line.text)
    return weight.most_common(1)[0][0] if weight else 0.0


def _mark_sized_headings(pages: list[_Page]) -> None:
    body = _body_size(pages)
    candidates = [
        line
        for page in pages
        for line in page.lines
        if line.size >= body * HEADING_SIZE_RATIO and len(line.text.strip()) <= MAX_HEADING_CHARS
    ]
    sizes = sorted({line.size for line in candidates}, reverse=True)[:MAX_HEADING_LEVELS]
    for line in candidates:
        if line.size in sizes:
            line.heading = sizes.index(line.size) + 1


def _title(reader: PdfReader, pages: list[_Page], outline: list[tuple[int, int, str]]) -> str | None:
    try:
        metadata = reader.metadata
        title = str(metadata.title or "") if metadata is not None else ""
    except Exception:  # unreadable metadata: fall back to the content
        title = ""
    title = _PRODUCER_PREFIX.sub("", " ".join(title.split()))
    if title:
        return title
    tops = [line for page in pages for line in page.lines if line.heading == 1]
    return tops[0].text.strip() if len(tops) == 1 else None


def _blocks(pages: list[_Page], title: str | None, deadline: Deadline) -> list[Block]:
    lines = [line for page in pages for line in page.lines]
    tops = [line for line in lines if line.heading == 1]
    page_heading = (
        tops[0] if len(tops) == 1 and title and normalise(tops[0].text) == normalise(title) else None
    )
    outline = Outline()
    builder = _BlockBuilder()
    spacing = _line_spacing(pages)
    for page in pages:
        deadline.check()
        previous: _Line | None = None
        for line in page.lines:
            if line.heading is not None:
                builder.flush()
                if line is not page_heading:
                    outline.enter(line.heading, line.text)
                previous = None
                continue
            gap = previous.y - line.y if previous is not None else None
            new_paragraph = gap is None or gap <= 0 or gap > spacing * PARAGRAPH_GAP_RATIO
            if previous is not None and previous.size != line.size:
                new_paragraph = True
            builder.line(line, outline.section, new_paragraph=new_paragraph)
            previous = line
        builder.flush()
    return builder.blocks


def _line_spacing(pages: list[_Page]) -> float:
    gaps = sorted(
        a.y - b.y
        for page in pages
        for a, b in zip(page.lines, page.lines[1:], strict=False)
        if a.heading is None and b.heading is None and a.size == b.size and a.y > b.y
    )
    return gaps[int(len(gaps) * LINE_SPACING_QUANTILE)] if gaps else math.inf


class _BlockBuilder:
    """Lines into paragraphs and lists: a list item starts at its marker and takes the lines that
    continue it; a paragraph ends at a gap, a size change, a heading or a page's end."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self._lines: list[str] = []
        self._items: list[list[str]] = []
        self._section: tuple[str, ...] = ()
        self._page: int | None = None

    def line(self, line: _Line, section: tuple[str, ...], *, new_paragraph: bool) -> None:
        text = line.text.strip()
        is_item = bool(_LIST_ITEM.match(text))
        if section != self._section or (new_paragraph and not (is_item and self._items)):
            self.flush()
        if self._page is None:
            self._page, self._section = line.page, section
        if is_item:
            if self._lines:
                self._flush_paragraph()
            self._items.append([text])
        elif self._items and not new_paragraph:
            self._items[-1].append(text)
        else:
            if self._items:
                self._flush_list()
            self._lines.append(text)

    def flush(self) -> None:
        self._flush_paragraph()
        self._flush_list()
        self._page = None

    def _flush_paragraph(self) -> None:
        if self._lines:
            self.blocks.append(
                Block(self._section, BlockKind.PARAGRAPH, (join_lines(self._lines),), self._page)
            )
        self._lines = []

    def _flush_list(self) -> None:
        if self._items:
            items = tuple(join_lines(item) for item in self._items)
            self.blocks.append(Block(self._section, BlockKind.LIST, items, self._page))
        self._items = []
