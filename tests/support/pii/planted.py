"""A generated value as it was planted, the patterns that find it in any written form, and the search
for planted values in a blob of text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

FLEXIBLE = r"[\s\-./・ー()\[\]:]*"
FLEXIBLE_SEPARATOR = r"[\s\-./・ー]"


@dataclass(frozen=True)
class Planted:
    """One generated value: how it was written, and the pattern that finds it in any form."""

    kind: str
    written: str
    sentence: str
    pattern: re.Pattern[str]
    fragments: tuple[str, ...] = ()
    """Distinctive pieces that must not survive on their own either (the local part of an e-mail)."""


def compact_pattern(core: str, *, bounded: bool) -> re.Pattern[str]:
    """Characters of `core` with any separators between them; short values must stand alone (not
    inside a longer number, where they could occur by chance)."""
    body = FLEXIBLE.join(re.escape(c) for c in core.casefold())
    if bounded:
        body = rf"(?<![0-9a-z])(?<![0-9]{FLEXIBLE_SEPARATOR}){body}(?![0-9a-z])(?!{FLEXIBLE_SEPARATOR}[0-9])"
    return re.compile(body)


def parts_pattern(parts: Iterable[str]) -> re.Pattern[str]:
    """Parts in order with at least one separator between them (an IP address is not found in a longer
    number that happens to hold its digits)."""
    body = r"[\s\-./・ー:]+".join(re.escape(p.casefold()) for p in parts)
    return re.compile(rf"(?<![0-9a-z.]){body}(?![0-9a-z]|\.[0-9])")


_ESCAPE = re.compile(r"\\+u([0-9a-fA-F]{4})(?:\\+u([0-9a-fA-F]{4}))?")


def _unescape(match: re.Match[str]) -> str:
    high = int(match.group(1), 16)
    if match.group(2) is not None:
        low = int(match.group(2), 16)
        if 0xD800 <= high < 0xDC00 and 0xDC00 <= low < 0xE000:
            return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
        return chr(high) + chr(low)
    return chr(high)


def searchable(blob: str) -> str:
    """`blob` as the search sees it: JSON escapes undone, NFKC, invisible characters removed, case folded."""
    text = _ESCAPE.sub(_unescape, blob)
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return text.casefold()


def found_in(blob: str, planted: Iterable[Planted]) -> list[tuple[Planted, str]]:
    """Every planted value (or distinctive fragment) present in `blob`, with what matched."""
    text = searchable(blob)
    hits: list[tuple[Planted, str]] = []
    for item in planted:
        match = item.pattern.search(text)
        if match:
            hits.append((item, match.group()))
            continue
        for fragment in item.fragments:
            if fragment.casefold() in text:
                hits.append((item, fragment))
                break
    return hits
