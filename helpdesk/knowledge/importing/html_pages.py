"""HTML pages, parsed by Beautiful Soup over lxml (which also finds the page's declared encoding).

What a reader does not see never becomes a passage: scripts, styles, templates, embedded objects,
forms, navigation, footers and asides are removed, and so is anything hidden (the `hidden` attribute,
`aria-hidden`, an inline `display:none` or `visibility:hidden`), the usual place for text planted for
a model to read. The main content (`<main>`, else `<body>`) is walked in order:
h1-h6 give the section path, lists and tables are kept whole, other text is grouped by its block
element. The title is the page's `<title>`, else its first `<h1>`.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Comment, Tag
from bs4.element import NavigableString

from helpdesk.knowledge.importing.limits import Deadline
from helpdesk.knowledge.importing.refusals import ImportRefused, RefusalKind
from helpdesk.knowledge.importing.structure import Block, BlockKind, Outline, ParsedDocument, join_lines

_UNSEEN = (
    "script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas", "form",
    "button", "select", "nav", "footer", "aside", "head",
)  # fmt: skip
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_LISTS = ("ul", "ol", "dl")
_BLOCKS = frozenset(
    {
        "p", "div", "section", "article", "main", "header", "blockquote", "figure", "figcaption",
        "details", "summary", "address", "center", "body", "html", "li", "dd", "dt", "td", "th",
    }
)  # fmt: skip
_PRE = "pre"


def read_html(data: bytes, deadline: Deadline) -> ParsedDocument:
    try:
        soup = BeautifulSoup(data, "lxml")
    except Exception as exc:  # lxml raises several kinds on bytes it cannot parse at all
        raise ImportRefused(RefusalKind.CORRUPT, "The page cannot be parsed as HTML.") from exc
    title = _title(soup)
    for element in soup.find_all(_UNSEEN):
        element.decompose()
    for element in soup.find_all(_is_hidden):
        element.decompose()
    for comment in soup.find_all(string=lambda text: isinstance(text, Comment)):
        comment.extract()
    root = soup.find("main") or soup.body or soup
    walker = _Walker(deadline)
    if isinstance(root, Tag):
        walker.walk(root)
    walker.flush()
    return ParsedDocument(title=title, blocks=_without_page_heading(walker))


def _title(soup: BeautifulSoup) -> str | None:
    for candidate in (soup.title, soup.find("h1")):
        if isinstance(candidate, Tag):
            text = " ".join(candidate.get_text(" ").split())
            if text:
                return text
    return None


def _is_hidden(tag: Tag) -> bool:
    if tag.has_attr("hidden") or str(tag.get("aria-hidden", "")).lower() == "true":
        return True
    return bool(_HIDDEN_STYLE.search(str(tag.get("style", ""))))


def _without_page_heading(walker: _Walker) -> list[Block]:
    """A page's one h1 names the page, as its title does, not a section of it."""
    if len(walker.h1_texts) != 1:
        return walker.blocks
    heading = walker.h1_texts[0]
    return [
        Block(block.section[1:], block.kind, block.parts) if block.section[:1] == (heading,) else block
        for block in walker.blocks
    ]


class _Walker:
    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self.outline = Outline()
        self.blocks: list[Block] = []
        self.h1_texts: list[str] = []
        self._lines: list[str] = [""]

    def walk(self, node: Tag) -> None:
        self.deadline.check()
        for child in node.children:
            if isinstance(child, NavigableString):
                self._lines[-1] += str(child)
            elif isinstance(child, Tag):
                self._element(child)

    def _element(self, tag: Tag) -> None:
        name = tag.name.lower()
        if name in _HEADINGS:
            self.flush()
            text = _text(tag)
            if name == "h1":
                self.h1_texts.append(text)
            self.outline.enter(_HEADINGS[name], text)
        elif name in _LISTS:
            self.flush()
            self._add(BlockKind.LIST, _list_items(tag, 0))
        elif name == "table":
            self.flush()
            self._add(BlockKind.TABLE, _table_rows(tag))
        elif name == _PRE:
            self.flush()
            self._add(BlockKind.CODE, (tag.get_text().strip("\n"),))
        elif name == "br":
            self._lines.append("")
        elif name in _BLOCKS:
            self.flush()
            self.walk(tag)
            self.flush()
        else:
            self.walk(tag)

    def flush(self) -> None:
        text = join_lines(" ".join(part.split()) for line in self._lines for part in line.split("\n"))
        self._lines = [""]
        self._add(BlockKind.PARAGRAPH, (text,))

    def _add(self, kind: BlockKind, parts: tuple[str, ...] | list[str]) -> None:
        kept = tuple(part for part in parts if part.strip())
        if kept:
            self.blocks.append(Block(section=self.outline.section, kind=kind, parts=kept))


def _text(tag: Tag) -> str:
    return " ".join(tag.get_text(" ").split())


def _list_items(tag: Tag, depth: int) -> list[str]:
    lines: list[str] = []
    ordered = tag.name.lower() == "ol"
    number = int(str(tag.get("start", "1"))) if ordered and str(tag.get("start", "1")).isdigit() else 1
    for item in tag.find_all(["li", "dt", "dd"], recursive=False):
        nested = item.find_all(_LISTS, recursive=False)
        for sub in nested:
            sub.extract()
        marker = f"{number}." if ordered else ("-" if item.name != "dd" else "  ")
        lines.append(f"{'  ' * depth}{marker} {_text(item)}".rstrip())
        number += 1
        for sub in nested:
            lines.extend(_list_items(sub, depth + 1))
    return lines


def _table_rows(tag: Tag) -> list[str]:
    rows = []
    for row in tag.find_all("tr"):
        cells = [_text(cell) for cell in row.find_all(["th", "td"], recursive=False)]
        if any(cells):
            rows.append(" | ".join(cells))
    return rows
