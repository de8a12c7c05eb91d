"""Finding the system prompt or its canary in what the model wrote, in any form a user could read back.

An extraction attack seldom gets the prompt out verbatim: the model is told to escape it, encode it,
reverse it or spread it over short lines, and the user decodes it at leisure. So the check runs on what
the user would be shown (the decoded fields of the model's JSON, see validation.py), and on views of it:

- folded: NFKC (full-width and compatibility forms to plain ones), format characters removed
  (zero-width spaces and joiners, soft hyphens, bidi marks), case folded;
- unescaped: `\\u0065`, `\\U00000065`, `\\u{65}`, `\\x65` (UTF-8 byte runs too), HTML character
  references (`&#101;`, `&#x65;`, `&eacute;`) and URL percent escapes, decoded until nothing changes;
- decoded: every run that could be base64 (standard or URL-safe alphabet, at each of the four
  alignments, so the encoding of a substring embedded in other text is found too, with line breaks
  inside the run allowed) or hex, kept when it decodes to mostly printable text, and then viewed again;
- joined: line breaks removed, for text cut into short lines in the middle of words;
- reversed: the characters, and the order of the words.

The canary is a random token that only the system prompt holds, so any occurrence is a leak. It is
compared on skeletons (letters and digits only, folded), which also catches it split by spaces, line
breaks, hyphens or dots, or with its case or width changed; its random tail alone counts too.

The prompt itself is public in this repository, so what matters is a substantial echo of it, however
reworded. It is compared by word 5-grams (a Japanese character is a word): the instruction n-grams are
those of the system message minus any that also occur in the FAQ entries and document passages given
as data, so an answer that quotes the FAQ or a manual never counts. A view leaks the prompt when it
holds at least `COVERAGE` of the instruction n-grams (a paraphrase or a shuffle keeps many of them), or
`RUN` consecutive ones (a verbatim passage of about one whole rule; `RUN_CJK` for a Japanese prompt).
The thresholds and how they were chosen are in docs/llm.md, section 4.

Pure functions, no I/O: the generator builds a `LeakCheck` per call and logs and counts what it finds.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import unquote

from helpdesk.text.normalise import without_invisible

NGRAM = 5
"""Words per n-gram: long enough that ordinary phrases of helpdesk answers rarely repeat the rules."""
COVERAGE = 0.2
"""Share of the instruction n-grams that, found in one view, makes it a prompt leak."""
RUN = 12
"""Consecutive instruction n-grams that make a leak: a verbatim span of RUN + NGRAM - 1 = 16 words, about
one whole rule. Shorter echoes are normal: a model declining as rule 5 says ("I cannot answer it from
the helpdesk's knowledge base and offer to hand you over to a human agent") repeats 13 words."""
RUN_CJK = 32
"""The same for a Japanese prompt, whose tokens are characters: a verbatim span of 36 characters
(ordinary answers repeat up to about 16, e.g. "ナレッジベースからは答えられない")."""
MIN_CANARY_TAIL = 12
"""The canary's random tail alone counts as the canary when at least this long (16 hex characters in
production; a chance match is then out of the question)."""

_DEPTH = 2
"""Decoding rounds: an encoding inside an encoding (base64 of escaped text) is still found."""
_MAX_DECODED = 64
"""Decoded candidates examined per text, so that a hostile output cannot make the check expensive."""
_MIN_DECODED_CHARS = 8
_MIN_PRINTABLE = 0.85

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")
_CJK_CHAR = re.compile(rf"[{_CJK}]")
_CODE_POINT = re.compile(
    r"\\u\{(?P<braced>[0-9a-fA-F]{1,6})\}|\\u(?P<u4>[0-9a-fA-F]{4})|\\U(?P<u8>[0-9a-fA-F]{8})"
)
_BYTE_RUN = re.compile(r"(?:\\x[0-9a-fA-F]{2})+")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_\-]{16,}={0,2}")
_HEX_RUN = re.compile(r"(?:[0-9a-fA-F]{2}){8,}")
_SPACE = re.compile(r"\s+")
_LINE_BREAK = re.compile(r"\r?\n")
_URLSAFE = str.maketrans("-_", "+/")


class LeakKind(StrEnum):
    CANARY = "canary"
    PROMPT = "prompt"


@dataclass(frozen=True, slots=True)
class Leak:
    kind: LeakKind
    form: str
    """How it was written: plain, joined, escaped, base64 or hex, chained for nested encodings
    (base64+escaped), with +reversed when it read backwards. A label of the metric: a small set."""


def visible(text: str) -> str:
    """What a reader sees, case kept: invisible characters removed, then NFKC."""
    return unicodedata.normalize("NFKC", without_invisible(text))


def folded(text: str) -> str:
    return visible(text).casefold()


def skeleton(text: str) -> str:
    """Letters and digits only, folded: immune to separators, case and width."""
    return "".join(ch for ch in folded(text) if ch.isalnum())


def words(text: str) -> list[str]:
    """Folded word tokens; each Japanese or Chinese character is a token of its own."""
    return _TOKEN.findall(folded(text))


def ngrams(tokens: Sequence[str], n: int = NGRAM) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


# ---- decoding ----------------------------------------------------------------------------------------


def _code_point(match: re.Match[str]) -> str:
    value = int(match.group("braced") or match.group("u4") or match.group("u8"), 16)
    return chr(value) if value <= 0x10FFFF else match.group(0)


def _bytes(match: re.Match[str]) -> str:
    raw = bytes.fromhex(match.group(0).replace("\\x", ""))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _unescape_once(text: str) -> str:
    text = _CODE_POINT.sub(_code_point, text)
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")  # \ud83d\ude00 pairs
    text = _BYTE_RUN.sub(_bytes, text)
    text = html.unescape(text)
    return unquote(text, errors="replace")


def unescaped(text: str) -> str:
    """Escapes of every common kind decoded, until nothing changes (nested escapes included)."""
    for _ in range(4):
        decoded = _unescape_once(text)
        if decoded == text:
            break
        text = decoded
    return text


def _readable(raw: bytes) -> str | None:
    text = raw.decode("utf-8", errors="replace")
    if len(text) < _MIN_DECODED_CHARS:
        return None
    good = sum(1 for ch in text if ch != "\ufffd" and (ch.isprintable() or ch.isspace()))
    return text if good / len(text) >= _MIN_PRINTABLE else None


def _base64_runs(text: str) -> Iterator[str]:
    yield from (m.group(0) for m in _BASE64_RUN.finditer(text))
    joined = _SPACE.sub("", text)
    if joined != text:
        yield from (m.group(0) for m in _BASE64_RUN.finditer(joined))


def _base64(run: str) -> Iterator[str]:
    body = run.rstrip("=").translate(_URLSAFE)  # the URL-safe alphabet differs in these two only
    for offset in range(4):
        chunk = body[offset:]
        if len(chunk) % 4 == 1:
            chunk = chunk[:-1]
        if not chunk:
            continue
        chunk += "=" * (-len(chunk) % 4)
        try:
            raw = base64.b64decode(chunk, validate=True)
        except (binascii.Error, ValueError):
            continue
        if (text := _readable(raw)) is not None:
            yield text


def decodings(text: str) -> Iterator[tuple[str, str]]:
    """(form, decoded text) for each base64 or hex run of `text` that decodes to readable text."""
    seen: set[str] = set()
    for run in dict.fromkeys(_base64_runs(text)):
        for decoded in _base64(run):
            if decoded not in seen:
                seen.add(decoded)
                yield "base64", decoded
    for run in dict.fromkeys(m.group(0) for m in _HEX_RUN.finditer(_SPACE.sub("", text))):
        decoded_hex = _readable(bytes.fromhex(run))
        if decoded_hex is not None and decoded_hex not in seen:
            seen.add(decoded_hex)
            yield "hex", decoded_hex


def views(text: str, depth: int = _DEPTH) -> Iterator[tuple[str, str]]:
    """(form, text) for the text as written, unescaped, and decoded (recursively, `depth` rounds)."""
    shown = visible(text)
    yield "plain", shown
    if "\n" in shown:
        yield "joined", _LINE_BREAK.sub("", shown)
    plain = visible(unescaped(shown))
    if plain != shown:
        yield "escaped", plain
    if depth <= 0:
        return
    for count, (form, decoded) in enumerate(decodings(plain)):
        if count >= _MAX_DECODED:
            return
        for inner, view in views(decoded, depth - 1):
            yield (form if inner == "plain" else f"{form}+{inner}"), view


# ---- the check ----------------------------------------------------------------------------------------


def _longest_run(grams: Sequence[tuple[str, ...]], known: frozenset[tuple[str, ...]]) -> int:
    longest = current = 0
    for gram in grams:
        current = current + 1 if gram in known else 0
        longest = max(longest, current)
    return longest


@dataclass(frozen=True, slots=True)
class Overlap:
    coverage: float
    """Share of the instruction n-grams found."""
    run: int
    """Longest run of consecutive instruction n-grams."""


class LeakCheck:
    """The secrets of one model call: its canary and the instruction n-grams of its system prompt."""

    def __init__(self, canary: str, instructions: str, data: Iterable[str] = ()) -> None:
        marks = {skeleton(canary)}
        tail = skeleton(canary.rsplit("-", 1)[-1])
        if len(tail) >= MIN_CANARY_TAIL:
            marks.add(tail)
        self._marks = frozenset(mark for mark in marks if mark)
        shared = {gram for text in data for gram in ngrams(words(text))}
        tokens = words(instructions)
        self._instructions = frozenset(set(ngrams(tokens)) - shared)
        cjk = sum(1 for token in tokens if _CJK_CHAR.fullmatch(token))
        self._run = RUN_CJK if tokens and cjk * 2 >= len(tokens) else RUN

    def overlap(self, text: str) -> Overlap:
        """How much of the instructions one view of a text repeats (forwards, or words reversed)."""
        if not self._instructions:
            return Overlap(0.0, 0)
        tokens = words(text)
        best = Overlap(0.0, 0)
        for order in (tokens, tokens[::-1]):
            grams = ngrams(order)
            found = self._instructions.intersection(grams)
            coverage = len(found) / len(self._instructions)
            run = _longest_run(grams, self._instructions)
            best = Overlap(max(best.coverage, coverage), max(best.run, run))
        return best

    def _in_view(self, view: str) -> LeakKind | None:
        bones = skeleton(view)
        if any(mark in bones for mark in self._marks):
            return LeakKind.CANARY
        overlap = self.overlap(view)
        if overlap.coverage >= COVERAGE or overlap.run >= self._run:
            return LeakKind.PROMPT
        return None

    def find(self, texts: Iterable[str]) -> Leak | None:
        """The first leak in any view of any of the texts, the canary before the prompt."""
        found: Leak | None = None
        for text in texts:
            for form, view in views(text):
                for suffix, candidate in (("", view), ("+reversed", view[::-1])):
                    kind = self._in_view(candidate)
                    if kind is LeakKind.CANARY:
                        return Leak(kind, form + suffix)
                    if kind is LeakKind.PROMPT and found is None:
                        found = Leak(kind, form + suffix)
        return found
