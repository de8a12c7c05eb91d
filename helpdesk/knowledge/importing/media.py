"""Which format a file is in: by its name's extension, checked against its first bytes."""

from __future__ import annotations

from enum import StrEnum

from helpdesk.knowledge.importing.refusals import ImportRefused, RefusalKind


class MediaType(StrEnum):
    CSV = "text/csv"
    TSV = "text/tab-separated-values"
    XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    PDF = "application/pdf"
    DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    HTML = "text/html"
    MARKDOWN = "text/markdown"
    TEXT = "text/plain"


_BY_EXTENSION = {
    "csv": MediaType.CSV,
    "tsv": MediaType.TSV,
    "xlsx": MediaType.XLSX,
    "pdf": MediaType.PDF,
    "docx": MediaType.DOCX,
    "html": MediaType.HTML,
    "htm": MediaType.HTML,
    "xhtml": MediaType.HTML,
    "md": MediaType.MARKDOWN,
    "markdown": MediaType.MARKDOWN,
    "txt": MediaType.TEXT,
    "text": MediaType.TEXT,
}

_REFUSED_EXTENSIONS = {
    "xlsm": "Macro-enabled workbooks (.xlsm) are not imported; save the sheet as .xlsx or .csv.",
    "docm": "Macro-enabled documents (.docm) are not imported; save the document as .docx.",
    "xls": "Legacy Excel files (.xls) are not imported; save the sheet as .xlsx or .csv.",
    "doc": "Legacy Word files (.doc) are not imported; save the document as .docx or .pdf.",
}

ZIP_FORMATS = (MediaType.XLSX, MediaType.DOCX)
PDF_MAGIC = b"%PDF-"
ZIP_MAGIC = b"PK\x03\x04"
_HTML_STARTS = (b"<!doctype html", b"<html")


def extension_of(name: str) -> str:
    base = name.rsplit("/", 1)[-1].split("?", 1)[0]
    return base.rsplit(".", 1)[-1].lower() if "." in base else ""


def media_type_of(name: str, data: bytes) -> MediaType:
    """The format the name claims, when the bytes agree; by the bytes alone for a name without a known
    extension. A PDF that does not start like one, or an Office file that is no zip, is corrupt."""
    extension = extension_of(name)
    if extension in _REFUSED_EXTENSIONS:
        raise ImportRefused(RefusalKind.UNSUPPORTED_TYPE, _REFUSED_EXTENSIONS[extension])
    claimed = _BY_EXTENSION.get(extension)
    head = data[:1024].lstrip()
    if claimed is MediaType.PDF and PDF_MAGIC not in data[:1024]:
        raise ImportRefused(RefusalKind.CORRUPT, "The file is named .pdf but is not a PDF.")
    if claimed in ZIP_FORMATS and not data.startswith(ZIP_MAGIC):
        raise ImportRefused(RefusalKind.CORRUPT, f"The file is named .{extension} but is not an Office file.")
    if claimed is not None:
        return claimed
    if head.startswith(PDF_MAGIC):
        return MediaType.PDF
    if head.lower().startswith(_HTML_STARTS):
        return MediaType.HTML
    if data.startswith(ZIP_MAGIC):
        raise ImportRefused(
            RefusalKind.UNSUPPORTED_TYPE, "A zip file without a .docx or .xlsx name is not imported."
        )
    raise ImportRefused(
        RefusalKind.UNSUPPORTED_TYPE,
        "Only CSV, TSV, XLSX, PDF, DOCX, HTML, Markdown and plain text files are imported.",
    )
