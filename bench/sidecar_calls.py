"""What one call through a sidecar costs next to the same operation straight on Redis: the figure
Dapr publishes per call, measured on this stack (after `make run`).

    .venv/bin/python -m bench.sidecar_calls [--calls 2000]

A state read (`GET /v1.0/state/statestore/<key>` vs `HGETALL`, the hash Dapr's Redis store keeps per
key) through the gateway's sidecar, and a publish (`POST /v1.0/publish/broadcast/live.chat.answered`
vs `XADD`) through dialogue's, one call at a time. Prints one JSON line per operation. Every sidecar
may publish only its own app's topics (components/), so the publish is the live copy of an answer,
from its owner, for a turn nobody waits on: each gateway replica looks for a waiter and ignores it.
The stream keeps it 30 s; the state key and the scratch stream of the `XADD`s are removed afterwards.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import aiohttp
import numpy as np
import redis.asyncio as redis
import typer

from helpdesk.events import AnswerMode, Channel, ChannelRef, ChatAnswered
from helpdesk.topics import Topic, live_topic, publisher_of

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-sidecar-calls"
SCRATCH = "bench.sidecar-calls"
LIVE = live_topic(Topic.CHAT_ANSWERED)


async def timed(call: Callable[[], Awaitable[Any]], calls: int) -> dict[str, float]:
    latencies = []
    for index in range(calls + calls // 20):
        started = time.perf_counter()
        await call()
        if index >= calls // 20:  # the first 5 % warm the connections up
            latencies.append((time.perf_counter() - started) * 1000)
    return {
        "p50_ms": round(float(np.percentile(latencies, 50)), 3),
        "p99_ms": round(float(np.percentile(latencies, 99)), 3),
    }


def _unwaited_answer() -> bytes:
    """An answer for a turn nobody waits on: each gateway replica looks for a waiter and ignores it."""
    return (
        ChatAnswered(
            turn_id=uuid.uuid4(),
            conversation_id=uuid.uuid4(),
            channel=ChannelRef(channel=Channel.API, user_id="bench"),
            language="en",
            question="bench",
            answer="bench",
            mode=AnswerMode.SMALLTALK,
        )
        .model_dump_json()
        .encode()
    )


async def main_async(stack: dict[str, Any], calls: int) -> None:
    gateway = next(r for r in stack["replicas"] if r["app_id"] == "gateway")
    base = f"http://127.0.0.1:{gateway['dapr_http']}/v1.0"
    publisher = next(r for r in stack["replicas"] if r["app_id"] == publisher_of(LIVE).value)
    publish_base = f"http://127.0.0.1:{publisher['dapr_http']}/v1.0"
    unwaited = _unwaited_answer()
    headers = {"dapr-api-token": stack["dapr_api_token"]}
    direct = redis.from_url(f"redis://{stack['redis']}")
    async with aiohttp.ClientSession(headers=headers) as session:
        await session.post(f"{base}/state/statestore", json=[{"key": KEY, "value": {"n": 1}}])

        async def sidecar_get() -> None:
            async with session.get(f"{base}/state/statestore/{KEY}") as response:
                await response.read()

        async def sidecar_publish() -> None:
            async with session.post(
                f"{publish_base}/publish/broadcast/{LIVE}",
                data=unwaited,
                headers={"content-type": "application/json"},
            ) as response:
                await response.read()
                if response.status != 204:
                    raise RuntimeError(f"the sidecar refused the publish: {response.status}")

        async def redis_get() -> None:
            await direct.hgetall(f"gateway||{KEY}")

        async def redis_xadd() -> None:
            await direct.xadd(SCRATCH, {"data": unwaited}, maxlen=1000)

        for operation, through_sidecar, straight in (
            ("state get", sidecar_get, redis_get),
            ("publish", sidecar_publish, redis_xadd),
        ):
            sidecar = await timed(through_sidecar, calls)
            redis_only = await timed(straight, calls)
            print(
                json.dumps(
                    {
                        "operation": operation,
                        "sidecar": sidecar,
                        "redis": redis_only,
                        "added_p50_ms": round(sidecar["p50_ms"] - redis_only["p50_ms"], 3),
                        "added_p99_ms": round(sidecar["p99_ms"] - redis_only["p99_ms"], 3),
                    }
                ),
                flush=True,
            )
        await session.delete(f"{base}/state/statestore/{KEY}")
    await direct.delete(SCRATCH)
    await direct.aclose()


STACK_STATE = ROOT / ".run" / "stack.json"


def main(
    calls: Annotated[int, typer.Option(help="Calls of each kind.")] = 2000,
    state: Annotated[Path, typer.Option(help="The running stack's description.")] = STACK_STATE,
) -> None:
    """Time single sidecar calls on the stack `make run` started."""
    asyncio.run(main_async(json.loads(state.read_text()), calls))


if __name__ == "__main__":
    typer.run(main)
