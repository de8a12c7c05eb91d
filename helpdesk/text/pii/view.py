"""The text as detection sees it.

Detection runs on a view of the text in which format characters (zero-width space and joiners, soft
hyphen, BOM, word joiner, variation selectors) are removed, every character is NFKC-folded (full-width
digits, letters, `＠`, `．`, `／`, `－`), digits of any script become ASCII, every dash and minus sign becomes
`-`, and `ー` or `・` next to a digit become `-` or `.`. Each character of the view remembers where it came
from, so a span found in the view replaces exactly the characters the user typed, invisible ones inside
it included.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from helpdesk.text.normalise import is_invisible

_SLASHES = {"\u2044": "/", "\u2215": "/"}
_MINUS = {"\u2212": "-", "\u2043": "-", "\u02d7": "-"}
_NEXT_TO_DIGIT = re.compile(r"(?<=[0-9])[ー・·]|[ー・·](?=[0-9])")


@lru_cache(maxsize=4096)
def _view_of(char: str) -> str:
    """What one non-ASCII character is in the detection view ("" for an invisible one)."""
    if is_invisible(char):
        return ""
    if char in _SLASHES:
        return _SLASHES[char]
    if char in _MINUS:
        return _MINUS[char]
    category = unicodedata.category(char)
    if category == "Nd":
        return str(unicodedata.decimal(char))
    if category == "Pd":
        return "-"
    folded = unicodedata.normalize("NFKC", char)
    return "".join("-" if unicodedata.category(c) == "Pd" else c for c in folded)


@dataclass(frozen=True, slots=True)
class DetectionView:
    """The text as detection sees it; `origin[i]` is the index in the source of view character i."""

    text: str
    origin: tuple[int, ...] | None

    @classmethod
    def of(cls, source: str) -> DetectionView:
        if source.isascii():
            return cls(source, None)
        chars: list[str] = []
        origin: list[int] = []
        after_ascii = False
        for index, char in enumerate(source):
            if char.isascii():
                chars.append(char)
                origin.append(index)
                after_ascii = True
                continue
            if after_ascii and unicodedata.category(char) in ("Mn", "Me"):
                continue  # a combining mark put on an ASCII letter or digit
            mapped = _view_of(char)
            chars.extend(mapped)
            origin.extend([index] * len(mapped))
            if mapped:
                after_ascii = mapped[-1].isascii()
        text = _NEXT_TO_DIGIT.sub(lambda m: "-" if m.group() == "ー" else ".", "".join(chars))
        return cls(text, tuple(origin))

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        if self.origin is None:
            return start, end
        return self.origin[start], self.origin[end - 1] + 1
