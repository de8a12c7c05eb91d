"""Finders for numbers that are personal data only when a word nearby says so: passport numbers and bank
accounts. Without the keyword the same digits are a ticket, an order or an amount, and stay."""

from __future__ import annotations

import re
from collections.abc import Iterator

from helpdesk.events import EntityType
from helpdesk.text.pii.digit_runs import DIGITS, NOT_A_QUANTITY, near
from helpdesk.text.pii.spans import Span

_PASSPORT_WORD = re.compile(r"passport|旅券|パスポート", re.IGNORECASE)
_PASSPORT = re.compile(r"(?<![A-Za-z0-9])(?<![0-9][-./])[A-Za-z0-9]{6,9}(?![A-Za-z0-9])(?![-./][0-9])")
_BANK_WORD = re.compile(
    r"口座|預金|普通|当座|支店|店番|振込先|bank\s*account|account\s*(?:number|no\b|#)|acct|a/c|sort\s*code"
    r"|routing\s*(?:number|no\b)",
    re.IGNORECASE,
)
_BANK_NUMBER = re.compile(
    rf"(?<![0-9A-Za-z])(?<![0-9][-./])[0-9]{{2,8}}(?:[-./][0-9]{{2,8}}){{0,2}}(?![0-9A-Za-z])(?![-./][0-9]){NOT_A_QUANTITY}"
)


def passports(text: str) -> Iterator[Span]:
    if not _PASSPORT_WORD.search(text):
        return
    for m in _PASSPORT.finditer(text):
        token = m.group()
        if not DIGITS.search(token):
            continue
        # Seven digits or fewer are a passport number only after the word ("passport no. 1234567"), so
        # that "account no. 1234567, passport ..." stays an account; longer ones and those with letters
        # ("TK1234567 is my passport number") may come before it.
        after_too = len(token) >= 8 or not token.isdigit()
        if near(text, m.start(), m.end(), _PASSPORT_WORD, after_too=after_too):
            yield Span(EntityType.PASSPORT, m.start(), m.end(), token, token.upper())


def bank_accounts(text: str) -> Iterator[Span]:
    if not _BANK_WORD.search(text):
        return
    for m in _BANK_NUMBER.finditer(text):
        digits = "".join(DIGITS.findall(m.group()))
        if 6 <= len(digits) <= 14 and near(text, m.start(), m.end(), _BANK_WORD, after_too=False):
            yield Span(EntityType.BANK_ACCOUNT, m.start(), m.end(), m.group(), digits)
