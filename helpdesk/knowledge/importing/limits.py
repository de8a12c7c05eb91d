"""How much one import may take: bytes, expansion, pages, rows, passages and time.

Every limit is checked before the work it bounds: the file's size before any parsing, a zip's declared
sizes before a parser opens it, the page count before pages are read. Time is checked between pages,
elements and rows; a single library call that hangs is the caller's to stop (the import service runs
parsing in a worker for that reason).
"""

from __future__ import annotations

import time

from pydantic import BaseModel, ConfigDict, Field

from helpdesk.knowledge.importing.refusals import ImportRefused, RefusalKind

MIB = 1024 * 1024


class ImportLimits(BaseModel):
    """The bounds of one file's import; the defaults fit a service desk's manuals and FAQ sheets."""

    model_config = ConfigDict(frozen=True)

    max_bytes: int = Field(default=20 * MIB, gt=0)
    """The file as uploaded."""
    max_unpacked_bytes: int = Field(default=200 * MIB, gt=0)
    """The sum of the declared uncompressed sizes of a DOCX's or XLSX's zip members."""
    max_archive_members: int = Field(default=2000, gt=0)
    max_compression_ratio: float = Field(default=150.0, gt=1)
    """For each zip member over 1 MiB uncompressed: Office XML packs 5-30x, a zip bomb 1000x and more."""
    max_pages: int = Field(default=1000, gt=0)
    max_rows: int = Field(default=50_000, gt=0)
    """Rows of a FAQ sheet (CSV, or all sheets of a workbook)."""
    max_passages: int = Field(default=5000, gt=0)
    """Passages of one document."""
    max_seconds: float = Field(default=60.0, gt=0)


class Deadline:
    """The import's time limit, checked between units of work."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._ends = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self._ends:
            raise ImportRefused(
                RefusalKind.TOO_SLOW, f"Reading the file took longer than {self._seconds:g} seconds."
            )
