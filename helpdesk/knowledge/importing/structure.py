"""A document as the format readers hand it over: its title and its blocks in reading order, each under
the headings above it. Passages are cut from blocks (`passages.py`), never across a list or a table."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from helpdesk.knowledge.importing.imported import SkippedPart


class BlockKind(StrEnum):
    PARAGRAPH = "paragraph"
    LIST = "list"
    """Items kept together; split between items only when the list is longer than a passage may be."""
    TABLE = "table"
    """Rows kept together; split between rows (the header row repeated) only when too long."""
    CODE = "code"


@dataclass(frozen=True, slots=True)
class Block:
    section: tuple[str, ...]
    """The headings above the block, outermost first."""
    kind: BlockKind
    parts: tuple[str, ...]
    """A paragraph's one text; a list's items; a table's rows (the first the header, when it has one)."""
    page: int | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.parts)


@dataclass(slots=True)
class ParsedDocument:
    title: str | None = None
    blocks: list[Block] = field(default_factory=list)
    skipped: list[SkippedPart] = field(default_factory=list)


class Outline:
    """The heading path as a reader walks a document: a level-n heading replaces level n and below."""

    def __init__(self) -> None:
        self._levels: list[tuple[int, str]] = []

    def enter(self, level: int, heading: str) -> None:
        heading = " ".join(heading.split())
        if not heading:
            return
        self._levels = [(lvl, text) for lvl, text in self._levels if lvl < level]
        self._levels.append((level, heading))

    @property
    def section(self) -> tuple[str, ...]:
        return tuple(text for _, text in self._levels)


_WIDE = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


def join_lines(lines: Iterable[str]) -> str:
    """Lines wrapped by a layout put back into one text: Japanese lines join without a space (a space
    inside Japanese text is a stray), others with one."""
    text = ""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if text and not (_WIDE.match(text[-1]) and _WIDE.match(line[0])):
            text += " "
        text += line
    return text


def fallback_title(name: str) -> str:
    """A document's title when it names none: its file name without folders and extension."""
    base = name.rsplit("/", 1)[-1].split("?", 1)[0]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return " ".join(stem.replace("_", " ").split()) or "Untitled"
