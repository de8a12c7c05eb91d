"""Redacting what people type before the evaluator stores it (feedback comments, agents' answers).

The nlp service redacts chat messages before they travel, but feedback comments and agents' replies do
not pass through it. Services never import each other, so this is a small, conservative copy of the
patterns that matter most (e-mail, phone, card, IBAN, Japanese My Number); it prefers over-redaction.
Candidate for the shared kernel once nlp's redaction settles.
"""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b")
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_MY_NUMBER = re.compile(r"(?<!\d)\d{4}[ -]?\d{4}[ -]?\d{4}(?!\d)")
_PHONE = re.compile(r"(?<![0-9A-Za-z])(?:\+\d{1,3}[ -]?)?(?:\(?\d{2,4}\)?[ -]?){2,4}\d{3,4}(?![0-9A-Za-z])")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "[CARD]" if 13 <= len(digits) <= 19 and _luhn_ok(digits) else match.group(0)


def redact(text: str) -> str:
    """The text with personal data replaced by placeholders: [EMAIL], [IBAN], [CARD], [MY_NUMBER], [PHONE]."""
    text = _EMAIL.sub("[EMAIL]", text)
    text = _IBAN.sub("[IBAN]", text)
    text = _CARD.sub(_card, text)
    text = _MY_NUMBER.sub("[MY_NUMBER]", text)
    return _PHONE.sub("[PHONE]", text)
