"""The dead-letter record: every message a consumer gave up on, kept for operators to inspect and replay."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from helpdesk.events import utcnow
from helpdesk.topics import DEAD_LETTER_PREFIX


class DeadLetter(BaseModel):
    id: str
    dead_letter_topic: str
    consumer: str | None
    original_topic: str | None
    turn_id: str | None = None
    received_at: datetime = Field(default_factory=utcnow)
    envelope: dict[str, Any]


def describe(dead_letter_topic: str, envelope: dict[str, Any]) -> DeadLetter:
    parts = dead_letter_topic.split(".", 2)
    consumer = parts[1] if len(parts) == 3 and parts[0] == DEAD_LETTER_PREFIX else None
    original = parts[2] if consumer else None
    data = envelope.get("data")
    turn_id = data.get("turn_id") if isinstance(data, dict) else None
    return DeadLetter(
        id=str(envelope.get("id") or ""),
        dead_letter_topic=dead_letter_topic,
        consumer=consumer,
        original_topic=original,
        turn_id=str(turn_id) if turn_id else None,
        envelope=envelope,
    )
