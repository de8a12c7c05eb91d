"""Importing the files a service desk already has: FAQ sheets and documents as knowledge items.

    read_source(name, data, limits=ImportLimits(), options=None) -> ImportedSource

FAQ sheets (CSV, TSV, XLSX; columns by English or Japanese header names, or named in the options;
encodings detected, cp932 included) become `FaqEntry`s, one a row. Documents (PDF, DOCX, HTML,
Markdown, plain text) become `Passage`s cut along their structure, each with its document's title, its
section path, its page (PDF) and an id derived from its content, so re-importing an unchanged file
yields the same items. A passage that reads like an instruction to the assistant is flagged.

A file the importer will not take raises `ImportRefused` (a `DomainError`: 413 when too large, 422
otherwise) with a `RefusalKind`; what it left out of an imported file is listed in `skipped`. Plain
Python: no web framework, no sidecar, no environment; safe to run in a worker thread or process.
"""

from helpdesk.knowledge.importing.imported import ImportedSource, ImportOptions, SheetColumns, SkippedPart
from helpdesk.knowledge.importing.limits import ImportLimits
from helpdesk.knowledge.importing.media import MediaType
from helpdesk.knowledge.importing.reader import read_source
from helpdesk.knowledge.importing.refusals import ImportRefused, RefusalKind

__all__ = [
    "ImportLimits",
    "ImportOptions",
    "ImportRefused",
    "ImportedSource",
    "MediaType",
    "RefusalKind",
    "SheetColumns",
    "SkippedPart",
    "read_source",
]
