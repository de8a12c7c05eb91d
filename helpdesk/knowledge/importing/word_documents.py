"""Word documents (DOCX), read by python-docx in reading order: headings (the built-in Heading styles,
Japanese Word's 見出し included, or a paragraph's outline level) give the section path, list
paragraphs (numbered or bulleted, by numbering or list style) become one list block, tables stay
whole with merged cells read once. The title is the Title-style paragraph, else the document's title
property, else its only level-1 heading. python-docx parses the package's XML with entity resolution
off; the zip itself was checked before (`archives.py`)."""

from __future__ import annotations

import io
import re
from typing import Any

from docx import Document
from docx.table import Table
from docx.text.paragraph import Paragraph

from helpdesk.knowledge.importing.limits import Deadline
from helpdesk.knowledge.importing.refusals import ImportRefused, RefusalKind
from helpdesk.knowledge.importing.structure import Block, BlockKind, Outline, ParsedDocument

_HEADING_STYLE = re.compile(r"^(?:heading|見出し)\s*(\d)$", re.IGNORECASE)
_LIST_STYLE = re.compile(r"^list(?: (bullet|number|continue))?(?: (\d))?$|^list paragraph$", re.IGNORECASE)


def read_word(data: bytes, deadline: Deadline) -> ParsedDocument:
    try:
        document = Document(io.BytesIO(data))
        content = list(document.iter_inner_content())
        core_title = (document.core_properties.title or "").strip()
    except Exception as exc:  # python-docx and lxml raise many kinds on a malformed package
        raise ImportRefused(RefusalKind.CORRUPT, "The document cannot be read as DOCX.") from exc
    reader = _WordReader(deadline)
    for element in content:
        if isinstance(element, Paragraph):
            reader.paragraph(element)
        elif isinstance(element, Table):
            reader.table(element)
    reader.end_list()
    headings = reader.level_one
    title = reader.title or core_title or (headings[0] if len(headings) == 1 else None)
    blocks = reader.blocks
    if title is not None and reader.title is None and headings == [title]:
        blocks = [Block(b.section[1:], b.kind, b.parts) if b.section[:1] == (title,) else b for b in blocks]
    return ParsedDocument(title=title, blocks=blocks)


class _WordReader:
    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self.outline = Outline()
        self.blocks: list[Block] = []
        self.title: str | None = None
        self.level_one: list[str] = []
        self._items: list[str] = []
        self._numbers: dict[int, int] = {}

    def paragraph(self, paragraph: Paragraph) -> None:
        self.deadline.check()
        text = " ".join(paragraph.text.split())
        style = paragraph.style.name if paragraph.style is not None else ""
        level = _heading_level(paragraph, style or "")
        if level is not None or (style or "").lower() == "title":
            self.end_list()
            if level is None:
                self.title = self.title or text or None
            elif text:
                if level == 1:
                    self.level_one.append(text)
                self.outline.enter(level, text)
            return
        depth = _list_depth(paragraph, style or "")
        if depth is None:
            self.end_list()
            self._add(BlockKind.PARAGRAPH, (text,))
            return
        if not text:
            return
        if "number" in (style or "").lower():
            self._numbers = {d: n for d, n in self._numbers.items() if d <= depth}
            self._numbers[depth] = self._numbers.get(depth, 0) + 1
            marker = f"{self._numbers[depth]}."
        else:
            marker = "-"
        self._items.append(f"{'  ' * depth}{marker} {text}")

    def table(self, table: Table) -> None:
        self.deadline.check()
        self.end_list()
        rows: list[str] = []
        for row in table.rows:
            cells: list[str] = []
            previous: Any = None
            for cell in row.cells:
                if cell._tc is previous:
                    continue
                previous = cell._tc
                cells.append(" ".join(cell.text.split()))
            if any(cells):
                rows.append(" | ".join(cells))
        self._add(BlockKind.TABLE, tuple(rows))

    def end_list(self) -> None:
        if self._items:
            self._add(BlockKind.LIST, tuple(self._items))
        self._items = []
        self._numbers = {}

    def _add(self, kind: BlockKind, parts: tuple[str, ...]) -> None:
        kept = tuple(part for part in parts if part.strip())
        if kept:
            self.blocks.append(Block(section=self.outline.section, kind=kind, parts=kept))


def _heading_level(paragraph: Paragraph, style: str) -> int | None:
    match = _HEADING_STYLE.match(style.strip())
    if match:
        return int(match.group(1))
    for properties in (paragraph._p.pPr, _style_properties(paragraph)):
        outline = getattr(properties, "outlineLvl", None) if properties is not None else None
        if outline is not None and outline.val is not None and int(outline.val) < 9:
            return int(outline.val) + 1
    return None


def _list_depth(paragraph: Paragraph, style: str) -> int | None:
    """The list level of a list paragraph (0 outermost), None for a paragraph outside a list."""
    numbering: Any = paragraph._p.pPr.numPr if paragraph._p.pPr is not None else None
    if numbering is not None and numbering.numId is not None and numbering.numId.val != 0:
        return int(numbering.ilvl.val) if numbering.ilvl is not None else 0
    match = _LIST_STYLE.match(style.strip())
    if match:
        return int(match.group(2)) - 1 if match.group(2) else 0
    return None


def _style_properties(paragraph: Paragraph) -> Any:
    style = paragraph.style
    return style.element.pPr if style is not None else None
