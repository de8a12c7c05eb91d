"""Counting turns in fault scenarios: every accepted turn must end with exactly one delivered answer or
one dead-letter entry, never zero and never two.

- accepted: the gateway answered 200 or 202 (a 503 means the turn was refused, not accepted).
- answered: the gateway's record of the turn holds a reply (GET /v1/messages/{id}).
- dead-lettered: the turn's event sits in one of the `deadletter.<app>.<topic>` streams.
- duplicated: the gateway stored a reply for it more than once (its `turn_completed` log lines), or
  dialogue published two different outcomes for it (the chat.answered / chat.escalated streams).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
import redis.asyncio as aioredis

from helpdesk.flags import config_key
from helpdesk.topics import Topic, all_dead_letter_topics
from helpdesk_ops.devstack import Stack
from tests.support.stack import client_for


@dataclass
class ScenarioResult:
    scenario: str
    title: str
    sent: int = 0
    accepted: int = 0
    refused: int = 0
    answered: int = 0
    dead_lettered: int = 0
    lost: int = 0
    duplicated: int = 0
    seconds: float = 0.0
    notes: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


RESULTS: list[ScenarioResult] = []


class Turns:
    """Sends chats through the gateway and keeps the ids of the accepted ones. `scenario` labels the
    scenario's row in the report `make chaos` prints: the fault's number in docs/reliability.md's fault
    table, so a run can be read against the recorded one."""

    def __init__(self, stack: Stack, scenario: str, title: str) -> None:
        self.stack = stack
        self.result = ScenarioResult(scenario, title)
        self.turn_ids: list[str] = []
        self.statuses: Counter[int] = Counter()
        self._started = time.monotonic()
        RESULTS.append(self.result)

    async def send(
        self,
        count: int,
        text: str = "How do I reset my password?",
        *,
        gateway: int | None = None,
        wait: bool = False,
        timeout: float = 30.0,
    ) -> list[httpx.Response]:
        """`count` chats at once (round-robin over the gateway replicas unless one is named)."""
        replicas = len(self.stack.of("gateway"))
        clients = [client_for(self.stack, i, timeout=timeout) for i in range(replicas)]
        try:
            headers = {} if wait else {"prefer": "respond-async"}
            requests = [
                clients[gateway if gateway is not None else i % replicas].post(
                    "/v1/chat", json={"message": text}, headers=headers
                )
                for i in range(count)
            ]
            responses = await asyncio.gather(*requests, return_exceptions=True)
        finally:
            for client in clients:
                await client.aclose()
        kept = []
        for response in responses:
            self.result.sent += 1
            if isinstance(response, BaseException):
                self.statuses[0] += 1
                self.result.refused += 1
                continue
            self.statuses[response.status_code] += 1
            if response.status_code in (200, 202):
                self.result.accepted += 1
                self.turn_ids.append(response.json()["turn_id"])
            else:
                self.result.refused += 1
            kept.append(response)
        self.result.notes["statuses"] = dict(self.statuses)
        return kept

    def adopt(self, turn_id: str) -> None:
        """Count a turn accepted another way (published directly, a Teams activity)."""
        self.result.sent += 1
        self.result.accepted += 1
        self.turn_ids.append(turn_id)

    async def settle(self, timeout: float = 120.0) -> ScenarioResult:
        """Wait until every accepted turn is answered or dead-lettered (or the time is up), then count."""
        deadline = time.monotonic() + timeout
        answered: set[str] = set()
        dead: set[str] = set()
        async with client_for(self.stack) as client:
            while True:
                for turn_id in self.turn_ids:
                    if turn_id in answered:
                        continue
                    try:
                        body = (await client.get(f"/v1/messages/{turn_id}")).json()
                    except (httpx.HTTPError, json.JSONDecodeError):
                        continue
                    if body.get("status") in ("answered", "escalated"):
                        answered.add(turn_id)
                dead = await dead_lettered_turns(self.stack) & set(self.turn_ids)
                if len(answered | dead) == len(self.turn_ids) or time.monotonic() > deadline:
                    break
                await asyncio.sleep(1.0)
        await asyncio.sleep(2.0)  # late duplicates, if any, would show up now
        self.result.answered = len(answered)
        self.result.dead_lettered = len(dead - answered)
        self.result.lost = len(set(self.turn_ids) - answered - dead)
        self.result.duplicated = len(await duplicated_turns(self.stack, self.turn_ids))
        self.result.seconds = round(time.monotonic() - self._started, 1)
        return self.result


def _redis(stack: Stack) -> aioredis.Redis:
    return aioredis.Redis.from_url(f"redis://{stack.redis_address}")


async def _stream_events(stack: Stack, streams: list[str]) -> list[dict[str, Any]]:
    client = _redis(stack)
    events = []
    try:
        for stream in streams:
            for _, fields in await client.xrange(stream):
                try:
                    envelope = json.loads(fields.get(b"data", b"{}"))
                except json.JSONDecodeError:
                    continue
                data = envelope.get("data") if isinstance(envelope, dict) else None
                events.append(data if isinstance(data, dict) else {"raw": envelope})
    finally:
        await client.aclose()
    return events


async def dead_lettered_turns(stack: Stack) -> set[str]:
    events = await _stream_events(stack, all_dead_letter_topics())
    return {str(e["turn_id"]) for e in events if e.get("turn_id")}


async def duplicated_turns(stack: Stack, turn_ids: list[str]) -> set[str]:
    wanted = set(turn_ids)
    outcomes: dict[str, set[str]] = defaultdict(set)
    for event in await _stream_events(stack, [Topic.CHAT_ANSWERED.value, Topic.CHAT_ESCALATED.value]):
        turn_id = str(event.get("turn_id"))
        if turn_id in wanted:
            outcomes[turn_id].add(json.dumps([event.get("answer"), event.get("mode"), event.get("message")]))
    twice = {t for t, o in outcomes.items() if len(o) > 1}
    completions: Counter[str] = Counter()
    for replica in stack.of("gateway"):
        path = stack.log_dir / f"{replica.name}.log"
        for line in path.read_text(errors="replace").splitlines():
            if '"turn_completed"' in line:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if record.get("turn_id") in wanted:
                    completions[record["turn_id"]] += 1
    return twice | {t for t, n in completions.items() if n > 1}


async def set_flag(stack: Stack, name: str, value: str) -> None:
    """Flip a flag in the configuration store, as `helpdeskctl flags set` does."""
    client = _redis(stack)
    try:
        await client.set(config_key(name), f"{json.dumps({'value': value})}||{uuid.uuid4().int % 10**9}")
    finally:
        await client.aclose()


async def redelivered(stack: Stack) -> int:
    """How many deliveries the services answered RETRY to (a sign the scenario really hurt)."""
    total = 0
    operator = {"authorization": f"Bearer {stack.operator_key}"}
    async with httpx.AsyncClient(timeout=5, headers=operator) as client:
        for replica in stack.replicas:
            try:
                text = (await client.get(f"{replica.url}/metrics")).text
            except httpx.HTTPError:
                continue
            for line in text.splitlines():
                if line.startswith("helpdesk_events_total{") and 'outcome="retry"' in line:
                    total += int(float(line.rsplit(" ", 1)[1]))
    return total


BREAKER_RESET = 5.0
"""The model circuit breaker's open time in the chaos stack (HELPDESK_GENERATION__BREAKER_RESET_SECONDS)."""
FLAG_SETTLE = 4.0
"""Seconds for a flag flip to reach every replica (change stream, or the 2 s re-read)."""


def assert_no_turn_lost_or_duplicated(result: ScenarioResult) -> None:
    assert result.lost == 0, result
    assert result.duplicated == 0, result
    assert result.answered + result.dead_lettered == result.accepted, result


async def llm_mode(stack: Stack, on: bool) -> None:
    """Answers by the model (on) or from the FAQ alone, on every replica."""
    await set_flag(stack, "answer_mode", "llm" if on else "faq")
    await asyncio.sleep(FLAG_SETTLE)


async def load(turns: Turns, rate: float, seconds: float) -> None:
    """One chat every 1/rate seconds for `seconds`."""
    for _ in range(int(rate * seconds)):
        await turns.send(1)
        await asyncio.sleep(1 / rate)
