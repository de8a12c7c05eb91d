"""Tokens for the event and terms for the intent model, in English and Japanese.

Tokens are surface words (what the dialogue service and the evaluator re-use); classification terms are
stems (English, Snowball) or lemmas (Japanese, UniDic) with stop words kept, plus their bigrams, so the
model sees "reset password" and "パスワード リセット" as phrases and not only as single words.
"""

from __future__ import annotations

import itertools

from helpdesk.events import Language
from helpdesk.text import terms, words

__all__ = ["classification_terms", "tokens"]


def tokens(text: str, language: Language) -> list[str]:
    """Surface tokens for the event; text in another language is split like English (Latin script)."""
    return words(text, Language.JA if language is Language.JA else Language.EN)


def classification_terms(text: str, language: Language) -> list[str]:
    """Unigrams and bigrams of stems or lemmas."""
    unigrams = terms(text, Language.JA if language is Language.JA else Language.EN, keep_stop_words=True)
    return unigrams + [f"{a} {b}" for a, b in itertools.pairwise(unigrams)]
