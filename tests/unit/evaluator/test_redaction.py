from __future__ import annotations

import pytest

from helpdesk.text.pii import redact_text as redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to jo.doe+x@example.co.jp please", "write to [EMAIL] please"),
        ("card 4111 1111 1111 1111 failed", "card [CARD] failed"),
        ("call +81 90-1234-5678", "call [PHONE]"),
        ("電話は03-1234-5678です", "電話は[PHONE]です"),
        ("IBAN DE89 3704 0044 0532 0130 00", "IBAN [IBAN]"),
        ("マイナンバーは6214 9832 0257", "マイナンバーは[MY_NUMBER]"),
        ("ticket INC-12345, version 2.0, 2026-11-22", "ticket INC-12345, version 2.0, 2026-11-22"),
    ],
)
def test_personal_data_is_replaced(text: str, expected: str) -> None:
    assert redact(text) == expected
