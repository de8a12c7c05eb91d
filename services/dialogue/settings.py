from __future__ import annotations

from pydantic import Field

from helpdesk.settings import ServiceSettings


class DialogueSettings(ServiceSettings):
    conversation_ttl_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    recent_turns: int = Field(default=10, gt=0, description="Turns of context kept per conversation.")
