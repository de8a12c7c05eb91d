"""Services, sidecars and replicas killed, against the real stack on 127.0.0.1: processes killed by pid
(`kill -9` or SIGTERM), alone or under load. Every scenario counts its turns and asserts that none was
lost and none duplicated (tests/chaos/support.py says how they are counted).
"""

from __future__ import annotations

import asyncio
import os
import signal

import httpx
import pytest

from helpdesk_ops.devstack import Stack
from tests.chaos.support import (
    Turns,
    assert_no_turn_lost_or_duplicated,
    load,
)
from tests.support.openai_server import OpenAITestServer
from tests.support.stack import eventually

pytestmark = pytest.mark.chaos


async def test_dialogue_killed_mid_answer_answers_every_turn_exactly_once(
    chaos_stack: Stack, model_answers: OpenAITestServer
) -> None:
    """`kill -9` dialogue while the model is generating eight answers, then start it again: the redelivered
    turns are generated again and each is answered once."""
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


async def test_a_sidecar_killed_during_retry_back_off_loses_no_turn(chaos_stack: Stack) -> None:
    """With dialogue already dead (deliveries failing and retried with back-off), `kill -9` its daprd too,
    then restart both: the restarted sidecar claims the held deliveries and every turn is answered once."""
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


async def test_sigterm_drains_the_work_in_flight(chaos_stack: Stack) -> None:
    """SIGTERM an nlp replica with thirty turns in flight: it exits after draining, and no turn is lost
    or answered twice."""
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


async def test_one_of_three_nlp_replicas_killed_under_load_loses_no_turn(chaos_stack: Stack) -> None:
    """`kill -9` one of three nlp replicas (app and sidecar) under five chats a second: the other
    replicas take its work and every turn is answered once."""
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


async def test_an_evaluator_down_under_load_evaluates_the_backlog_once_back(chaos_stack: Stack) -> None:
    """The evaluator (app and sidecar) down for CHAOS_EVALUATOR_DOWN_SECONDS (60 by default) under three
    chats a second: chat keeps working, and once the evaluator is back every answer is evaluated."""
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
