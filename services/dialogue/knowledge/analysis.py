"""Retrieval's view of text, on top of `helpdesk.text.terms` (which nlp and the evaluator share).

What retrieval adds, measured on StackFAQ and the default knowledge base (docs/benchmarks.md):
- a full stop is split from the word before it, as the word tokenizer does only at the very end;
- question filler ("is there a way", "is it possible", "方法を教えて") is dropped from queries: it says
  that something is asked, not what;
- Japanese is compared character by character on its content words, not on the whole sentence;
- katakana loanwords are folded to one spelling (プリンター and プリンタ, コンピューター and コンピュータ);
- an English word split in two ("git hub", "e mail", "back up") is also read as the joined word when
  the knowledge base uses that word;
- an English word the knowledge base does not know is read as the known word one letter away
  ("pasword" as "password"), the most frequent one when several are.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache

from helpdesk.events import Language
from helpdesk.text import normalise
from helpdesk.text import terms as shared_terms

_KATAKANA_WORD = re.compile(r"^[\u30a0-\u30ff]{3,}ー$")
_LATIN_TERM = re.compile(r"^[a-z]+$")
_LATIN_WORD = re.compile(r"[a-z]+")
_FULL_STOP = re.compile(r"([A-Za-z])\.(?=\s)")
_HYPHENATED = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)+$")

_ENGLISH_FILLER_WORDS = """
way ways possible possibly want wanted need needed know able option options something somehow anyone
anybody someone somebody everything anything thing things really actually just still quickly easily
easiest best simple simply manage trying try tried help
"""

_JAPANESE_FILLER = frozenset(
    """
方法 教える 知る 遣る 分かる 出来る 仕舞う 欲しい 思う 可能 件 際 場合 良い 如何 今日は 有り難う 困る 時 つく
""".split()  # noqa: SIM905 - a word list reads better as text
)


_ANALYSER = threading.Lock()


def terms(text: str, language: Language) -> list[str]:
    """`helpdesk.text.terms`, one call at a time: indexes are built in a worker thread while turns are
    answered on the event loop, and the MeCab tagger and the Snowball stemmer behind it are shared
    objects that are not safe to use from two threads at once."""
    with _ANALYSER:
        return shared_terms(text, language)


@lru_cache(maxsize=1)
def _english_filler() -> frozenset[str]:
    return frozenset(terms(_ENGLISH_FILLER_WORDS, Language.EN))


def _fold(term: str) -> str:
    return term[:-1] if _KATAKANA_WORD.match(term) else term


def _with_parts(term: str) -> list[str]:
    """A hyphenated term, its parts and its joined form: "two-factor" also meets "factor", and
    "e-mail" also meets "email"."""
    if "-" not in term or not _HYPHENATED.match(term):
        return [term]
    parts = term.split("-")
    return [term, *terms(" ".join(parts), Language.EN), *terms("".join(parts), Language.EN)]


def _analysed(text: str, language: Language) -> tuple[str, ...]:
    text = _FULL_STOP.sub(r"\1 .", text)
    return tuple(_fold(part) for t in terms(text, language) for part in _with_parts(t))


@lru_cache(maxsize=200_000)
def index_terms(text: str, language: Language) -> tuple[str, ...]:
    """The terms a knowledge-base text is indexed under (cached: re-indexing mostly sees old text).

    A full stop inside a text is split from its word first: the word tokenizer only splits the last
    one, and "broken." would otherwise be a term of its own."""
    return _analysed(text, language)


QUESTIONS_KEPT = 512


@lru_cache(maxsize=QUESTIONS_KEPT)
def question_terms(text: str, language: Language) -> tuple[str, ...]:
    """`index_terms` of a user's message. A turn reads its text several times (searched alone and
    after the previous question, checked for a follow-up or for the choice it picks), but messages
    seldom repeat: only the latest few hundred are kept, where the knowledge base's cache would keep
    every message ever asked."""
    return _analysed(text, language)


def character_text(
    text: str, language: Language, analyse: Callable[[str, Language], Sequence[str]] = index_terms
) -> str:
    """The text character n-grams are taken from. Japanese is compared on its content words (lemmas,
    space-separated): on the raw sentence, shared grammar ("はどうやって申請しますか") would make
    unrelated questions look alike. `analyse` gives the terms (`question_terms` for a user's message)."""
    if language is Language.JA:
        return " ".join(analyse(text, language))
    return normalise(text)


def filler(language: Language) -> frozenset[str]:
    return _JAPANESE_FILLER if language is Language.JA else _english_filler()


def _deletes(term: str) -> set[str]:
    return {term[:i] + term[i + 1 :] for i in range(len(term))}


class Vocabulary:
    """The terms an index knows, with how many entries use each; corrects queries against them."""

    MIN_CORRECTED_LENGTH = 6

    def __init__(self, document_frequency: Mapping[str, int], surface: Iterable[str] = ()) -> None:
        self.document_frequency = dict(document_frequency)
        self.surface = frozenset(surface)
        """Latin words as written in the knowledge base (lower case), for joining split words."""
        near: dict[str, str] = {}
        for term, _ in sorted(self.document_frequency.items(), key=lambda item: (-item[1], item[0])):
            if len(term) < self.MIN_CORRECTED_LENGTH - 1 or not _LATIN_TERM.match(term):
                continue
            for variant in _deletes(term):
                near.setdefault(variant, term)
        self._near = near
        self._longest_word = max(
            (len(term) for term in self.document_frequency if _LATIN_TERM.match(term)), default=0
        )
        """A word more than one letter longer is one edit away from no known word."""

    def __contains__(self, term: object) -> bool:
        return term in self.document_frequency

    def correct(self, term: str) -> str | None:
        """The known term one edit (deletion, insertion, substitution) away, if any."""
        if not self.MIN_CORRECTED_LENGTH <= len(term) <= self._longest_word + 1:
            return None
        if not _LATIN_TERM.match(term):
            return None
        candidates = [known for known in (self._near.get(term),) if known]
        for variant in _deletes(term):
            if variant in self.document_frequency:
                candidates.append(variant)
            if (known := self._near.get(variant)) is not None:
                candidates.append(known)
        if not candidates:
            return None
        return max(candidates, key=lambda known: (self.document_frequency.get(known, 0), known))


def latin_words(text: str) -> list[str]:
    return _LATIN_WORD.findall(text.lower())


def _joined(text: str, vocabulary: Vocabulary) -> Iterable[str]:
    written = latin_words(text)
    for first, second in itertools.pairwise(written):
        if first + second in vocabulary.surface:
            joined = terms(first + second, Language.EN)
            if len(joined) == 1 and joined[0] in vocabulary:
                yield joined[0]


def query_terms(text: str, language: Language, vocabulary: Vocabulary) -> list[str]:
    """The terms a user's question is searched with."""
    dropped = filler(language)
    out: list[str] = []
    for term in question_terms(text, language):
        if term in dropped:
            continue
        if term not in vocabulary and (known := vocabulary.correct(term)) is not None:
            term = known
        out.append(term)
    if language is Language.EN:
        out.extend(_joined(text, vocabulary))
    return out
