"""Token budgets per conversation and per user per (UTC) day, kept in dialogue's state store.

A turn may start a model call only while both budgets have tokens left; what the call actually spent is
added afterwards (so one answer may overrun a budget by its own size, never more). Each counter is one
key updated with its etag, so concurrent turns on several replicas never lose an increment. Day counters
expire two days after their day; conversation counters with the conversation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from pydantic import BaseModel, Field

from helpdesk.dapr.ports import ETagMismatch, KeyValueStore, SidecarUnavailable
from helpdesk.dapr.state import Records
from helpdesk.logging import get_logger

_log = get_logger(__name__)

_DAY_TTL_SECONDS = 2 * 24 * 3600


class TokenSpend(BaseModel):
    tokens: int = Field(default=0, ge=0)


@dataclass(frozen=True, slots=True)
class BudgetCheck:
    allowed: bool
    exhausted: str | None = None
    """"conversation" or "user_daily" when a budget is spent."""
    conversation_tokens: int = 0
    user_tokens_today: int = 0


def utc_today() -> date:
    return datetime.now(UTC).date()


class TokenBudgets:
    def __init__(
        self,
        store: KeyValueStore,
        *,
        per_conversation: int,
        per_user_daily: int,
        conversation_ttl_seconds: int,
        today: Callable[[], date] = utc_today,
    ) -> None:
        self._conversations = Records(store, TokenSpend, "budget:conversation", conversation_ttl_seconds)
        self._users = Records(store, TokenSpend, "budget:user", _DAY_TTL_SECONDS)
        self.per_conversation = per_conversation
        self.per_user_daily = per_user_daily
        self.today = today

    def _user_key(self, user_id: str) -> str:
        return f"{self.today().isoformat()}:{user_id}"

    async def check(self, user_id: str, conversation_id: str) -> BudgetCheck:
        """Whether a model call may start. Raises `SidecarUnavailable` when the counters cannot be read."""
        conversation = await self._conversations.get(conversation_id)
        user = await self._users.get(self._user_key(user_id))
        spent_conversation = conversation.tokens if conversation else 0
        spent_user = user.tokens if user else 0
        exhausted = None
        if self.per_conversation and spent_conversation >= self.per_conversation:
            exhausted = "conversation"
        elif self.per_user_daily and spent_user >= self.per_user_daily:
            exhausted = "user_daily"
        return BudgetCheck(exhausted is None, exhausted, spent_conversation, spent_user)

    async def charge(self, user_id: str, conversation_id: str, tokens: int) -> None:
        """Add what a call spent; best effort (the answer is already paid for)."""
        if tokens <= 0:
            return

        def add(current: TokenSpend | None) -> TokenSpend:
            return TokenSpend(tokens=(current.tokens if current else 0) + tokens)

        try:
            await self._conversations.update(conversation_id, add)
            await self._users.update(self._user_key(user_id), add)
        except (SidecarUnavailable, ETagMismatch) as exc:
            _log.warning("token_budget_not_charged", error_type=type(exc).__name__, tokens=tokens)
