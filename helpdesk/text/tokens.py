from __future__ import annotations

import importlib
import importlib.util
import itertools
import re
import sys
import types
from functools import lru_cache
from typing import Any

from helpdesk.text.language import Language
from helpdesk.text.stopwords import ENGLISH_STOP_WORDS, JAPANESE_STOP_WORDS

_PUNCT = re.compile(r"^[\W_]+$", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_ASCII_WORD = re.compile(r"[a-z0-9]+(?:[._'\-][a-z0-9]+)*")

# UniDic parts of speech that carry no topic: particles, auxiliaries, symbols, whitespace.
_JA_SKIP_POS = frozenset({"助詞", "助動詞", "補助記号", "記号", "空白"})

MORPHEME_RUN = 64
"""The most characters of one run MeCab is given at once. For a run of one kind of character that it
reads as one unknown word (katakana, Latin letters, other letters, digits, symbols and emoji; not
hiragana or kanji), MeCab tries a word from each of the run's characters to its end, which is
quadratic in the run; no word is this long, so a longer run is cut into pieces of this many."""
_KINDS_READ_AS_RUNS = (
    r"[\u30a0-\u30ff\u31f0-\u31ff]",
    r"[A-Za-z]",
    r"[^\W\d_A-Za-z\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]",
    r"\d",
    r"(?:_|[^\w\s])",
)
_RUN_CUT = re.compile("|".join(rf"{kind}{{{MORPHEME_RUN}}}(?={kind})" for kind in _KINDS_READ_AS_RUNS))


@lru_cache(maxsize=1)
def _english_tokenizer() -> Any:
    """NLTK's word tokenizer (the word-level part of `nltk.word_tokenize`, which needs no downloaded data).

    `import nltk` executes the package's `__init__`, which imports every NLTK module and, through them,
    SciPy and scikit-learn, whose memory each service would carry for one class of regular expressions
    (the figure: docs/architecture.md, "Design decisions"). So, unless NLTK is already imported, the
    tokenizer's module is loaded on its own under placeholder parent packages, which are removed again
    afterwards so that a later `import nltk` still gets the real, complete package.
    """
    if "nltk" in sys.modules:
        from nltk.tokenize import NLTKWordTokenizer

        return NLTKWordTokenizer()
    spec = importlib.util.find_spec("nltk")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("nltk")
    roots = list(spec.submodule_search_locations)
    for name, paths in (("nltk", roots), ("nltk.tokenize", [f"{root}/tokenize" for root in roots])):
        placeholder = types.ModuleType(name)
        placeholder.__path__ = paths
        sys.modules[name] = placeholder
    try:
        return importlib.import_module("nltk.tokenize.destructive").NLTKWordTokenizer()
    finally:
        for name in [n for n in sys.modules if n == "nltk" or n.startswith("nltk.")]:
            del sys.modules[name]


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer  # PyStemmer: the Snowball stemmers compiled, ~10x faster than NLTK's

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _tagger() -> Any:
    import fugashi

    return fugashi.Tagger()


def _english_words(text: str) -> list[str]:
    """NLTK's word tokenizer expects one sentence (it splits only a final full stop), so the text is
    cut at sentence ends first: "broken. How" gives "broken", not "broken."."""
    tokenize = _english_tokenizer().tokenize
    return [
        t for sentence in _SENTENCE_END.split(text.lower()) for t in tokenize(sentence) if not _PUNCT.match(t)
    ]


def _tagged_pieces(text: str) -> list[str]:
    """`text` in the pieces MeCab is given: whole, but cut inside runs longer than `MORPHEME_RUN`."""
    cuts = [m.end() for m in _RUN_CUT.finditer(text)]
    if not cuts:
        return [text]
    return [text[start:end] for start, end in itertools.pairwise([0, *cuts, len(text)])]


def _japanese_morphemes(text: str) -> list[tuple[str, str, str]]:
    """(surface, lemma, part of speech) per morpheme. Lemmas like "リセット-reset" keep the kana part."""
    morphemes = []
    tagger = _tagger()
    for word in (word for piece in _tagged_pieces(text) for word in tagger(piece)):
        feature = word.feature
        lemma = getattr(feature, "lemma", None) or word.surface
        morphemes.append((word.surface, str(lemma).split("-", 1)[0], str(getattr(feature, "pos1", ""))))
    return morphemes


def words(text: str, language: Language) -> list[str]:
    """Surface tokens in reading order, lower-cased, punctuation dropped."""
    if language is Language.JA:
        return [s.lower() for s, _, pos in _japanese_morphemes(text) if pos not in _JA_SKIP_POS and s.strip()]
    return _english_words(text)


def terms(text: str, language: Language, *, keep_stop_words: bool = False) -> list[str]:
    """Index terms: what retrieval and classification compare. Order is kept; duplicates are not removed.

    Latin words inside Japanese text ("VPN に接続できない") are treated as English terms, so an English
    and a Japanese question about the VPN share the term `vpn`. Retrieval drops stop words; intent
    classification keeps them (`keep_stop_words=True`), because "how do I" and "can you" carry intent.
    Japanese particles and auxiliaries are dropped either way.
    """
    stem = _stemmer().stemWord
    if language is Language.JA:
        out: list[str] = []
        for surface, lemma, pos in _japanese_morphemes(text):
            if pos in _JA_SKIP_POS:
                continue
            lowered = surface.lower()
            if _ASCII_WORD.fullmatch(lowered):
                if keep_stop_words or lowered not in ENGLISH_STOP_WORDS:
                    out.append(stem(lowered))
                continue
            if not keep_stop_words and (lemma in JAPANESE_STOP_WORDS or surface in JAPANESE_STOP_WORDS):
                continue
            out.append(lemma.lower())
        return out
    return [stem(w) for w in _english_words(text) if keep_stop_words or w not in ENGLISH_STOP_WORDS]
