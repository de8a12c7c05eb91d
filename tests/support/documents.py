"""Documents made at test time, for the importer's tests and for integration and e2e tests that import
them through the running stack: FAQ sheets (CSV in any encoding, XLSX), manuals (PDF, DOCX, HTML,
Markdown) and the bad files an importer must refuse (corrupt, encrypted, image-only PDFs, zip bombs).

Each builder returns the file's bytes; the content is given as plain Python data so a test states
what the document says next to what it expects back.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

FAQ_HEADER = ("ID", "Question", "Answer", "Alternatives", "Category")
FAQ_HEADER_JA = ("ID", "質問", "回答", "言い換え", "カテゴリ")

Section = tuple[str, Sequence[str]]
"""A heading and the paragraphs under it."""


def csv_faq(
    rows: Sequence[Sequence[str]],
    *,
    header: Sequence[str] = FAQ_HEADER,
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> bytes:
    """A FAQ sheet as CSV in `encoding` ("cp932" for what Excel on Japanese Windows saves)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def markdown_guide(title: str, sections: Sequence[Section]) -> bytes:
    """A Markdown guide: `# title`, then `## heading` and paragraphs per section."""
    lines = [f"# {title}", ""]
    for heading, paragraphs in sections:
        lines += [f"## {heading}", ""]
        for paragraph in paragraphs:
            lines += [paragraph, ""]
    return "\n".join(lines).encode()


def xlsx_faq(
    rows: Sequence[Sequence[object]],
    *,
    header: Sequence[str] = FAQ_HEADER,
    sheet: str = "FAQ",
    extra_sheets: dict[str, Sequence[Sequence[object]]] | None = None,
) -> bytes:
    """A FAQ workbook: the header and rows on `sheet`, and any other sheets as given."""
    from openpyxl import Workbook

    workbook = Workbook()
    first = workbook.active
    assert first is not None
    first.title = sheet
    first.append(list(header))
    for row in rows:
        first.append(list(row))
    for name, other_rows in (extra_sheets or {}).items():
        other = workbook.create_sheet(name)
        for row in other_rows:
            other.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
