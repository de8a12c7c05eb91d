"""A Bot Connector that throttles longer than the sidecar's handler timeout gets exactly one reply,
after the throttling, and nothing is dead-lettered.

The scenario: the connector answers 429 with `Retry-After: 30` for about 85 s, longer than the
sidecar's 30 s handler timeout, so the sidecar delivers the reply again while the first delivery still
waits, and the 60 s delivery claim could be taken over from a live sender (which would send the reply
twice). The stack test plays it with every duration scaled by `SCALE` (0.2 by default: a 6 s handler
timeout, 17 s of throttling, `Retry-After: 6`, a 12 s processingTimeout, the sidecar's retry back-off and
the gateway's send timings scaled alike); `HELPDESK_TEST_THROTTLE_SCALE=1` runs it at full length (about
three minutes).

The in-process tests pin the parts one by one: the time spent in one delivery stays inside its budget,
a wait the connector asked for holds across deliveries, a claim taken over stops its old sender before
its next attempt, a delivery that meets a live claim waits for it instead of giving up at once, and a
sent reply is recorded with the connector's id.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import yaml
from microsoft_agents.activity import Activity

from helpdesk.dapr.ports import Stored
from helpdesk.topics import all_dead_letter_topics
from helpdesk_ops.devstack import Stack, load_run_file
from services.gateway.channels.teams.activities import turn_ids, user_id_of
from services.gateway.delivery import DeliveryRecord, DeliveryStatus
from tests.support.connector_server import ConnectorCall
from tests.support.stack import eventually, running_stack
from tests.support.teams import APP_PASSWORD, TeamsGateway, TeamsWorld, teams_gateway, teams_world

SCALE = float(os.environ.get("HELPDESK_TEST_THROTTLE_SCALE", "0.2"))

# The incident's durations, in seconds, and the gateway's defaults they met.
HANDLER_TIMEOUT = 30.0
PROCESSING_TIMEOUT = 60.0
RETRY_AFTER = 30.0
THROTTLED_FOR = 85.0
HANDLER_RESERVE = 6.0
HTTP_TIMEOUT = 5.0


def scaled(seconds: float) -> float:
    return round(seconds * SCALE, 3)


@pytest.fixture(scope="module")
def world() -> Iterator[TeamsWorld]:
    with teams_world() as w:
        yield w


# ---- through the running stack ------------------------------------------------------------------------


def scaled_components(directory: Path) -> Path:
    """The project's components with the sidecar's handler timeout, its retry back-off and the
    pub/sub processingTimeout scaled like the rest of the scenario."""
    for source in load_run_file().resources_path.glob("*.yaml"):
        shutil.copy(source, directory / source.name)
    resiliency = yaml.safe_load((directory / "resiliency.yaml").read_text())
    policies = resiliency["spec"]["policies"]
    policies["timeouts"]["handler"] = f"{int(scaled(HANDLER_TIMEOUT) * 1000)}ms"
    deliver = policies["retries"]["deliver"]
    deliver["initialInterval"] = f"{int(200 * SCALE)}ms"
    deliver["maxInterval"] = f"{int(5000 * SCALE)}ms"
    (directory / "resiliency.yaml").write_text(yaml.safe_dump(resiliency))
    pubsub = yaml.safe_load((directory / "pubsub.yaml").read_text())
    for item in pubsub["spec"]["metadata"]:
        if item["name"] == "processingTimeout":
            item["value"] = f"{int(scaled(PROCESSING_TIMEOUT) * 1000)}ms"
        if item["name"] == "redeliverInterval":
            item["value"] = str(int(5000 * SCALE))  # milliseconds: pubsub.redis reads only a number here
    (directory / "pubsub.yaml").write_text(yaml.safe_dump(pubsub))
    return directory


@pytest.fixture(scope="module")
async def throttled_stack(
    world: TeamsWorld, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    resources = scaled_components(tmp_path_factory.mktemp("throttling-components"))
    gateway = world.env() | {
        "HELPDESK_RATE_LIMIT_PER_USER": "100000",
        "HELPDESK_RATE_LIMIT_PER_KEY": "100000",
        "HELPDESK_TEAMS__HANDLER_TIMEOUT_SECONDS": str(scaled(HANDLER_TIMEOUT)),
        "HELPDESK_TEAMS__HANDLER_RESERVE_SECONDS": str(scaled(HANDLER_RESERVE)),
        "HELPDESK_TEAMS__HTTP_TIMEOUT_SECONDS": str(scaled(HTTP_TIMEOUT)),
    }
    async with running_stack(
        Path(tmp_path_factory.mktemp("throttling")),
        replicas={"gateway": 2},
        extra_env={"gateway": gateway},
        secrets_extra={"teams-app-password": APP_PASSWORD},
        run_file=replace(load_run_file(), resources_path=resources),
    ) as stack:
        yield stack


async def dead_lettered(stack: Stack, turn_id: str) -> bool:
    client = aioredis.Redis.from_url(f"redis://{stack.redis_address}")
    try:
        for stream in all_dead_letter_topics():
            for _, fields in await client.xrange(stream):
                if turn_id in fields.get(b"data", b"").decode(errors="replace"):
                    return True
    finally:
        await client.aclose()
    return False


def replies_to(world: TeamsWorld, conversation: str) -> list[ConnectorCall]:
    return [
        c for c in world.connector.calls if c.conversation_id == conversation and c.activity_type == "message"
    ]


@pytest.mark.integration
async def test_throttling_longer_than_the_handler_timeout_gets_exactly_one_reply(
    throttled_stack: Stack, world: TeamsWorld
) -> None:
    conversation = f"a:throttled-{time.monotonic_ns()}"
    activity = world.activity("How do I reset my password?", conversation=conversation)
    retry_after = max(1, round(RETRY_AFTER * SCALE))
    world.connector.reset()
    throttle_ends = world.connector.throttle(scaled(THROTTLED_FOR), retry_after=retry_after)

    async with httpx.AsyncClient(base_url=throttled_stack.gateway_url(0), timeout=10) as client:
        posted = await client.post("/api/messages", json=activity, headers=world.auth(activity))
    assert posted.status_code == 200

    async def replied() -> list[Any]:
        return world.connector.replies_to(conversation)

    settle = scaled(THROTTLED_FOR) + 10 * scaled(HANDLER_TIMEOUT)
    assert await eventually(replied, timeout=settle, interval=0.2), "no reply after the throttling ended"
    await asyncio.sleep(2 * scaled(PROCESSING_TIMEOUT))  # long enough for any second copy to go out

    replies = world.connector.replies_to(conversation)
    assert len(replies) == 1, f"{len(replies)} replies reached the user"
    assert replies[0].received_at >= throttle_ends
    calls = replies_to(world, conversation)
    throttled = [c for c in calls if c.status == 429]
    assert throttled, "the scenario must really meet the throttling"
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(calls)]
    assert min(gaps) >= retry_after * 0.9, f"a call came before Retry-After elapsed: {gaps}"
    parsed = Activity.model_validate(activity)
    _, turn_id = turn_ids(parsed, user_id_of(parsed))
    assert not await dead_lettered(throttled_stack, str(turn_id)), "the reply was dead-lettered"


# ---- in process: each part on its own ------------------------------------------------------------------

FAST = {"handler_timeout_seconds": 3.0, "handler_reserve_seconds": 0.6, "http_timeout_seconds": 0.5}


def record_of(teams: TeamsGateway, turn_id: object) -> tuple[DeliveryRecord, Stored]:
    stored = teams.g.state.data[f"delivery:{turn_id}"]
    return DeliveryRecord.model_validate_json(stored.value), stored


def message_calls(world: TeamsWorld) -> list[ConnectorCall]:
    return [c for c in world.connector.calls if c.activity_type == "message"]


def test_one_delivery_spends_less_than_the_handler_timeout_and_the_asked_wait_holds_across_deliveries(
    world: TeamsWorld,
) -> None:
    with teams_gateway(world, teams=FAST) as teams:
        teams.post(world.activity())
        [request] = teams.requests()
        assert teams.typing_sent()
        world.connector.throttle(30, retry_after=1)

        started = time.monotonic()
        assert teams.answer(request) == {"status": "RETRY"}
        spent = time.monotonic() - started
        assert spent < FAST["handler_timeout_seconds"] - FAST["handler_reserve_seconds"], spent

        record, _ = record_of(teams, request.turn_id)
        assert record.status is DeliveryStatus.FAILED
        assert record.not_before is not None

        assert teams.answer(request) == {"status": "RETRY"}  # redelivered at once, still throttled
        calls = message_calls(world)
        gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(calls)]
        assert calls
        assert all(gap >= 0.9 for gap in gaps), gaps
        assert world.connector.replies == []


def test_a_claim_taken_over_stops_its_old_sender_before_the_next_attempt(world: TeamsWorld) -> None:
    with teams_gateway(world, teams=FAST) as teams:
        teams.post(world.activity())
        [request] = teams.requests()
        assert teams.typing_sent()
        world.connector.throttle(0.4, retry_after=1)  # one 429, then a wait that fits the budget

        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(teams.answer, request)
            deadline = time.monotonic() + 2
            while not message_calls(world) and time.monotonic() < deadline:
                time.sleep(0.01)
            record, stored = record_of(teams, request.turn_id)  # the sender now waits out Retry-After
            taken = record.model_copy(update={"owner": "another-replica", "claimed_at": record.claimed_at})
            teams.g.state.data[f"delivery:{request.turn_id}"] = Stored(
                taken.model_dump_json().encode(), stored.etag + "-taken"
            )
            outcome = pending.result(timeout=10)

        assert outcome == {"status": "RETRY"}
        assert world.connector.replies == [], "the old sender sent after its claim was taken over"


def test_a_delivery_that_meets_a_live_claim_waits_for_it_instead_of_giving_up(world: TeamsWorld) -> None:
    with teams_gateway(world, teams=FAST) as teams:
        teams.post(world.activity())
        [request] = teams.requests()
        assert teams.typing_sent()
        world.connector.throttle(0.4, retry_after=1)

        with ThreadPoolExecutor(max_workers=2) as pool:
            first = pool.submit(teams.answer, request)
            deadline = time.monotonic() + 2
            while not message_calls(world) and time.monotonic() < deadline:
                time.sleep(0.01)
            twin = pool.submit(teams.answer, request)  # the broker hands the same message out again
            outcomes = [first.result(timeout=10), twin.result(timeout=10)]

        assert outcomes == [{"status": "SUCCESS"}, {"status": "SUCCESS"}]
        assert len(world.connector.replies) == 1


def test_a_sent_reply_is_recorded_with_the_connector_id_and_never_sent_again(world: TeamsWorld) -> None:
    with teams_gateway(world, teams=FAST) as teams:
        teams.post(world.activity())
        [request] = teams.requests()
        assert teams.answer(request) == {"status": "SUCCESS"}
        record, _ = record_of(teams, request.turn_id)
        [reply] = world.connector.replies
        connector_id = f"bot-activity-{world.connector.received.index(reply) + 1}"
        assert record.status is DeliveryStatus.SENT
        assert record.sent_id == connector_id
        for _ in range(3):
            assert teams.answer(request) == {"status": "SUCCESS"}
        assert len(world.connector.replies) == 1
        assert json.loads(teams.g.state.data[f"delivery:{request.turn_id}"].value)["sent_id"] == connector_id
