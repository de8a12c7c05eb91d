"""What the gateway refuses, in the helpdesk's words.

Each refusal is a `DomainError`: the class says what a client sees (status, problem kind, title) and the
kernel's one handler answers it as problem+json. The desk raises these; it never builds an HTTP answer.
Where something is not found and might be someone else's, the answer is the same as for something that
does not exist, so a caller learns nothing about other people's conversations.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from helpdesk.errors import DomainError
from services.gateway.turns import ReplyRefusal


class ConversationNotFound(DomainError):
    status = 404
    kind = "not-found"

    def __init__(self) -> None:
        super().__init__("No such conversation.")


class MessageNotFound(DomainError):
    status = 404
    kind = "not-found"

    def __init__(self) -> None:
        super().__init__("No such message.")


class HandoffNotFound(DomainError):
    status = 404
    kind = "not-found"

    def __init__(self) -> None:
        super().__init__("No handoff for this conversation.")


class HandoffClosed(DomainError):
    status = 409
    kind = "handoff-closed"

    def __init__(self) -> None:
        super().__init__("This handoff is closed.")


class NotAnsweredYet(DomainError):
    status = 409
    kind = "not-answered"

    def __init__(self) -> None:
        super().__init__("This message has no answer to rate yet.")


class AlreadyRated(DomainError):
    """A second, different rating of one answer: the evaluator counts the first only."""

    status = 409
    kind = "already-rated"

    def __init__(self, rating: str) -> None:
        super().__init__(f"This answer is already rated {rating}; each answer takes one rating.")


class EarlierRequestPending(DomainError):
    """A repeat of a request whose turn is not recorded yet (or is not the caller's)."""

    status = 409
    kind = "conflict"

    def __init__(self) -> None:
        super().__init__("The earlier request with this key is still being recorded.")


class IdempotencyKeyReused(DomainError):
    status = 409
    kind = "idempotency-conflict"

    def __init__(self) -> None:
        super().__init__("This Idempotency-Key was used with a different request body.")


class InvalidIdempotencyKey(DomainError):
    status = 400
    kind = "idempotency-key"

    def __init__(self) -> None:
        super().__init__("Idempotency-Key must be 1-255 printable ASCII characters.")


class RateLimited(DomainError):
    status = 429
    kind = "rate-limited"

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(
            "Too many requests; slow down and retry later.",
            headers={"Retry-After": str(retry_after_seconds)},
        )


class TokenBudgetSpent(DomainError):
    """The turn was refused because the user's token budget is spent (flag budget_exhausted=reject);
    the budget is daily, so the caller may retry after midnight UTC."""

    status = 429
    kind = "token-budget"
    title = "Token budget exhausted"

    def __init__(self, text: str, now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        midnight = datetime.combine(now.date() + timedelta(days=1), time.min, tzinfo=UTC)
        super().__init__(text, headers={"Retry-After": str(int((midnight - now).total_seconds()) + 1)})


class HandoffLimitReached(DomainError):
    """The turn asked for a person while all of its user's places among open handoffs were taken."""

    status = 409
    kind = "handoff-limit"
    title = "Too many open handoffs"


class HelpdeskUnavailable(DomainError):
    """The state store or the bus is out of reach; the caller should retry after a short while."""

    status = 503
    kind = "unavailable"

    def __init__(self, what: str, retry_after_seconds: int) -> None:
        super().__init__(
            f"The helpdesk cannot {what} right now; please retry.",
            headers={"Retry-After": str(retry_after_seconds)},
        )


class WebChatOff(DomainError):
    status = 503
    kind = "web-chat-off"

    def __init__(self) -> None:
        super().__init__("Web chat is not configured on this helpdesk.")


class AnonymousAccessOff(DomainError):
    status = 503
    kind = "anonymous-access-off"

    def __init__(self) -> None:
        super().__init__("Anonymous access is not configured on this helpdesk.")


class TeamsSwitchedOff(DomainError):
    status = 503
    kind = "channel-disabled"

    def __init__(self) -> None:
        super().__init__("The Teams channel is switched off.")


class InvalidActivity(DomainError):
    """A Teams activity the helpdesk cannot act on: not an activity, or without the ids a reply needs."""

    status = 400
    kind = "invalid-activity"


class ChannelTokenMissing(DomainError):
    """No usable Bot Framework token on `/api/messages`."""

    status = 401
    kind = "unauthorized"

    def __init__(self, reason: str) -> None:
        super().__init__(
            reason.capitalize() + ".", headers={"WWW-Authenticate": 'Bearer realm="botframework"'}
        )


class ChannelTokenRefused(DomainError):
    """A Bot Framework token not valid for this bot, channel, service URL or tenant."""

    status = 403
    kind = "forbidden"

    def __init__(self) -> None:
        super().__init__("The Bot Framework token is not valid for this activity.")


def refusal_error(refusal: ReplyRefusal, text: str) -> DomainError:
    """What a caller waiting on HTTP gets for a turn answered with a refusal; `text` is what the user is
    told, as every channel shows it."""
    match refusal:
        case ReplyRefusal.BUDGET:
            return TokenBudgetSpent(text)
        case ReplyRefusal.HANDOFF_LIMIT:
            return HandoffLimitReached(text)
