"""Personal data in what people type: finding it and replacing it with typed placeholders.

Shared by nlp (chat messages) and the evaluator (feedback comments, agents' answers, which do not pass
through nlp), so both redact the same way.

The redacted text is the only form of the user's words that may reach an LLM, logs or stored evaluation
records, so detection leans towards recall for contact data (e-mail, phone) and towards precision for
numbers whose check digits can be verified (card numbers by Luhn, IBAN by mod-97, Japanese My Number by
its check digit): a ticket number or an amount is not redacted just because it is long.
Check digits come from python-stdnum, the maintained library of such algorithms; phone numbers from
`phonenumbers` (Google's libphonenumber metadata), which knows both Japanese and international formats.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import phonenumbers
from stdnum import iban, luhn
from stdnum.jp import in_ as my_number

from helpdesk.events import EntityType

PLACEHOLDERS: dict[EntityType, str] = {
    EntityType.EMAIL: "[EMAIL]",
    EntityType.PHONE: "[PHONE]",
    EntityType.CARD_NUMBER: "[CARD]",
    EntityType.IBAN: "[IBAN]",
    EntityType.MY_NUMBER: "[MY_NUMBER]",
}
SENSITIVE = frozenset(PLACEHOLDERS)

_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Digit groups separated by single spaces or hyphens; look-arounds instead of \b because Japanese text
# puts letters right against the digits ("番号は4111...です").
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_MY_NUMBER = re.compile(r"(?<![\d-])\d{4}[ -]?\d{4}[ -]?\d{4}(?![\d-])")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ ]?[A-Za-z0-9]){11,30}(?![A-Za-z0-9])")
_DIGITS = re.compile(r"\d")
_ASCII_ALNUM = re.compile(r"[A-Za-z0-9]")
_PHONE_REGIONS = ("JP", "US", "GB")
_MIN_PHONE_DIGITS = 7


@dataclass(frozen=True, slots=True)
class Span:
    """A found entity in the normalised text; `value` is the canonical form (ISO date, digits, ...)."""

    type: EntityType
    start: int
    end: int
    text: str
    value: str | None = None

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _emails(text: str) -> Iterator[Span]:
    for m in _EMAIL.finditer(text):
        yield Span(EntityType.EMAIL, m.start(), m.end(), m.group(), m.group().lower())


def _cards(text: str) -> Iterator[Span]:
    for m in _CARD.finditer(text):
        digits = _digits(m.group())
        if 13 <= len(digits) <= 19 and luhn.is_valid(digits):
            yield Span(EntityType.CARD_NUMBER, m.start(), m.end(), m.group(), digits)


def _ibans(text: str) -> Iterator[Span]:
    """The pattern is greedy ("GB82 WEST ... 32 please" runs into the next word), so the longest prefix
    that passes the mod-97 check and ends at a word boundary is the IBAN."""
    for m in _IBAN.finditer(text):
        positions = [m.start() + i for i, ch in enumerate(m.group()) if ch != " "]
        compact = "".join(text[i] for i in positions).upper()
        for length in range(len(compact), 14, -1):
            end = positions[length - 1] + 1
            if (end == len(text) or not _ASCII_ALNUM.match(text[end])) and iban.is_valid(compact[:length]):
                yield Span(EntityType.IBAN, m.start(), end, text[m.start() : end], compact[:length])
                break


def _my_numbers(text: str) -> Iterator[Span]:
    for m in _MY_NUMBER.finditer(text):
        digits = _digits(m.group())
        if my_number.is_valid(digits):
            yield Span(EntityType.MY_NUMBER, m.start(), m.end(), m.group(), digits)


def _phones(text: str) -> Iterator[Span]:
    """International numbers ("+81 3-1234-5678") and national ones in Japanese, US and UK formats."""
    if len(_DIGITS.findall(text)) < _MIN_PHONE_DIGITS:
        return
    for region in _PHONE_REGIONS:
        for match in phonenumbers.PhoneNumberMatcher(text, region):
            e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            yield Span(EntityType.PHONE, match.start, match.end, match.raw_string, e164)


# Earlier finders win overlaps: a Luhn-valid card number is not also reported as a phone number.
_FINDERS = (_emails, _ibans, _cards, _my_numbers, _phones)


def find_sensitive(text: str) -> list[Span]:
    """Spans of personal data, non-overlapping, in text order."""
    found: list[Span] = []
    for finder in _FINDERS:
        for span in finder(text):
            if not any(span.overlaps(kept) for kept in found):
                found.append(span)
    return sorted(found, key=lambda s: s.start)


def redact(text: str, spans: list[Span]) -> str:
    """The text with every sensitive span replaced by its typed placeholder (`[EMAIL]`, `[CARD]`, ...)."""
    out: list[str] = []
    cursor = 0
    for span in sorted((s for s in spans if s.type in SENSITIVE), key=lambda s: s.start):
        if span.start < cursor:
            continue
        out.append(text[cursor : span.start])
        out.append(PLACEHOLDERS[span.type])
        cursor = span.end
    out.append(text[cursor:])
    return "".join(out)


def redact_text(text: str) -> str:
    """`text` with its personal data replaced, in one call."""
    return redact(text, find_sensitive(text))
