"""Replies to the Bot Connector: a cached client-credentials token, bounded jittered back-off on 429 and
5xx that honours Retry-After, and what the delivery does when the connector keeps failing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from helpdesk.events import utcnow
from services.gateway.channels.teams.connector import (
    BotConnector,
    BotToken,
    ConnectorBusy,
    ConnectorError,
    ConnectorRefused,
    retry_after_seconds,
    tls_verification,
)
from services.gateway.delivery import DeliveryRecord, DeliveryStatus
from tests.support.teams import APP_PASSWORD, TeamsGateway, TeamsWorld, teams_gateway, teams_world


@pytest.fixture(scope="module")
def world() -> Iterator[TeamsWorld]:
    with teams_world() as w:
        yield w


class Waits:
    """Stands in for asyncio.sleep: records what the connector asked to wait, waits for nothing."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


async def password() -> str:
    return APP_PASSWORD


def connector(world: TeamsWorld, waits: Waits, **settings: Any) -> tuple[BotConnector, httpx.AsyncClient]:
    teams = world.settings(reply_backoff_seconds=0.5, reply_backoff_max_seconds=4.0, **settings)
    client = httpx.AsyncClient(verify=tls_verification(teams), timeout=5)
    return BotConnector(
        teams, BotToken(teams, password), lambda: client, sleep=waits, jitter=lambda: 1.0
    ), client


MESSAGE = {"type": "message", "text": "hello"}


async def test_429_with_retry_after_then_success_is_one_reply(world: TeamsWorld) -> None:
    world.connector.reset()
    world.connector.fail_next(429, retry_after=2)
    waits = Waits()
    bot, client = connector(world, waits)
    async with client:
        sent = await bot.send(world.connector.service_url, "a:conv", MESSAGE)
    assert sent["id"]
    assert waits.seconds == [2.0]
    assert world.connector.attempts == 2
    assert len(world.connector.replies) == 1


async def test_a_5xx_storm_ends_after_the_configured_attempts_with_growing_waits(world: TeamsWorld) -> None:
    world.connector.reset()
    world.connector.fail_always(503)
    waits = Waits()
    bot, client = connector(world, waits, reply_attempts=5)
    async with client:
        with pytest.raises(ConnectorError):
            await bot.send(world.connector.service_url, "a:conv", MESSAGE)
    assert world.connector.attempts == 5
    assert waits.seconds == [0.5, 1.0, 2.0, 4.0]  # capped at reply_backoff_max_seconds
    assert world.connector.replies == []


async def test_back_off_is_jittered(world: TeamsWorld) -> None:
    world.connector.reset()
    world.connector.fail_next(500, times=2)
    waits = Waits()
    teams = world.settings(reply_backoff_seconds=1.0)
    async with httpx.AsyncClient(verify=tls_verification(teams)) as client:
        bot = BotConnector(teams, BotToken(teams, password), lambda: client, sleep=waits, jitter=lambda: 0.25)
        await bot.send(world.connector.service_url, "a:conv", MESSAGE)
    assert waits.seconds == [0.25, 0.5]


async def test_a_retry_after_beyond_the_limit_leaves_the_retry_to_the_delivery(world: TeamsWorld) -> None:
    world.connector.reset()
    world.connector.fail_next(429, retry_after=600)
    waits = Waits()
    bot, client = connector(world, waits)
    async with client:
        with pytest.raises(ConnectorError):
            await bot.send(world.connector.service_url, "a:conv", MESSAGE)
    assert world.connector.attempts == 1
    assert waits.seconds == []


async def test_a_refusal_is_not_retried(world: TeamsWorld) -> None:
    world.connector.reset()
    world.connector.fail_next(403)
    waits = Waits()
    bot, client = connector(world, waits)
    async with client:
        with pytest.raises(ConnectorRefused):
            await bot.send(world.connector.service_url, "a:conv", MESSAGE)
    assert world.connector.attempts == 1


async def test_the_token_is_cached_and_renewed_when_the_connector_rejects_it(world: TeamsWorld) -> None:
    world.connector.reset()
    waits = Waits()
    bot, client = connector(world, waits)
    async with client:
        for _ in range(3):
            await bot.send(world.connector.service_url, "a:conv", MESSAGE)
        assert world.connector.token_requests == 1
        world.connector.issued_tokens.clear()  # as if the token were revoked
        await bot.send(world.connector.service_url, "a:conv", MESSAGE)
    assert world.connector.token_requests == 2
    assert len(world.connector.replies) == 4


async def test_a_wrong_password_is_an_error_not_a_call(world: TeamsWorld) -> None:
    world.connector.reset()
    teams = world.settings()

    async def wrong() -> str:
        return "not-the-password"

    async with httpx.AsyncClient(verify=tls_verification(teams)) as client:
        bot = BotConnector(teams, BotToken(teams, wrong), lambda: client, sleep=Waits())
        with pytest.raises(ConnectorError):
            await bot.send(world.connector.service_url, "a:conv", MESSAGE)
    assert world.connector.attempts == 0


def test_retry_after_is_read_as_seconds_or_an_http_date() -> None:
    assert retry_after_seconds("7") == 7.0
    in_ten = format_datetime(utcnow() + timedelta(seconds=10), usegmt=True)
    assert 8.0 <= (retry_after_seconds(in_ten) or 0) <= 10.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


# ---- the delivery's time budget --------------------------------------------------------------------


class Clock:
    """A monotonic clock that moves only when the connector waits."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class ClockedWaits(Waits):
    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock

    async def __call__(self, seconds: float) -> None:
        await super().__call__(seconds)
        self.clock.now += seconds


BUDGET = {"handler_timeout_seconds": 10.0, "handler_reserve_seconds": 2.0, "http_timeout_seconds": 1.0}


def clocked(world: TeamsWorld, **settings: Any) -> tuple[BotConnector, httpx.AsyncClient, ClockedWaits]:
    teams = world.settings(reply_backoff_seconds=0.5, reply_backoff_max_seconds=4.0, **(BUDGET | settings))
    client = httpx.AsyncClient(verify=tls_verification(teams), timeout=5)
    clock = Clock()
    waits = ClockedWaits(clock)
    bot = BotConnector(
        teams, BotToken(teams, password), lambda: client, sleep=waits, jitter=lambda: 1.0, clock=clock
    )
    return bot, client, waits


async def test_a_retry_after_that_would_end_past_the_budget_is_handed_back_at_once_with_its_time(
    world: TeamsWorld,
) -> None:
    world.connector.reset()
    world.connector.fail_next(429, retry_after=8)  # budget 8 s: an 8 s wait leaves no room for an attempt
    bot, client, waits = clocked(world)
    async with client:
        with pytest.raises(ConnectorBusy) as busy:
            await bot.send(world.connector.service_url, "a:conv", MESSAGE)
    assert waits.seconds == []
    assert world.connector.attempts == 1
    assert 7.0 <= (busy.value.until - utcnow()).total_seconds() <= 8.0


async def test_back_off_stops_where_the_next_attempt_would_end_past_the_budget(world: TeamsWorld) -> None:
    world.connector.reset()
    world.connector.fail_always(503)
    bot, client, waits = clocked(world, reply_attempts=10)
    async with client:
        with pytest.raises(ConnectorError):
            await bot.send(world.connector.service_url, "a:conv", MESSAGE)
    assert waits.seconds == [0.5, 1.0, 2.0]  # then 4 s more and a 1 s attempt would pass 8 s
    assert world.connector.attempts == 4
    assert sum(waits.seconds) + world.connector.attempts * BUDGET["http_timeout_seconds"] <= 8.0


# ---- through the delivery --------------------------------------------------------------------------------


def delivery_of(teams: TeamsGateway, turn_id: object) -> DeliveryRecord:
    stored = teams.g.state.data[f"delivery:{turn_id}"]
    return DeliveryRecord.model_validate_json(stored.value)


def test_a_connector_that_keeps_failing_gets_the_reply_on_redelivery_once(world: TeamsWorld) -> None:
    with teams_gateway(world, teams={"reply_attempts": 3}) as teams:
        teams.post(world.activity())
        [request] = teams.requests()
        assert teams.typing_sent()
        world.connector.fail_next(503, times=3)
        assert teams.answer(request) == {"status": "RETRY"}
        assert delivery_of(teams, request.turn_id).status is DeliveryStatus.FAILED
        assert world.connector.replies == []
        assert teams.answer(request) == {"status": "SUCCESS"}  # Dapr redelivers
        assert teams.answer(request) == {"status": "SUCCESS"}
        assert len(world.connector.replies) == 1
        assert delivery_of(teams, request.turn_id).status is DeliveryStatus.SENT


def test_a_connector_refusal_dead_letters_the_delivery(world: TeamsWorld) -> None:
    with teams_gateway(world) as teams:
        teams.post(world.activity())
        [request] = teams.requests()
        assert teams.typing_sent()
        world.connector.fail_next(404)
        assert teams.answer(request) == {"status": "DROP"}
        assert world.connector.replies == []
