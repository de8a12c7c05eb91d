"""Builders for the evaluator's unit tests."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from helpdesk.events import (
    AnswerMode,
    Channel,
    ChannelRef,
    ChatAnswered,
    ChatEscalated,
    EscalationReason,
    Language,
    Usage,
    Variant,
    utcnow,
)
from helpdesk.knowledge.entries import parse_entry
from services.evaluator.knowledge import KnowledgeCopy

PASSWORD_ENTRY = {
    "id": "password-reset",
    "category": "accounts",
    "en": {
        "question": "How do I reset my password?",
        "alternatives": ["I forgot my password"],
        "answer": (
            "Open the self-service portal, choose Forgot password and follow the code sent to your phone."
        ),
    },
    "ja": {
        "question": "パスワードをリセットするにはどうすればいいですか？",
        "alternatives": ["パスワードを忘れました"],
        "answer": (
            "セルフサービスポータルを開き、「パスワードを忘れた」を選んで、"
            "電話に届くコードで再設定してください。"
        ),
    },
}
VPN_ENTRY = {
    "id": "vpn-connect",
    "en": {
        "question": "How do I connect to the VPN?",
        "answer": "Install the VPN client and sign in with your account.",
    },
}


def knowledge() -> KnowledgeCopy:
    entries = [parse_entry(raw) for raw in (PASSWORD_ENTRY, VPN_ENTRY)]
    return KnowledgeCopy([e for e in entries if e is not None])


def answered(**overrides: Any) -> ChatAnswered:
    now = utcnow()
    fields: dict[str, Any] = {
        "turn_id": uuid.uuid4(),
        "conversation_id": uuid.uuid4(),
        "channel": ChannelRef(channel=Channel.API, user_id="user-1"),
        "language": Language.EN,
        "question": "How do I reset my password?",
        "answer": PASSWORD_ENTRY["en"]["answer"],  # type: ignore[index]
        "mode": AnswerMode.FAQ,
        "cited_faq_ids": ["password-reset"],
        "variant": Variant(name="a"),
        "usage": Usage(prompt_tokens=0, completion_tokens=0, cost_usd=0.0),
        "received_at": now - timedelta(milliseconds=120),
        "occurred_at": now,
        "timings_ms": {"nlp": 4.0, "dialogue": 9.0},
    }
    fields.update(overrides)
    return ChatAnswered(**fields)


def escalated(**overrides: Any) -> ChatEscalated:
    """A user's request for a person in a conversation of its own, on `answered`'s channel."""
    fields: dict[str, Any] = {
        "turn_id": uuid.uuid4(),
        "conversation_id": uuid.uuid4(),
        "channel": ChannelRef(channel=Channel.API, user_id="user-1"),
        "language": Language.EN,
        "reason": EscalationReason.USER_ASKED,
        "question": "I want a human",
        "summary": "",
        "message": "Connecting you.",
    }
    fields.update(overrides)
    return ChatEscalated(**fields)


PASSWORD_FAQ_FILE = (
    "- id: password-reset\n"
    "  en:\n"
    "    question: How do I reset my password?\n"
    "    answer: Open the self-service portal, choose Forgot password and follow the code sent to your\n"
    "      phone.\n"
)
"""A knowledge folder's one file, for the evaluator apps the tests start (`faq_dir`)."""
