"""The gateway's parts, built once the runtime's ports exist, each given the ports it uses."""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk.auth import API_KEYS_SECRET, WEB_SESSION_SECRET, ApiKeys
from helpdesk.dapr.subscriptions import Subscriptions
from helpdesk.runtime import Runtime
from services.gateway import handlers
from services.gateway.channels.teams.channel import TeamsChannel
from services.gateway.channels.web.web_sessions import SessionStarts, WebSessions
from services.gateway.delivery import Deliveries
from services.gateway.desk.answers import AnswerDesk
from services.gateway.desk.books import Books
from services.gateway.desk.feedback import FeedbackDesk
from services.gateway.desk.handoff_desk import HandoffDesk
from services.gateway.desk.handoff_places import HandoffPlaces
from services.gateway.desk.intake import TurnIntake
from services.gateway.desk.turn_reader import TurnReader
from services.gateway.idempotency import IdempotencyKeys
from services.gateway.ratelimit import RateLimiter
from services.gateway.settings import GatewaySettings
from services.gateway.waiters import AnswerWaiters


@dataclass(frozen=True, slots=True)
class GatewayParts:
    """What the routes and subscription handlers reach (through `api/deps.py` and `handlers.py`)."""

    settings: GatewaySettings
    api_keys: ApiKeys
    web_sessions: WebSessions
    session_starts: SessionStarts
    intake: TurnIntake
    reader: TurnReader
    answers: AnswerDesk
    handoffs: HandoffDesk
    feedback: FeedbackDesk
    teams: TeamsChannel

    async def close(self) -> None:
        await self.teams.close()


async def compose(settings: GatewaySettings, runtime: Runtime, subscriptions: Subscriptions) -> GatewayParts:
    """The gateway's parts on this runtime, with its subscription handlers registered.

    The API keys and the web session key are read from the secret store once, here."""
    retry_after = settings.retry_after_seconds
    books = Books.in_store(runtime.state, settings.turn_retention_seconds)
    limiter = RateLimiter(runtime.state, settings.rate_limit_window_seconds)
    waiters = AnswerWaiters()
    intake = TurnIntake(
        settings,
        books,
        runtime.bus,
        limiter,
        IdempotencyKeys(runtime.state, settings.idempotency_ttl_seconds),
        waiters,
    )
    reader = TurnReader(books, retry_after)
    feedback = FeedbackDesk(
        books.turns, reader, runtime.bus, limiter, settings.feedback_per_user, retry_after
    )
    teams = TeamsChannel(settings, intake, feedback, runtime.state, runtime.secrets, runtime.flags)
    deliveries = Deliveries(runtime.state, [teams.sender], settings.turn_retention_seconds)
    places = HandoffPlaces(settings, books.handoff_places, runtime.flags)
    parts = GatewayParts(
        settings=settings,
        api_keys=ApiKeys.from_secret(await runtime.secrets.get_secret(API_KEYS_SECRET)),
        web_sessions=WebSessions(
            await runtime.secrets.get_secret(WEB_SESSION_SECRET), settings.web_session_ttl_seconds
        ),
        session_starts=SessionStarts(limiter, settings.web_sessions_per_address, retry_after),
        intake=intake,
        reader=reader,
        answers=AnswerDesk(books.turns, places, waiters, deliveries),
        handoffs=HandoffDesk(books, runtime.bus, places, deliveries, retry_after),
        feedback=feedback,
        teams=teams,
    )
    handlers.register(subscriptions, parts.answers, parts.handoffs, settings.address)
    return parts
