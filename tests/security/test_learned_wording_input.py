"""What a chat.answered's `clarified` (the wording the evaluator learns from) accepts: a forged or broken
one is refused by the contract, so the delivery is dead-lettered, never learned from or stored."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from helpdesk.events import MAX_CLARIFIED_CHOICES, MAX_FAQ_ID_CHARS, MAX_MESSAGE_CHARS, Choice, Clarified


def test_a_reasonable_clarification_is_accepted() -> None:
    Clarified(question="my vpn drops", faq_id="it-vpn", choices=[Choice(faq_id="it-vpn", question="VPN?")])


@pytest.mark.parametrize(
    "fields",
    [
        {"question": "x" * (MAX_MESSAGE_CHARS + 1), "faq_id": "it-vpn"},
        {"question": "", "faq_id": "it-vpn"},
        {"question": "my vpn drops", "faq_id": "x" * (MAX_FAQ_ID_CHARS + 1)},
        {"question": "my vpn drops", "faq_id": ""},
        {
            "question": "my vpn drops",
            "faq_id": "it-vpn",
            "choices": [{"faq_id": str(uuid.uuid4()), "question": "q"}] * (MAX_CLARIFIED_CHOICES + 1),
        },
    ],
)
def test_an_oversized_or_empty_clarification_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Clarified.model_validate(fields)
