"""A document's blocks cut into passages: along its structure, each passage small enough to cite.

Blocks under the same headings are packed in reading order up to the passage size; a list, a table or a
code block stays whole while it fits in a passage at all (`MAX_PASSAGE_CHARS`), and is split between
items or rows beyond that (a table's header row repeated in each part). A paragraph longer than a
passage is split between sentences. Packing starts again at every heading, so a change in one section
moves no passage boundary in another: re-importing a file with one paragraph changed changes only the
passages of that paragraph's section (usually one).

Each passage is checked for planted instructions (`helpdesk.text.injection`) and flagged when it reads
like one; the document's language is the one most of its text is in.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby

from helpdesk.knowledge.entries import MAX_PASSAGE_CHARS, Passage, passage_id
from helpdesk.knowledge.importing.limits import Deadline, ImportLimits
from helpdesk.knowledge.importing.refusals import ImportRefused, RefusalKind
from helpdesk.knowledge.importing.structure import Block, BlockKind
from helpdesk.text.injection import check_injection
from helpdesk.text.language import Language, detect_language
from helpdesk.text.normalise import normalise

MIN_PASSAGE_CHARS = 120
"""A passage shorter than this joins the one before it under the same headings."""
LANGUAGE_SAMPLE_CHARS = 400

_SENTENCE = re.compile(r".*?(?:[。！？]+|[.!?]+(?=\s|$)|\n|$)\s*", re.DOTALL)
_KEPT_WHOLE = (BlockKind.LIST, BlockKind.TABLE, BlockKind.CODE)


@dataclass(frozen=True, slots=True)
class PassageSite:
    """Where a document's passages point: the document, its title, where a reader finds it (`link`)
    and the name it was imported under (`source`, as for the FAQ entries of a sheet)."""

    source: str
    document_id: str
    title: str
    link: str


@dataclass(slots=True)
class _Piece:
    text: str
    page: int | None


def document_language(blocks: list[Block]) -> Language:
    """The language most of the document's text is in (each block judged on its first sentences)."""
    weight: Counter[Language] = Counter()
    for block in blocks:
        text = block.text
        weight[detect_language(text[:LANGUAGE_SAMPLE_CHARS])] += len(text)
    if not weight:
        return Language.EN
    return weight.most_common(1)[0][0]


def cut_passages(
    blocks: list[Block],
    site: PassageSite,
    *,
    passage_chars: int,
    limits: ImportLimits,
    deadline: Deadline,
) -> list[Passage]:
    language = document_language(blocks)
    seen: Counter[tuple[tuple[str, ...], str]] = Counter()
    passages: list[Passage] = []
    for section, group in groupby(blocks, key=lambda block: block.section):
        deadline.check()
        for piece in _packed(list(group), passage_chars):
            key = (section, " ".join(piece.text.split()))
            occurrence = seen[key]
            seen[key] += 1
            passages.append(
                Passage(
                    id=passage_id(site.document_id, section, piece.text, occurrence),
                    document_id=site.document_id,
                    title=site.title,
                    section=section,
                    page=piece.page,
                    text=piece.text,
                    language=language,
                    link=site.link,
                    source=site.source,
                    flagged=check_injection(normalise(piece.text)).suspected,
                )
            )
            if len(passages) > limits.max_passages:
                raise ImportRefused(
                    RefusalKind.TOO_LARGE,
                    f"The document has more than {limits.max_passages} passages.",
                )
    return passages


def _packed(blocks: list[Block], passage_chars: int) -> list[_Piece]:
    packed: list[_Piece] = []
    for piece in (piece for block in blocks for piece in _pieces(block, passage_chars)):
        last = packed[-1] if packed else None
        if last is not None and len(last.text) + 2 + len(piece.text) <= passage_chars:
            last.text = f"{last.text}\n\n{piece.text}"
        else:
            packed.append(piece)
    if len(packed) > 1 and len(packed[-1].text) < MIN_PASSAGE_CHARS:
        tail = packed.pop()
        if len(packed[-1].text) + 2 + len(tail.text) <= MAX_PASSAGE_CHARS:
            packed[-1].text = f"{packed[-1].text}\n\n{tail.text}"
        else:
            packed.append(tail)
    return packed


def _pieces(block: Block, passage_chars: int) -> Iterator[_Piece]:
    """The block in pieces no longer than a passage: whole when it fits (a list or table up to the
    hard maximum), else between items, rows or sentences."""
    text = block.text.strip()
    if not text:
        return
    limit = MAX_PASSAGE_CHARS if block.kind in _KEPT_WHOLE else passage_chars
    if len(text) <= limit:
        yield _Piece(text, block.page)
        return
    if block.kind in _KEPT_WHOLE and len(block.parts) > 1:
        header = block.parts[0] if block.kind is BlockKind.TABLE else ""
        if len(header) > passage_chars // 2:
            header = ""
        rows = block.parts[1:] if header else block.parts
        room = passage_chars - len(header) - 1 if header else passage_chars
        for chunk in _chunks(rows, room, "\n"):
            yield _Piece(f"{header}\n{chunk}" if header else chunk, block.page)
        return
    for chunk in _chunks(_sentences(text), passage_chars, ""):
        yield _Piece(chunk, block.page)


def _sentences(text: str) -> list[str]:
    """The sentences with the space that follows each, so that joining them gives the text back."""
    return [sentence for sentence in _SENTENCE.findall(text) if sentence]


def _chunks(parts: tuple[str, ...] | list[str], size: int, joiner: str) -> Iterator[str]:
    """Consecutive parts joined up to `size` characters; a part longer than that cut at whitespace
    near the limit (or at the limit, for text without spaces)."""
    current = ""
    for part in parts:
        for cut in _cut(part, size):
            if current and len(current) + len(joiner) + len(cut) > size:
                yield current.strip()
                current = ""
            current = f"{current}{joiner}{cut}" if current else cut
    if current.strip():
        yield current.strip()


def _cut(text: str, size: int) -> Iterator[str]:
    while len(text) > size:
        at = text.rfind(" ", size // 2, size)
        at = at if at > 0 else size
        yield text[:at]
        text = text[at:]
    if text:
        yield text
