"""Faults F1-F14 of reliability.md against the real stack on 127.0.0.1: processes killed by pid, Redis
stopped, paused and restarted, a slow or failing model. Every scenario counts its turns and asserts
that none was lost and none duplicated (tests/chaos/support.py says how they are counted).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from helpdesk.events import Channel, ChannelRef, ChatRequested
from helpdesk_ops.devstack import Stack, load_run_file
from tests.chaos.support import ScenarioResult, Turns, dead_lettered_turns, redelivered, set_flag
from tests.support.events import envelope
from tests.support.openai_server import OpenAITestServer
from tests.support.stack import client_for, eventually, publish, running_stack
from tests.support.teams import TeamsWorld

pytestmark = pytest.mark.chaos

BREAKER_RESET = 5.0
"""The model circuit breaker's open time in the chaos stack (HELPDESK_GENERATION__BREAKER_RESET_SECONDS)."""
FLAG_SETTLE = 4.0
"""Seconds for a flag flip to reach every replica (change stream, or the 2 s re-read)."""


def assert_no_turn_lost_or_duplicated(result: ScenarioResult) -> None:
    assert result.lost == 0, result
    assert result.duplicated == 0, result
    assert result.answered + result.dead_lettered == result.accepted, result


async def llm_mode(stack: Stack, on: bool) -> None:
    await set_flag(stack, "answer_mode", "llm" if on else "faq")
    await asyncio.sleep(FLAG_SETTLE)


@pytest.fixture
async def model_answers(chaos_stack: Stack, model: OpenAITestServer) -> AsyncIterator[OpenAITestServer]:
    model.reset()
    await llm_mode(chaos_stack, True)
    yield model
    model.reset()
    await llm_mode(chaos_stack, False)


# ---- F11: routes that would 404 ---------------------------------------------------------------------


async def test_f11_every_subscribed_route_exists(chaos_stack: Stack) -> None:
    """daprd treats a 404 as "drop": a renamed route would lose traffic silently. Every route each app
    announces must answer (here: DROP for a payload that matches no contract), never 404.
    tests/contract/test_subscription_routes.py checks the same before release."""
    result = Turns(chaos_stack, "F11", "every subscribed route answers (no 404)").result
    missing = []
    token = {"dapr-api-token": chaos_stack.app_api_token}
    async with httpx.AsyncClient(timeout=10) as client:
        for replica in chaos_stack.replicas:
            table = (await client.get(f"{replica.url}/dapr/subscribe", headers=token)).json()
            for entry in table:
                result.sent += 1
                result.accepted += 1
                body = envelope({"not": "a contract"}, entry["topic"], entry["pubsubname"])
                response = await client.post(f"{replica.url}{entry['route']}", json=body, headers=token)
                if response.status_code == 404:
                    missing.append((replica.name, entry["route"]))
                else:
                    result.answered += 1
    result.lost = len(missing)
    assert missing == []


# ---- F10: a poison message -------------------------------------------------------------------------


async def test_f10_a_poison_message_is_dead_lettered_and_others_keep_flowing(chaos_stack: Stack) -> None:
    turns = Turns(chaos_stack, "F10", "poison message among good ones")
    poison = str(uuid.uuid4())
    for _ in range(3):
        await publish(chaos_stack, "chat.requested", {"turn_id": poison, "text": ["not", "a", "string"]})
    await turns.send(10)
    result = await turns.settle(60)

    async def poisoned() -> bool:
        return poison in await dead_lettered_turns(chaos_stack)

    assert await eventually(poisoned, timeout=30), "the poison message must be in the dead-letter topic"
    result.notes["poison_dead_lettered"] = True
    assert result.answered == result.accepted == 10
    assert_no_turn_lost_or_duplicated(result)


# ---- F8: the same turn twice ------------------------------------------------------------------------


async def test_f8_the_same_turn_published_twice_in_sequence_and_concurrently(chaos_stack: Stack) -> None:
    turns = Turns(chaos_stack, "F8", "same turn_id published again, in sequence and concurrently")
    [first] = await turns.send(1, wait=True)
    body = first.json()
    request = ChatRequested(
        turn_id=uuid.UUID(body["turn_id"]),
        conversation_id=uuid.UUID(body["conversation_id"]),
        channel=ChannelRef(channel=Channel.API, user_id="local-user"),
        text="How do I reset my password?",
    )
    for _ in range(2):
        await publish(chaos_stack, "chat.requested", request)
    await asyncio.gather(*(publish(chaos_stack, "chat.requested", request) for _ in range(3)))
    await asyncio.sleep(5)
    result = await turns.settle(60)
    async with client_for(chaos_stack) as client:
        conversation = (await client.get(f"/v1/conversations/{body['conversation_id']}")).json()
    async with httpx.AsyncClient(
        base_url=chaos_stack.of("evaluator")[0].url,
        headers={"authorization": f"Bearer {chaos_stack.operator_key}"},
    ) as evaluator:
        evaluation = await evaluator.get(f"/v1/evaluations/{body['turn_id']}")
    result.notes["conversation_turns"] = len(conversation["turns"])
    assert len(conversation["turns"]) == 1
    assert evaluation.status_code == 200
    assert_no_turn_lost_or_duplicated(result)


# ---- F9: a Teams activity replayed while the first is handled -----------------------------------------


async def test_f9_a_teams_activity_replayed_while_in_flight_gets_one_reply(
    chaos_stack: Stack, world: TeamsWorld
) -> None:
    result = Turns(chaos_stack, "F9", "Teams activity replayed while the first is handled").result
    conversation = f"a:chaos-{uuid.uuid4().hex[:8]}"
    activity = world.activity("How do I reset my password?", conversation=conversation)

    async def post(replica: int) -> int:
        async with httpx.AsyncClient(base_url=chaos_stack.gateway_url(replica), timeout=10) as client:
            response = await client.post("/api/messages", json=activity, headers=world.auth(activity))
            return response.status_code

    statuses = await asyncio.gather(post(0), post(1), post(0))
    statuses += [await post(1)]
    result.sent, result.accepted = 1, 1
    result.notes["statuses"] = statuses

    async def replied() -> list[Any]:
        return world.connector.replies_to(conversation)

    await eventually(replied, timeout=30)
    await asyncio.sleep(5)
    replies = world.connector.replies_to(conversation)
    result.answered = min(len(replies), 1)
    result.duplicated = max(len(replies) - 1, 0)
    result.lost = 1 - result.answered
    assert statuses == [200, 200, 200, 200]
    assert len(replies) == 1


# ---- F1-F3: services and sidecars killed ---------------------------------------------------------


async def test_f1_dialogue_killed_during_answer_generation(
    chaos_stack: Stack, model_answers: OpenAITestServer
) -> None:
    model_answers.latency = 2.0
    turns = Turns(chaos_stack, "F1", "kill -9 dialogue during answer generation")
    await turns.send(8)

    async def generating() -> bool:
        return len(model_answers.requests) > 0

    assert await eventually(generating, timeout=20)
    dialogue = chaos_stack.of("dialogue")[0]
    assert dialogue.app is not None
    turns.result.notes["model_calls_before_kill"] = len(model_answers.requests)
    chaos_stack.kill(dialogue.app)
    await chaos_stack.wait_exit(dialogue.app, 10)
    await asyncio.sleep(2)
    chaos_stack.start_app(dialogue)
    await chaos_stack.wait_replica(dialogue, 90)
    result = await turns.settle(150)
    result.notes["model_calls"] = len(model_answers.requests)
    assert result.answered == result.accepted == 8
    assert_no_turn_lost_or_duplicated(result)


async def test_f2_a_sidecar_killed_during_retry_back_off(chaos_stack: Stack) -> None:
    turns = Turns(chaos_stack, "F2", "kill -9 dialogue's daprd during retry back-off")
    dialogue = chaos_stack.of("dialogue")[0]
    assert dialogue.app is not None
    assert dialogue.sidecar is not None
    chaos_stack.kill(dialogue.app)  # deliveries to dialogue now fail and are retried with back-off
    await chaos_stack.wait_exit(dialogue.app, 10)
    await turns.send(6)
    await asyncio.sleep(4)
    chaos_stack.kill(dialogue.sidecar)
    await chaos_stack.wait_exit(dialogue.sidecar, 10)
    chaos_stack.start_sidecar(dialogue)
    chaos_stack.start_app(dialogue)
    await chaos_stack.wait_replica(dialogue, 90)
    result = await turns.settle(200)
    result.notes["dapr_version"] = "1.18.2"
    assert_no_turn_lost_or_duplicated(result)


async def test_f3_sigterm_drains_work_in_flight(chaos_stack: Stack) -> None:
    turns = Turns(chaos_stack, "F3", "SIGTERM an nlp replica with work in flight")
    nlp = chaos_stack.of("nlp")[0]
    assert nlp.app is not None
    sending = asyncio.create_task(turns.send(30))
    await asyncio.sleep(0.3)
    chaos_stack.kill(nlp.app, signal.SIGTERM)
    await sending
    assert await chaos_stack.wait_exit(nlp.app, 30), "a SIGTERMed service must exit after draining"
    turns.result.notes["exit_code"] = nlp.app.popen.returncode
    chaos_stack.start_app(nlp)
    await chaos_stack.wait_replica(nlp, 90)
    result = await turns.settle(150)
    assert_no_turn_lost_or_duplicated(result)


# ---- F6, F7: a slow or failing model ---------------------------------------------------------------


async def test_f6_a_model_that_takes_30_s_gives_the_faq_answer_within_the_deadline(
    chaos_stack: Stack, model_answers: OpenAITestServer
) -> None:
    model_answers.latency = 30.0
    turns = Turns(chaos_stack, "F6", "model takes 30 s: FAQ fallback within the deadline")
    started = time.monotonic()
    responses = await turns.send(3, wait=True, timeout=40)
    elapsed = time.monotonic() - started
    turns.result.notes["seconds_for_3_parallel"] = round(elapsed, 1)
    turns.result.notes["model_calls"] = len(model_answers.requests)
    result = await turns.settle(30)
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert {r.json()["mode"] for r in responses} == {"fallback"}
    assert elapsed < 8 + 5, "fallback must come within the generation deadline (8 s) plus the pipeline"
    assert len(model_answers.requests) == 3, "one model call per turn: no retry of a timed-out call"
    assert_no_turn_lost_or_duplicated(result)


@pytest.mark.parametrize("status", [429, 500])
async def test_f7_a_failing_model_gets_bounded_retries_then_the_faq_answer(
    chaos_stack: Stack, model_answers: OpenAITestServer, status: int
) -> None:
    await asyncio.sleep(BREAKER_RESET + 1)  # an earlier scenario may have left the breaker open
    model_answers.fail_always(status, retry_after=1 if status == 429 else None)
    turns = Turns(chaos_stack, f"F7/{status}", f"model answers {status}: bounded back-off, then FAQ")
    responses = await turns.send(4, wait=True)
    result = await turns.settle(30)
    turns.result.notes["model_calls"] = len(model_answers.requests)
    assert {r.json()["mode"] for r in responses} == {"fallback"}
    assert 0 < len(model_answers.requests) <= 4 * 3, "at most 1 + max_retries (2) calls per turn"
    assert_no_turn_lost_or_duplicated(result)


# ---- F14, F13: replicas and consumers gone under load ---------------------------------------------------


async def load(turns: Turns, rate: float, seconds: float) -> None:
    for _ in range(int(rate * seconds)):
        await turns.send(1)
        await asyncio.sleep(1 / rate)


async def test_f14_one_of_three_nlp_replicas_killed_under_load(chaos_stack: Stack) -> None:
    turns = Turns(chaos_stack, "F14", "kill -9 one of three nlp replicas (app and sidecar) under load")
    victim = chaos_stack.of("nlp")[1]
    assert victim.app is not None
    assert victim.sidecar is not None
    running = asyncio.create_task(load(turns, rate=5, seconds=20))
    await asyncio.sleep(5)
    chaos_stack.kill(victim.app)
    chaos_stack.kill(victim.sidecar)
    await running
    result = await turns.settle(200)
    chaos_stack.start_sidecar(victim)
    chaos_stack.start_app(victim)
    await chaos_stack.wait_replica(victim, 90)
    assert_no_turn_lost_or_duplicated(result)


async def test_f13_evaluator_down_under_load(chaos_stack: Stack) -> None:
    down = float(os.environ.get("CHAOS_EVALUATOR_DOWN_SECONDS", "60"))
    turns = Turns(chaos_stack, "F13", f"evaluator down {down:g} s under load; backlog drains")
    evaluator = chaos_stack.of("evaluator")[0]
    assert evaluator.app is not None
    assert evaluator.sidecar is not None
    chaos_stack.kill(evaluator.app)
    chaos_stack.kill(evaluator.sidecar)
    await load(turns, rate=3, seconds=down)
    result = await turns.settle(120)
    assert result.answered == result.accepted, "chat keeps working without the evaluator"
    chaos_stack.start_sidecar(evaluator)
    chaos_stack.start_app(evaluator)
    await chaos_stack.wait_replica(evaluator, 120)
    async with httpx.AsyncClient(
        base_url=evaluator.url, headers={"authorization": f"Bearer {chaos_stack.operator_key}"}, timeout=10
    ) as api:

        async def unevaluated() -> list[str]:
            missing = []
            for turn_id in turns.turn_ids:
                if (await api.get(f"/v1/evaluations/{turn_id}")).status_code != 200:
                    missing.append(turn_id)
            return missing

        async def drained() -> bool:
            return not await unevaluated()

        await eventually(drained, timeout=180, interval=3)
        missing = await unevaluated()
    result.notes["not_evaluated_after_drain"] = len(missing)
    assert missing == [], "every answer is evaluated once the evaluator is back"
    assert_no_turn_lost_or_duplicated(result)


# ---- F12: handlers slower than processingTimeout under a full queue ------------------------------------


@pytest.fixture
async def impatient_stack(
    model: OpenAITestServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """A second stack whose pub/sub hands a message out again after 2 s (processingTimeout)."""
    resources = tmp_path_factory.mktemp("impatient-components")
    for source in load_run_file().resources_path.glob("*.yaml"):
        shutil.copy(source, resources / source.name)
    pubsub = yaml.safe_load((resources / "pubsub.yaml").read_text())
    for item in pubsub["spec"]["metadata"]:
        if item["name"] == "processingTimeout":
            item["value"] = "2s"
        if item["name"] == "redeliverInterval":
            item["value"] = "500"  # milliseconds: pubsub.redis ignores duration strings here
    (resources / "pubsub.yaml").write_text(yaml.safe_dump(pubsub))
    run_file = replace(load_run_file(), resources_path=Path(resources))
    dialogue = {"OPENAI_BASE_URL": model.base_url, "HELPDESK_GENERATION__CACHE_TTL_SECONDS": "0"}
    async with running_stack(
        Path(tmp_path_factory.mktemp("impatient")),
        extra_env={"dialogue": dialogue, "gateway": {"HELPDESK_RATE_LIMIT_PER_USER": "1000000"}},
        secrets_extra={"openai-api-key": "sk-chaos"},
        run_file=run_file,
    ) as stack:
        yield stack


def redelivered_turns(stack: Stack) -> int:
    """Turns dialogue saw again after answering them (its `turn_redelivered` log lines)."""
    lines = (stack.log_dir / "dialogue-0.log").read_text(errors="replace").splitlines()
    return sum('"turn_redelivered"' in line for line in lines)


async def test_f12_a_handler_slower_than_processing_timeout_under_a_full_queue(
    impatient_stack: Stack, model: OpenAITestServer
) -> None:
    model.reset()
    model.latency = 3.0
    await llm_mode(impatient_stack, True)
    turns = Turns(impatient_stack, "F12", "handler (3 s) slower than processingTimeout (2 s), full queue")
    await turns.send(40)
    result = await turns.settle(180)
    result.notes["model_calls"] = len(model.requests)
    result.notes["retries_answered"] = await redelivered(impatient_stack)
    model.reset()
    result.notes["redelivered_turns"] = redelivered_turns(impatient_stack)
    assert result.notes["redelivered_turns"] > 0, "the scenario must really redeliver in-flight messages"
    assert_no_turn_lost_or_duplicated(result)


# ---- F4, F5: Redis stopped, paused -----------------------------------------------------------------


async def test_f4_redis_stopped_and_restarted(chaos_stack: Stack) -> None:
    turns = Turns(chaos_stack, "F4", "Redis stopped (SIGTERM, AOF on), then restarted")
    before = await turns.send(5)
    assert chaos_stack.redis.proc is not None, "the chaos suite stops the local redis-server"
    chaos_stack.kill(chaos_stack.redis.proc, signal.SIGTERM)
    assert await chaos_stack.wait_exit(chaos_stack.redis.proc, 20)
    during = Turns(chaos_stack, "F4/down", "chats while Redis is down: 503 + Retry-After, never accepted")
    responses = await during.send(5, timeout=30)
    during.result.seconds = 0
    assert all(r.status_code == 503 for r in responses), [r.status_code for r in responses]
    assert all(r.headers.get("retry-after") for r in responses)
    assert during.result.accepted == 0
    await chaos_stack.restart_redis()
    await asyncio.sleep(5)
    after = await turns.send(10)
    result = await turns.settle(180)
    result.notes["accepted_before"] = sum(r.status_code in (200, 202) for r in before)
    result.notes["accepted_after"] = sum(r.status_code in (200, 202) for r in after)
    assert result.notes["accepted_after"] == 10, "after the restart, chats are accepted again"
    assert_no_turn_lost_or_duplicated(result)


async def test_f5_redis_paused_for_20_s(chaos_stack: Stack) -> None:
    turns = Turns(chaos_stack, "F5", "Redis SIGSTOPped 20 s, then SIGCONT")
    await turns.send(5)
    assert chaos_stack.redis.proc is not None
    redis_pid = chaos_stack.redis.proc.pid
    os.kill(redis_pid, signal.SIGSTOP)
    try:
        during = Turns(chaos_stack, "F5/paused", "chats while Redis is paused: fast 503, never a hang")
        started = time.monotonic()
        responses = await during.send(5, timeout=30)
        waited = time.monotonic() - started
        during.result.notes["seconds_for_answers"] = round(waited, 1)
        await asyncio.sleep(max(0.0, 20 - waited))
    finally:
        os.kill(redis_pid, signal.SIGCONT)
    assert all(r.status_code == 503 for r in responses), [r.status_code for r in responses]
    assert waited < 5, "failures must be fast (2 s state timeout), not hang for the whole pause"
    await asyncio.sleep(3)
    await turns.send(10)
    result = await turns.settle(180)
    assert_no_turn_lost_or_duplicated(result)
