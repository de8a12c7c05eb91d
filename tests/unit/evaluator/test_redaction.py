from __future__ import annotations

import pytest

from helpdesk.events import AnswerMode
from helpdesk.text.pii import redact_text as redact
from services.evaluator.records import ANSWER_KEEP_CHARS
from services.evaluator.scores.turn_scores import evaluate_answer
from tests.unit.evaluator.conftest import answered, knowledge


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


def test_a_long_answer_is_redacted_before_it_is_cut() -> None:
    """Cut first, a card number across the cut would lose its last digits, no longer be recognised, and
    be kept raw in its first fourteen."""
    card = "4012 8888 8888 1881"
    answer = "x" * (ANSWER_KEEP_CHARS - len(" card ") - len("4012 8888 8888 18")) + f" card {card} ok"
    record = evaluate_answer(answered(mode=AnswerMode.LLM, answer=answer, cited_faq_ids=[]), knowledge())
    assert "4012 8888 8888" not in record.answer
    assert len(record.answer) <= ANSWER_KEEP_CHARS
