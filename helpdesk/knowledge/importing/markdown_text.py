"""Markdown documents, parsed by markdown-it-py (CommonMark with tables): headings give the section
path, paragraphs, lists, tables and code blocks become blocks. Raw HTML in the Markdown is dropped,
and with it anything a script or style element holds."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from helpdesk.knowledge.importing.limits import Deadline
from helpdesk.knowledge.importing.structure import Block, BlockKind, Outline, ParsedDocument, join_lines

_HIDDEN_OPEN = re.compile(r"<\s*(script|style)\b", re.IGNORECASE)
_HIDDEN_CLOSE = re.compile(r"<\s*/\s*(script|style)\s*>", re.IGNORECASE)
_LISTS = ("bullet_list", "ordered_list")


def read_markdown(text: str, deadline: Deadline) -> ParsedDocument:
    tree = SyntaxTreeNode(MarkdownIt("commonmark").enable("table").parse(text))
    headings = [node for node in tree.children if node.type == "heading"]
    title_node = headings[0] if headings and sum(h.tag == "h1" for h in headings) == 1 else None
    if title_node is not None and title_node.tag != "h1":
        title_node = None
    document = ParsedDocument(title=_inline(title_node) if title_node is not None else None)
    outline = Outline()
    _read_blocks(tree.children, document, outline, title_node, deadline)
    return document


def _read_blocks(
    nodes: list[SyntaxTreeNode],
    document: ParsedDocument,
    outline: Outline,
    title_node: SyntaxTreeNode | None,
    deadline: Deadline,
) -> None:
    for node in nodes:
        deadline.check()
        if node.type == "heading":
            if node is not title_node:
                outline.enter(int(node.tag[1:]), _inline(node))
        elif node.type == "paragraph":
            _add(document, outline, BlockKind.PARAGRAPH, (_inline(node),))
        elif node.type in _LISTS:
            _add(document, outline, BlockKind.LIST, tuple(_list_lines(node, 0)))
        elif node.type == "table":
            _add(document, outline, BlockKind.TABLE, tuple(_table_rows(node)))
        elif node.type in ("fence", "code_block"):
            _add(document, outline, BlockKind.CODE, (node.content.rstrip("\n"),))
        elif node.type == "blockquote":
            _read_blocks(node.children, document, outline, title_node, deadline)


def _add(document: ParsedDocument, outline: Outline, kind: BlockKind, parts: tuple[str, ...]) -> None:
    parts = tuple(part for part in parts if part.strip())
    if parts:
        document.blocks.append(Block(section=outline.section, kind=kind, parts=parts))


def _inline(node: SyntaxTreeNode) -> str:
    """A paragraph's or heading's text without its markup: link and image text kept, raw HTML dropped."""
    lines: list[str] = [""]
    hidden = False
    for leaf in _leaves(node):
        if leaf.type == "html_inline":
            if _HIDDEN_OPEN.match(leaf.content):
                hidden = True
            elif _HIDDEN_CLOSE.match(leaf.content):
                hidden = False
        elif hidden:
            continue
        elif leaf.type in ("softbreak", "hardbreak"):
            lines.append("")
        elif leaf.type in ("text", "code_inline"):
            lines[-1] += leaf.content
        elif leaf.type == "image":
            lines[-1] += _inline(leaf)
    return join_lines(lines)


def _leaves(node: SyntaxTreeNode) -> list[SyntaxTreeNode]:
    if not node.children or node.type == "image":
        return [node]
    return [leaf for child in node.children for leaf in _leaves(child)]


def _list_lines(node: SyntaxTreeNode, depth: int) -> list[str]:
    """One line per item, marked and indented as in the source ("- ", "1. "), nested items below."""
    lines: list[str] = []
    for item in node.children:
        marker = f"{item.info}." if node.type == "ordered_list" and item.info else "-"
        texts = [_inline(child) for child in item.children if child.type == "paragraph"]
        lines.append(f"{'  ' * depth}{marker} {' '.join(t for t in texts if t)}".rstrip())
        for child in item.children:
            if child.type in _LISTS:
                lines.extend(_list_lines(child, depth + 1))
    return lines


def _table_rows(node: SyntaxTreeNode) -> list[str]:
    rows: list[str] = []
    for section in node.children:
        for row in section.children:
            rows.append(" | ".join(_inline(cell) for cell in row.children))
    return rows
