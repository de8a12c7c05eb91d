"""Text files' encodings: UTF-8 and UTF-16 (with or without a byte-order mark), Shift_JIS (cp932, what
Excel on Japanese Windows saves), EUC-JP and Windows-1252.

charset-normalizer is the detector, restricted to the encodings that strictly decode the bytes: left
free it reads a short EUC-JP line as Korean, and among all encodings at once it may answer nothing.
Measured on JSQuAD questions cut to 4-40 characters, the rules below decode 99.9% of cp932 and EUC-JP
samples exactly (the rest: two-character EUC-JP strings): UTF-8 first (it almost never decodes text in
another encoding); of cp932 and EUC-JP, the only one that decodes; where both do, the one without
half-width katakana (EUC-JP bytes read as cp932 are full of them; real text rarely is), then the
detector, then cp932. Windows-1252 only for text that is mostly ASCII and where a Japanese reading
shows no kana at all.

A file that no encoding decodes whole may mix two (rows appended by another program): it is read line
by line in the encoding most of its non-ASCII lines are in, and the lines in another are reported.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from dataclasses import dataclass

from charset_normalizer import from_bytes

from helpdesk.knowledge.importing.refusals import ImportRefused, RefusalKind

UNREADABLE = "\ufffd"
"""What stands in for a line that did not decode."""

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_JAPANESE = ("cp932", "euc_jp")
_WESTERN = "cp1252"
_HALF_WIDTH_KATAKANA = re.compile("[\uff61-\uff9f]")
_KANA = re.compile("[\u3040-\u30ff]")
_LINE_ENCODINGS = ("utf-8", *_JAPANESE)
_ASCII = "ascii"
_UNKNOWN = "The text is in no encoding the importer knows (UTF-8, UTF-16, Shift_JIS/cp932, EUC-JP)."


@dataclass(frozen=True, slots=True)
class DecodedText:
    text: str
    encoding: str
    unreadable_lines: tuple[int, ...] = ()
    """1-based line numbers that did not decode in `encoding`; each is `UNREADABLE` in `text`."""


def decode_text(data: bytes) -> DecodedText:
    """The bytes as text, in the encoding they are in; `ImportRefused(bad-encoding)` when they are in
    none the importer knows, or look binary."""
    decoded = _decoded_whole(data)
    if decoded is None:
        decoded = _decoded_by_line(data)
    if "\x00" in decoded.text:
        raise ImportRefused(RefusalKind.BAD_ENCODING, "The file looks binary, not like text.")
    return decoded


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _decoded_whole(data: bytes) -> DecodedText | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = _strict(data, encoding)
            if text is None:
                raise ImportRefused(RefusalKind.BAD_ENCODING, f"The file starts as {encoding} but is not.")
            return DecodedText(text, encoding)
    text = _strict(data, "utf-8")
    if text is not None:
        return DecodedText(text, "utf-8")
    readings = {encoding: text for encoding in _JAPANESE if (text := _strict(data, encoding)) is not None}
    western = _strict(data, _WESTERN) if _mostly_ascii(data) else None
    if readings and (western is None or any(_KANA.search(text) for text in readings.values())):
        encoding = _japanese_encoding(data, readings)
        return DecodedText(readings[encoding], encoding)
    if western is not None:
        best = from_bytes(data, cp_isolation=[*readings, _WESTERN]).best()
        encoding = best.encoding if best is not None and best.encoding in readings else _WESTERN
        return DecodedText(readings.get(encoding, western), encoding)
    return None


def _mostly_ascii(data: bytes) -> bool:
    """Western text has a few accented letters and quotes among ASCII; Japanese in any encoding, or a
    mix of them, is mostly bytes above 0x7f."""
    return sum(byte >= 0x80 for byte in data) * 5 < len(data)


def _japanese_encoding(data: bytes, readings: dict[str, str]) -> str:
    if len(readings) == 1:
        return next(iter(readings))
    katakana = {encoding: len(_HALF_WIDTH_KATAKANA.findall(text)) for encoding, text in readings.items()}
    if katakana["cp932"] != katakana["euc_jp"]:
        return min(katakana, key=lambda encoding: katakana[encoding])
    best = from_bytes(data, cp_isolation=list(readings)).best()
    if best is not None and best.encoding.startswith("euc"):
        return "euc_jp"
    return "cp932"


def _decoded_by_line(data: bytes) -> DecodedText:
    """Each line that is not plain ASCII is in the first of UTF-8, cp932, EUC-JP that decodes it (a
    line valid as UTF-8 is UTF-8: Japanese in another encoding almost never is); the file's encoding is
    the one most such lines are in (on a tie, the first seen), and lines in another are unreadable."""
    lines = data.split(b"\n")
    found = [_line_encoding(line) for line in lines]
    counted = Counter(encoding for encoding in found if encoding not in (_ASCII, None))
    if not counted:
        raise ImportRefused(RefusalKind.BAD_ENCODING, _UNKNOWN)
    encoding = counted.most_common(1)[0][0]
    unreadable = tuple(
        number for number, found_in in enumerate(found, start=1) if found_in not in (_ASCII, encoding)
    )
    if len(unreadable) * 2 > sum(1 for line in lines if line.strip()):
        raise ImportRefused(RefusalKind.BAD_ENCODING, _UNKNOWN)
    texts = [
        UNREADABLE if number in unreadable else line.decode(encoding)
        for number, line in enumerate(lines, start=1)
    ]
    return DecodedText("\n".join(texts), encoding, unreadable)


def _line_encoding(line: bytes) -> str | None:
    if line.isascii():
        return _ASCII
    return next((encoding for encoding in _LINE_ENCODINGS if _strict(line, encoding) is not None), None)
