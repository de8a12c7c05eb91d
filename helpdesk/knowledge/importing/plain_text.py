"""Plain text: paragraphs between blank lines, wrapped lines joined; a paragraph of bulleted or
numbered lines is a list; a short first line standing alone is the title."""

from __future__ import annotations

import re

from helpdesk.knowledge.importing.limits import Deadline
from helpdesk.knowledge.importing.structure import Block, BlockKind, ParsedDocument, join_lines

MAX_TITLE_CHARS = 100
_BLANK_LINES = re.compile(r"\n\s*\n")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•・●■◆]|\d{1,3}[.)．）]|[(（]\d{1,3}[)）])\s*\S")


def read_plain_text(text: str, deadline: Deadline) -> ParsedDocument:
    document = ParsedDocument()
    paragraphs = [p for p in _BLANK_LINES.split(text.replace("\r\n", "\n").replace("\r", "\n")) if p.strip()]
    for index, paragraph in enumerate(paragraphs):
        deadline.check()
        lines = [line for line in paragraph.split("\n") if line.strip()]
        if (
            index == 0
            and len(lines) == 1
            and len(lines[0].strip()) <= MAX_TITLE_CHARS
            and len(paragraphs) > 1
        ):
            document.title = lines[0].strip()
        elif all(_LIST_ITEM.match(line) for line in lines):
            document.blocks.append(Block((), BlockKind.LIST, tuple(line.strip() for line in lines)))
        else:
            document.blocks.append(Block((), BlockKind.PARAGRAPH, (join_lines(lines),)))
    return document
