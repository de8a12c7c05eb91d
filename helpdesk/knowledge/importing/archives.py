"""Zip-based formats (DOCX, XLSX) checked before a parser opens them.

A zip states each member's uncompressed size in its central directory; Python's zipfile (which
python-docx and openpyxl read through) never returns more than that size for a member, so the
declared sizes bound what parsing can inflate to. The check refuses an archive whose declared total,
member count or per-member compression ratio is out of bounds, one that is not the Office package it
is named as, and one that carries macros.
"""

from __future__ import annotations

import io
import zipfile

from helpdesk.knowledge.importing.limits import MIB, ImportLimits
from helpdesk.knowledge.importing.media import MediaType
from helpdesk.knowledge.importing.refusals import ImportRefused, RefusalKind

RATIO_CHECKED_FROM = 1 * MIB
"""Small members may compress far (a sheet of one repeated value); only large ones can be bombs."""
_MAIN_PART = {MediaType.DOCX: "word/document.xml", MediaType.XLSX: "xl/workbook.xml"}


def check_archive(data: bytes, media: MediaType, limits: ImportLimits) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except Exception as exc:  # zipfile raises BadZipFile, NotImplementedError, ValueError, ... on damage
        raise ImportRefused(RefusalKind.CORRUPT, "The file is not a readable Office (zip) package.") from exc
    if len(members) > limits.max_archive_members:
        raise ImportRefused(
            RefusalKind.DECOMPRESSION_BOMB,
            f"The package has {len(members)} parts (at most {limits.max_archive_members} are read).",
        )
    unpacked = sum(member.file_size for member in members)
    if unpacked > limits.max_unpacked_bytes:
        raise ImportRefused(
            RefusalKind.DECOMPRESSION_BOMB,
            f"The package would expand to {unpacked} bytes (at most {limits.max_unpacked_bytes}).",
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > RATIO_CHECKED_FROM and ratio > limits.max_compression_ratio:
            raise ImportRefused(
                RefusalKind.DECOMPRESSION_BOMB,
                f"A part of the package is compressed {ratio:.0f} times "
                f"(at most {limits.max_compression_ratio:g}).",
            )
    names = {member.filename for member in members}
    if _MAIN_PART[media] not in names or "[Content_Types].xml" not in names:
        raise ImportRefused(
            RefusalKind.CORRUPT, f"The package has no {_MAIN_PART[media]}: not a {media.name} file."
        )
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise ImportRefused(RefusalKind.UNSUPPORTED_TYPE, "Files with macros are not imported.")
