"""What the finders share: digit groups as people separate them (space, hyphen, dot or slash, also with
spaces around the mark), numbers of a given group shape inside such runs, what makes a number a quantity
rather than an identifier, and keywords near a span. All indices are into the detection view."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import pairwise

SEPARATOR = r"(?:[ \t]{0,2}[-./][ \t]{0,2}|[ \t]{1,2})"
DIGITS = re.compile(r"[0-9]")
_DIGIT_RUN = re.compile(rf"(?<![0-9])(?>[0-9]+(?:{SEPARATOR}[0-9]+)*)")
_SEP_MARK = re.compile(r"[-./]")
_LETTER = re.compile(r"[A-Za-z]")
# A number followed by a unit or counter is a quantity ("2-3日", "1234567円", "100 GB"), not an identifier.
# Japanese counters attach to the number; units in Latin letters may follow a space.
_QUANTITY_UNIT = (
    r"(?:円|万|億|千|ドル|ユーロ|日|時|分|秒|人|名|回|件|個|台|枚|本|年|月|週|歳|位|%|ヶ月|か月"
    r"|[ \t]?(?i:yen|jpy|usd|eur|gb|mb|kb|tb|ms|px|days?|hours?|minutes?|times|pcs)(?![A-Za-z]))"
)
NOT_A_QUANTITY = rf"(?!{_QUANTITY_UNIT})"
"""A lookahead for patterns: the number is not followed by a unit or counter."""
QUANTITY_AFTER = re.compile(_QUANTITY_UNIT)
_KEYWORD_BEFORE = 30
_KEYWORD_AFTER = 20


def before(text: str, start: int, width: int = _KEYWORD_BEFORE) -> str:
    """Up to `width` characters before `start`, on the same line."""
    return text[max(0, start - width) : start].rsplit("\n", 1)[-1]


def after(text: str, end: int, width: int = _KEYWORD_AFTER) -> str:
    """Up to `width` characters after `end`, on the same line."""
    return text[end : end + width].split("\n", 1)[0]


def near(text: str, start: int, end: int, word: re.Pattern[str], after_too: bool = True) -> bool:
    """Whether `word` occurs shortly before the span (or, with `after_too`, shortly after it)."""
    return bool(word.search(before(text, start)) or (after_too and word.search(after(text, end))))


def attached(beside: str) -> bool:
    """Whether the characters beside a digit run (nearest first) make it part of an identifier: a letter
    right there, or after a hyphen or slash ("INC0012345678", "550e8400-...-446655440000")."""
    return bool(_LETTER.match(beside[:1]) or (beside[:1] in ("-", "/") and _LETTER.match(beside[1:2])))


@dataclass(frozen=True, slots=True)
class _Run:
    """Digit groups joined by separators, as found in the view."""

    groups: tuple[tuple[int, int], ...]
    joins: tuple[str, ...]
    """The mark between group i and i+1: "-", ".", "/" or " " for whitespace only."""
    letter_before: bool
    letter_after: bool

    def size(self, index: int) -> int:
        start, end = self.groups[index]
        return end - start


def _runs(text: str) -> Iterator[_Run]:
    for m in _DIGIT_RUN.finditer(text):
        groups = tuple((g.start(), g.end()) for g in re.finditer(r"[0-9]+", m.group()))
        groups = tuple((m.start() + s, m.start() + e) for s, e in groups)
        joins = tuple(
            (mark.group() if (mark := _SEP_MARK.search(text[a_end:b_start])) else " ")
            for (_, a_end), (b_start, _) in pairwise(groups)
        )
        preceding = text[max(0, m.start() - 2) : m.start()]
        yield _Run(groups, joins, attached(preceding[::-1]), attached(text[m.end() :]))


def _continues(join: str, inner: str | None, neighbour_size: int) -> bool:
    """Whether a neighbouring group joined by `join` belongs to the same number as a window whose groups
    are joined by `inner` (None for a one-group window)."""
    if inner is None:
        return join != " "
    return join == inner and (join != " " or neighbour_size == 4)


def windows(
    text: str, shape: Callable[[list[int]], bool], valid: Callable[[str], bool], max_digits: int
) -> Iterator[tuple[int, int, str]]:
    """(start, end, digits) of the numbers of the given group shape that pass `valid`, found inside digit
    runs: "4111 1111 1111 1111 12/27" holds a card followed by an expiry date, while a fifth group of four
    joined the same way makes it a longer number that is none of the kinds looked for.

    `max_digits` is the most digits a number of the kind has (`shape` refuses anything longer): only
    windows within it are tried, so a run of many short groups ("1/2 1/2 1/2 ...", thousands of them
    in one message) costs time in proportion to its length, not to its cube."""
    for run in _runs(text):
        count = len(run.groups)
        i = 0
        while i < count:
            last, digits_in = i - 1, 0
            while last + 1 < count and digits_in + run.size(last + 1) <= max_digits:
                last += 1
                digits_in += run.size(last)
            for j in range(last, i - 1, -1):
                sizes = [end - start for start, end in run.groups[i : j + 1]]
                if not shape(sizes):
                    continue
                if (i == 0 and run.letter_before) or (j == count - 1 and run.letter_after):
                    continue
                if QUANTITY_AFTER.match(text, run.groups[j][1]):
                    continue
                inner = run.joins[i] if j > i else None
                if i > 0 and _continues(run.joins[i - 1], inner, run.size(i - 1)):
                    continue
                if j < count - 1 and _continues(run.joins[j], inner, run.size(j + 1)):
                    continue
                start, end = run.groups[i][0], run.groups[j][1]
                digits = "".join(text[s:e] for s, e in run.groups[i : j + 1])
                if valid(digits):
                    yield start, end, digits
                    i = j
                    break
            i += 1
