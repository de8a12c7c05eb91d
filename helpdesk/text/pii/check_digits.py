"""Finders for numbers that carry their own proof: payment cards (Luhn), Japanese My Number (its check
digit) and IBANs (mod 97 and the national checks python-stdnum knows)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from stdnum import iban, luhn
from stdnum.jp import in_ as my_number

from helpdesk.events import EntityType
from helpdesk.text.pii.digit_runs import SEPARATOR, windows
from helpdesk.text.pii.spans import Span

_IBAN = re.compile(
    rf"(?<![A-Za-z0-9])[A-Za-z]{{2}}[0-9]{{2}}(?:{SEPARATOR}?[A-Za-z0-9]){{11,30}}(?![A-Za-z0-9])"
)
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}")
_ASCII_ALNUM = re.compile(r"[A-Za-z0-9]")


CARD_DIGITS = 19
MY_NUMBER_DIGITS = 12


def _card_shape(sizes: list[int]) -> bool:
    if not 13 <= sum(sizes) <= CARD_DIGITS:
        return False
    if len(sizes) == 1 or sizes in ([4, 6, 5], [4, 6, 4]):
        return True
    return len(sizes) >= 3 and all(size == 4 for size in sizes[:-1]) and sizes[-1] <= 4


def _is_card(digits: str) -> bool:
    return digits[0] in "23456" and luhn.is_valid(digits)


def cards(text: str) -> Iterator[Span]:
    for start, end, digits in windows(text, _card_shape, _is_card, CARD_DIGITS):
        yield Span(EntityType.CARD_NUMBER, start, end, text[start:end], digits)


def my_numbers(text: str) -> Iterator[Span]:
    for start, end, digits in windows(
        text, lambda s: s in ([MY_NUMBER_DIGITS], [4, 4, 4]), my_number.is_valid, MY_NUMBER_DIGITS
    ):
        yield Span(EntityType.MY_NUMBER, start, end, text[start:end], digits)


def ibans(text: str) -> Iterator[Span]:
    """The pattern is greedy ("GB82 WEST ... 32 please" runs into the next word), so the longest prefix
    that passes the mod-97 check and ends at a word boundary is the IBAN. Every place an IBAN could start
    is tried, since a failed candidate ("TK1234567 and ...") may have run over a real one."""
    taken = 0
    for start in _IBAN_START.finditer(text):
        m = _IBAN.match(text, start.start())
        if m is None or start.start() < taken:
            continue
        positions = [m.start() + i for i, ch in enumerate(m.group()) if _ASCII_ALNUM.match(ch)]
        compact = "".join(text[i] for i in positions).upper()
        for length in range(len(compact), 14, -1):
            end = positions[length - 1] + 1
            if (end == len(text) or not _ASCII_ALNUM.match(text[end])) and iban.is_valid(compact[:length]):
                yield Span(EntityType.IBAN, m.start(), end, text[m.start() : end], compact[:length])
                taken = end
                break
