from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")


def without_format_characters(text: str) -> str:
    """The text without Unicode format characters (category Cf: zero-width space and joiners, soft
    hyphen, bidi marks, the BOM). They are invisible, so a reader sees the same word with or without
    them, while they break any comparison of the raw strings."""
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def normalise(text: str) -> str:
    """NFKC plus whitespace folding. NFKC maps full-width Latin letters and digits to ASCII, half-width
    katakana to full-width, and compatibility characters (①, ㈱) to their plain forms."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()
