from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """NFKC plus whitespace folding. NFKC maps full-width Latin letters and digits to ASCII, half-width
    katakana to full-width, and compatibility characters (①, ㈱) to their plain forms."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()
