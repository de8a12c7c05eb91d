"""XLSX FAQ workbooks, read by openpyxl in read-only mode (rows streamed, not the whole workbook held)
with cached formula results rather than formulas. Every sheet with a question and an answer header is
read; the others are reported. openpyxl parses the package's XML through defusedxml (a locked
dependency), so entity expansion is refused; the zip itself was checked before (`archives.py`)."""

from __future__ import annotations

import io
from datetime import date, datetime, time
from typing import Any

from openpyxl import load_workbook

from helpdesk.knowledge.importing.faq_sheets import SheetRow, rows_counted
from helpdesk.knowledge.importing.limits import Deadline, ImportLimits
from helpdesk.knowledge.importing.refusals import ImportRefused, RefusalKind


def workbook_sheets(
    data: bytes, limits: ImportLimits, deadline: Deadline
) -> list[tuple[str, list[SheetRow]]]:
    """Each worksheet's name and rows, in the workbook's order; the row limit counts all sheets."""
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl, zipfile and zlib raise many kinds on a damaged package
        raise ImportRefused(RefusalKind.CORRUPT, "The workbook cannot be read as XLSX.") from exc
    sheets: list[tuple[str, list[SheetRow]]] = []
    counted = 0
    try:
        for sheet in workbook.worksheets:
            deadline.check()
            label = f"sheet '{sheet.title}' row" if len(workbook.worksheets) > 1 else "row"
            rows = (
                SheetRow(where=f"{label} {number}", cells=tuple(_cell_text(value) for value in values))
                for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
            )
            read = rows_counted(rows, limits.model_copy(update={"max_rows": limits.max_rows - counted}))
            counted += len(read)
            sheets.append((sheet.title, read))
    except ImportRefused:
        raise
    except Exception as exc:  # openpyxl raises many kinds of errors on a malformed sheet
        raise ImportRefused(RefusalKind.CORRUPT, "A sheet of the workbook cannot be read.") from exc
    finally:
        workbook.close()
    return sheets


def _cell_text(value: Any) -> str:
    """A cell as its reader sees it: whole numbers without ".0", dates in ISO form, nothing as ""."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)
