"""The base of every event contract: immutable payloads whose unknown fields are ignored, so a producer can
add an optional field without a coordinated release."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

SCHEMA_VERSION = 1


def utcnow() -> datetime:
    return datetime.now(UTC)


class Contract(BaseModel):
    """Base of every event payload: immutable, unknown fields ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=False)
