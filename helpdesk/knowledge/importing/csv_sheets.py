"""CSV and TSV FAQ sheets: decoded (cp932 included), then read row by row with the standard library's
csv reader in strict mode, so a row with broken quoting is skipped with its line instead of being read
wrong, and a quote never closed is reported rather than swallowing the rest of the file silently."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from helpdesk.knowledge.importing.encodings import DecodedText
from helpdesk.knowledge.importing.faq_sheets import SheetRow
from helpdesk.knowledge.importing.limits import Deadline

SNIFF_CHARS = 8192
MAX_ROW_LINES = 50
"""A record spread over more lines than this is a quote left open, not a cell with line breaks."""


def csv_rows(decoded: DecodedText, *, delimiter: str | None, deadline: Deadline) -> Iterator[SheetRow]:
    """The sheet's rows in order, numbered as a spreadsheet shows them, with the lines they cover; a row
    that cannot be read comes with its problem instead of cells."""
    text = decoded.text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter or _delimiter(text), strict=True)
    number = 0
    first_line = 1
    while True:
        deadline.check()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            number += 1
            yield SheetRow(where=_where(number, first_line, reader.line_num), cells=(), problem=_why(exc))
            first_line = reader.line_num + 1
            continue
        number += 1
        lines = reader.line_num - first_line + 1
        where = _where(number, first_line, reader.line_num)
        first_line = reader.line_num + 1
        if lines > MAX_ROW_LINES:
            yield SheetRow(where=where, cells=(), problem="a quote opened here is never closed")
            continue
        yield SheetRow(where=where, cells=tuple(cells))


def _delimiter(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text[:SNIFF_CHARS], delimiters=",\t;").delimiter
    except csv.Error:
        return ","


def _where(number: int, first_line: int, last_line: int) -> str:
    lines = f"line {first_line}" if last_line <= first_line else f"lines {first_line}-{last_line}"
    return f"row {number} ({lines})"


def _why(exc: csv.Error) -> str:
    message = str(exc)
    if "unexpected end of data" in message:
        return "a quote opened here is never closed"
    if "field larger" in message:
        return "a cell is larger than a CSV cell may be"
    return "broken quoting"
