from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")

# Characters that render as nothing but split what they sit in: a zero-width space inside an e-mail address
# or a card number hides it from any pattern. Format characters (Unicode category Cf: zero-width space,
# joiners, soft hyphen, word joiner, BOM, bidirectional marks) plus the default-ignorable characters of
# other categories (combining grapheme joiner, variation selectors, Hangul fillers, Khmer inherent vowels,
# Mongolian variation selectors).
_IGNORABLE = frozenset(
    [
        *(0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180C, 0x180D, 0x180F, 0x3164, 0xFFA0),
        *range(0xFE00, 0xFE10),
        *range(0xE0100, 0xE01F0),
    ]
)


def is_invisible(char: str) -> bool:
    """True for a character that shows nothing and means nothing to a reader (see `_IGNORABLE`)."""
    return unicodedata.category(char) == "Cf" or ord(char) in _IGNORABLE


def without_invisible(text: str) -> str:
    """`text` without format and other default-ignorable characters; a message of only such characters
    becomes empty."""
    if text.isascii():
        return text
    return "".join(ch for ch in text if not is_invisible(ch))


def normalise(text: str) -> str:
    """NFKC plus whitespace folding, without invisible characters. NFKC maps full-width Latin letters and
    digits to ASCII, half-width katakana to full-width, and compatibility characters (①, ㈱) to their plain
    forms."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", without_invisible(text))).strip()
