"""Why a file was not imported at all: one refusal per file, in words an operator can act on."""

from __future__ import annotations

from enum import StrEnum

from helpdesk.errors import DomainError


class RefusalKind(StrEnum):
    """The stable names a client may switch on (the last segment of the problem `type`)."""

    TOO_LARGE = "too-large"
    """The file, its pages, rows or passages are over the import limits."""
    UNSUPPORTED_TYPE = "unsupported-type"
    """Not a format the importer reads (or a macro-enabled or legacy binary Office file)."""
    CORRUPT = "corrupt"
    """The bytes do not parse as the format the file claims to be."""
    ENCRYPTED = "encrypted"
    """Password-protected: the importer has no password to open it with."""
    NO_TEXT = "no-text"
    """Nothing readable came out (an empty file, a scanned PDF without a text layer)."""
    DECOMPRESSION_BOMB = "decompression-bomb"
    """A zip-based file (DOCX, XLSX) that would expand far beyond its size."""
    BAD_ENCODING = "bad-encoding"
    """The text is in no encoding the importer recognises."""
    BAD_SHEET = "bad-sheet"
    """A FAQ sheet without question and answer columns, or without one usable row."""
    TOO_SLOW = "too-slow"
    """Reading took longer than the import's time limit."""


class ImportRefused(DomainError):
    """A file the importer will not take, and why; nothing of it is imported.

    `kind` names the rule (`RefusalKind`); `detail` says what was found, never the file's content. A
    file over a size limit is a 413, anything else a 422, so an operator API answers it as it stands.
    """

    status = 422
    kind = "unprocessable-content"
    title = "File not imported"

    def __init__(self, kind: RefusalKind, detail: str) -> None:
        super().__init__(detail)
        self.reason = kind
        self.kind = kind.value
        if kind is RefusalKind.TOO_LARGE:
            self.status = 413

    def __reduce__(self) -> tuple[type[ImportRefused], tuple[RefusalKind, str]]:
        """Pickled with its kind, so a refusal crosses from a worker process intact."""
        return (type(self), (self.reason, self.detail))
