"""Finding every kind of personal data in one pass, and replacing what was found with placeholders."""

from __future__ import annotations

import re
from collections.abc import Iterator

from helpdesk.text.pii.addresses import address_lines, postal_codes
from helpdesk.text.pii.check_digits import cards, ibans, my_numbers
from helpdesk.text.pii.contact import emails, ip_addresses, phones
from helpdesk.text.pii.keyword_numbers import bank_accounts, passports
from helpdesk.text.pii.spans import PLACEHOLDERS, SENSITIVE, KeptSpans, Span
from helpdesk.text.pii.view import DetectionView

_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS.values()))
_PLACEHOLDER_TYPES = {placeholder: kind for kind, placeholder in PLACEHOLDERS.items()}
_LONGEST_PLACEHOLDER = max(len(p) for p in PLACEHOLDERS.values())


def _placeholders(text: str) -> Iterator[Span]:
    """Placeholders already in the text (the gateway redacted it): reported as what they stand for."""
    for m in _PLACEHOLDER.finditer(text):
        yield Span(_PLACEHOLDER_TYPES[m.group()], m.start(), m.end(), m.group())


# Earlier finders win overlaps: a Luhn-valid card number is not also reported as a phone number, and the
# keyword-bound kinds come before phones so that "口座 0312345678" is an account.
_FINDERS = (
    _placeholders,
    emails,
    ibans,
    cards,
    my_numbers,
    passports,
    bank_accounts,
    postal_codes,
    ip_addresses,
    phones,
    address_lines,
)


def _blanked(text: str, spans: list[Span]) -> str:
    """`text` with spaces over `spans` (non-overlapping), in one pass however many there are."""
    out: list[str] = []
    cursor = 0
    for span in sorted(spans, key=lambda s: s.start):
        out += (text[cursor : span.start], " " * (span.end - span.start))
        cursor = span.end
    out.append(text[cursor:])
    return "".join(out)


def find_sensitive(text: str) -> list[Span]:
    """Spans of personal data in `text` (indices into `text` as given), non-overlapping, in text order."""
    view = DetectionView.of(text)
    found = KeptSpans()
    remaining = view.text
    for finder in _FINDERS:
        kept = [span for span in finder(remaining) if found.add(span)]
        if kept:
            # Later finders see blanks where personal data was found: less to scan (the phone
            # matcher is the costly one) and nothing to find twice.
            remaining = _blanked(remaining, kept)
    spans = []
    for span in found:
        start, end = view.source_span(span.start, span.end)
        spans.append(Span(span.type, start, end, text[start:end], span.value))
    return spans


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


def cut_redacted(text: str, limit: int) -> str:
    """Redacted `text` cut to at most `limit` characters, never inside a placeholder: one the cut would
    split is left out whole, since its first half ("[EMA") is no longer recognised as personal data and
    would reach readers and models as if the user had written it. Only the placeholders near the cut
    are looked at, so this costs the same however long the text."""
    if len(text) <= limit:
        return text
    near = max(0, limit - _LONGEST_PLACEHOLDER + 1)
    for found in _PLACEHOLDER.finditer(text, near, limit + _LONGEST_PLACEHOLDER):
        if found.start() < limit < found.end():
            return text[: found.start()]
    return text[:limit]
