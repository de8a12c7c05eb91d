"""The languages the helpdesk speaks, and telling them apart in a short message."""

from __future__ import annotations

import re
from enum import StrEnum

from helpdesk.text.stopwords import ENGLISH_STOP_WORDS


class Language(StrEnum):
    """A message's or a knowledge entry's language; events carry it (`helpdesk.events` re-exports it)."""

    EN = "en"
    JA = "ja"
    OTHER = "other"


_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff]")
_KANJI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Characters common in Chinese and absent (or rare) in Japanese: simplified forms and Chinese particles.
_CHINESE_ONLY = re.compile(r"[的了吗呢们这么说吧没还对时请问谢你们个为会来过么]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")
_OTHER_SCRIPT = re.compile(r"[\u0400-\u04ff\u0590-\u05ff\u0600-\u06ff\u0900-\u097f\u0e00-\u0e7f]")
_LATIN_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_NON_ENGLISH_LATIN = re.compile(r"[àâäçéèêëîïôöùûüÿñßœæøåãõáíóúìò]", re.IGNORECASE)

_ENGLISH_HINTS = ENGLISH_STOP_WORDS | {
    "help",
    "please",
    "thanks",
    "thank",
    "hello",
    "hi",
    "password",
    "reset",
    "vpn",
    "email",
    "mail",
    "leave",
    "laptop",
    "printer",
    "account",
    "login",
    "access",
    "how",
    "can't",
    "cannot",
    "need",
    "want",
    "ok",
    "okay",
    "yes",
    "no",
    "bye",
}


def detect_language(text: str, hint: str | None = None) -> Language:
    """English, Japanese, or other.

    Kana settles Japanese at once; kanji without kana ("経費精算", "2番") is Japanese unless it has
    characters typical of Chinese, or the hint says otherwise. For Latin
    script, English is recognised by its function and helpdesk words, which even two-word messages
    contain; accented letters and no English words mean another language. Digits, URLs or emoji only
    follow the hint, defaulting to English.
    """
    hinted = (hint or "").lower()[:2]
    if _KANA.search(text):
        return Language.JA
    if _KANJI.search(text):
        if hinted == "ja":
            return Language.JA
        return Language.OTHER if hinted == "zh" or _CHINESE_ONLY.search(text) else Language.JA
    if _HANGUL.search(text) or _OTHER_SCRIPT.search(text):
        return Language.OTHER
    latin = [w.lower() for w in _LATIN_WORD.findall(text)]
    if not latin:
        return Language.JA if hinted == "ja" else Language.EN
    english = sum(1 for w in latin if w in _ENGLISH_HINTS)
    if english == 0 and (_NON_ENGLISH_LATIN.search(text) or len(latin) >= 3):
        return Language.EN if hinted == "en" else Language.OTHER
    return Language.EN
