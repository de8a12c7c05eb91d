"""Evaluator throughput: synthetic `chat.answered` deliveries scored through the real handler code.

    .venv/bin/python -m bench.evaluator_throughput [--events 5000] [--concurrency 32] \
        [--via handler|route|stack]

Builds the evaluator app on the in-memory runtime (no sidecar: this measures the evaluator's own
cost, i.e. parsing, language-aware scoring, session tracking, the record write and the group-committed
aggregate ledger) and feeds it CloudEvents, keeping `concurrency` deliveries in flight as the sidecar
does (pubsub.yaml: concurrency 32):
- `--via handler` (default): each envelope is parsed into its contract and handed to the subscribed
  handler, as the subscription adapter does, without the HTTP framing;
- `--via route`: each envelope is POSTed to the subscription route over ASGI (adds FastAPI, the request
  middleware, tracing spans and the in-process HTTP client).
- `--via stack`: starts the real stack on free ports (Redis, daprd sidecars, all four services, as the
  integration tests do), bulk-publishes the events to `chat.answered` through a sidecar and
  measures until the evaluator's totals have counted them all (real state store, real pub/sub; the
  gateway consumes the same topic meanwhile).
Half the events are Japanese, a tenth are redelivered duplicates, and the variants split 50/50. At the
end it checks that the totals count every distinct turn exactly once.
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import httpx
import orjson
import typer

from helpdesk.dapr.subscriptions import Delivery, Retry
from helpdesk.events import AnswerMode, Channel, ChannelRef, ChatAnswered, Language, Usage, Variant
from helpdesk.memory_ports import memory_runtime
from helpdesk.topics import Topic, publisher_of
from services.evaluator.public import EvaluatorParts, EvaluatorSettings, create_app, days_back

QUESTIONS = {
    Language.EN: [
        (
            "How do I reset my password?",
            "Open the self-service portal, choose Forgot password and follow the code.",
        ),
        (
            "The VPN does not connect from home",
            "Install the VPN client, sign in with your account and pick a gateway.",
        ),
        (
            "How many days of paid leave do I have?",
            "Your remaining paid leave is shown in the HR portal under Absence.",
        ),
    ],
    Language.JA: [
        (
            "パスワードをリセットしたい",
            "セルフサービスポータルを開き、「パスワードを忘れた」を選んでください。",
        ),
        (
            "自宅からVPNに接続できません",
            "VPNクライアントをインストールし、アカウントでサインインしてください。",
        ),
        ("有給休暇は何日残っていますか", "残りの有給休暇はHRポータルの休暇画面で確認できます。"),
    ],
}


def synthetic(count: int, seed: int = 7) -> list[ChatAnswered]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    events = []
    for index in range(count):
        language = Language.JA if index % 2 else Language.EN
        question, answer = rng.choice(QUESTIONS[language])
        events.append(
            ChatAnswered(
                turn_id=uuid.uuid4(),
                conversation_id=uuid.uuid4(),
                channel=ChannelRef(channel=Channel.API, user_id=f"user-{index % 500}"),
                language=language,
                question=question,
                answer=answer,
                mode=rng.choice([AnswerMode.FAQ, AnswerMode.LLM]),
                cited_faq_ids=["password-reset"],
                variant=Variant(
                    name="a" if index % 2 == 0 else "b", prompt="grounded@1", model="gpt-4o-mini"
                ),
                usage=Usage(
                    prompt_tokens=rng.randint(200, 900),
                    completion_tokens=rng.randint(20, 200),
                    cost_usd=0.0003,
                ),
                received_at=now - timedelta(milliseconds=rng.randint(20, 900)),
                occurred_at=now,
                timings_ms={"nlp": rng.uniform(1, 10), "dialogue": rng.uniform(2, 600)},
            )
        )
    return events


def envelope(event: ChatAnswered) -> bytes:
    """As dialogue's sidecar would deliver it: the evaluator refuses chat.answered from anyone else."""
    data = event.model_dump_json()
    return (
        '{"specversion":"1.0","id":"'
        + str(uuid.uuid4())
        + '","source":"dialogue","type":"com.dapr.event.sent",'
        '"datacontenttype":"application/json","topic":"chat.answered","pubsubname":"pubsub","data":'
        + data
        + "}"
    ).encode()


ROUTE = "/events/pubsub/chat.answered"
CLOUDEVENT = {"content-type": "application/cloudevents+json"}


def shuffled_bodies(events: int) -> list[bytes]:
    """Each distinct turn's envelope plus a tenth of them again (redeliveries), in a fixed shuffled order."""
    distinct = synthetic(events)
    bodies = [envelope(e) for e in distinct + distinct[: events // 10]]
    random.Random(3).shuffle(bodies)
    return bodies


def delivery_via(
    via: str, client: httpx.AsyncClient, parts: EvaluatorParts
) -> Callable[[bytes], Awaitable[str]]:
    """Delivers one envelope over the subscription route (HTTP over ASGI) or straight to the subscribed
    handler, as the subscription adapter would, and gives the status daprd would get."""
    handler = parts.handlers.score_answer

    async def post(body: bytes) -> str:
        response = await client.post(ROUTE, content=body, headers=CLOUDEVENT)
        return str(response.json().get("status", response.status_code))

    async def handle(body: bytes) -> str:
        envelope = orjson.loads(body)
        event = ChatAnswered.model_validate(envelope["data"])
        delivery = Delivery(envelope["id"], "chat.answered", "pubsub", None, envelope)
        try:
            await handler(event, delivery)
        except Retry:
            return "RETRY"
        return "SUCCESS"

    return post if via == "route" else handle


async def deliver_all(
    bodies: list[bytes], deliver: Callable[[bytes], Awaitable[str]], concurrency: int
) -> tuple[dict[str, int], float]:
    """Every body delivered with `concurrency` in flight; the count of each status and the seconds taken."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    statuses: dict[str, int] = {}

    async def worker() -> None:
        while not queue.empty():
            status = await deliver(queue.get_nowait())
            statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses, time.perf_counter() - started


async def run(events: int, concurrency: int, via: str) -> dict[str, Any]:
    runtime = memory_runtime("evaluator")
    app = create_app(EvaluatorSettings(log_level="WARNING"), runtime)
    bodies = shuffled_bodies(events)
    async with app.router.lifespan_context(app):
        parts: EvaluatorParts = app.state.parts
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://evaluator") as client:
            # warm-up: tokenisers and dictionaries load on first use
            await client.post(ROUTE, content=envelope(synthetic(1, seed=99)[0]), headers=CLOUDEVENT)
            statuses, elapsed = await deliver_all(bodies, delivery_via(via, client, parts), concurrency)
        await parts.ledger.flush()
        totals = await parts.ledger.totals(days_back(2))
    turns = int(sum(t.counts.get("turns", 0) for t in totals.values()))
    return {
        "deliveries": len(bodies),
        "distinct_turns": events,
        "counted_turns": turns - 1,
        "statuses": statuses,
        "seconds": round(elapsed, 3),
        "deliveries_per_second": round(len(bodies) / elapsed, 1),
        "concurrency": concurrency,
        "via": via,
    }


async def publish_all(
    publish: httpx.AsyncClient, batches: list[list[dict[str, Any]]], concurrency: int
) -> None:
    """Every batch bulk-published to chat.answered, `concurrency` publishers at once."""
    queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)

    async def publisher() -> None:
        while not queue.empty():
            entries = [
                {"entryId": str(i), "event": event, "contentType": "application/json"}
                for i, event in enumerate(queue.get_nowait())
            ]
            response = await publish.post("/v1.0/publish/bulk/pubsub/chat.answered", json=entries)
            response.raise_for_status()
            assert not response.content or not response.json().get("failedEntries"), response.text

    await asyncio.gather(*(publisher() for _ in range(concurrency)))


async def counted_turns(api: httpx.AsyncClient) -> int:
    """The turns the evaluator's totals count today."""
    summary = (await api.get("/v1/evaluations/summary", params={"days": 1})).json()
    return int(summary["overall"]["turns"])


async def until_counted(api: httpx.AsyncClient, events: int, seconds: float = 600) -> None:
    """Returns once the totals count `events` turns, or after `seconds`."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        if await counted_turns(api) >= events:
            return
        await asyncio.sleep(0.1)


async def run_stack(events: int, concurrency: int) -> dict[str, Any]:
    import tempfile
    from pathlib import Path

    from helpdesk_ops.cli import _daprd
    from helpdesk_ops.devstack import Stack

    distinct = synthetic(events)
    payloads = [e.model_dump(mode="json") for e in distinct + distinct[: events // 10]]
    random.Random(3).shuffle(payloads)
    batches = [payloads[i : i + 100] for i in range(0, len(payloads), 100)]
    with tempfile.TemporaryDirectory(prefix="evaluator-bench-") as run_dir:
        stack = Stack(run_dir=Path(run_dir), daprd=_daprd(), free_ports=True, echo=None)
        await stack.start(timeout=180)
        try:
            # Only dialogue's sidecar may publish chat.answered (components/ scope every topic).
            sidecar = stack.of(publisher_of(Topic.CHAT_ANSWERED.value).value)[0]
            async with (
                httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{sidecar.dapr_http_port}",
                    headers={"dapr-api-token": stack.dapr_api_token, "content-type": "application/json"},
                    timeout=30.0,
                ) as publish,
                httpx.AsyncClient(
                    base_url=evaluator_url(stack),
                    headers={"authorization": f"Bearer {stack.operator_key}"},
                    timeout=30.0,
                ) as api,
            ):
                started = time.perf_counter()
                await publish_all(publish, batches, concurrency)
                published = time.perf_counter() - started
                await until_counted(api, events)
                elapsed = time.perf_counter() - started
                await asyncio.sleep(2.0)
                counted = await counted_turns(api)
        finally:
            await stack.stop()
    return {
        "deliveries": len(payloads),
        "distinct_turns": events,
        "counted_turns": counted,
        "publish_seconds": round(published, 3),
        "seconds": round(elapsed, 3),
        "deliveries_per_second": round(len(payloads) / elapsed, 1),
        "publishers": concurrency,
        "via": "stack",
    }


def evaluator_url(stack: Any) -> str:
    return str(stack.of("evaluator")[0].url)


class Via(StrEnum):
    """How the events reach the evaluator (see the module's docstring)."""

    HANDLER = "handler"
    ROUTE = "route"
    STACK = "stack"


def main(
    events: Annotated[int, typer.Option(help="Answered turns to evaluate.")] = 5000,
    concurrency: Annotated[int, typer.Option(help="Deliveries in flight at once.")] = 32,
    via: Annotated[
        Via, typer.Option(help="The subscribed handler, its route, or the real stack.")
    ] = Via.HANDLER,
) -> None:
    """Evaluator throughput: answered turns evaluated per second, and every turn counted once."""
    if via is Via.STACK:
        result = asyncio.run(run_stack(events, concurrency))
    else:
        result = asyncio.run(run(events, concurrency, via))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    for key, value in result.items():
        print(f"{key}: {value}")
    if result["counted_turns"] != result["distinct_turns"]:
        print("FAIL: the totals do not count every distinct turn exactly once", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    typer.run(main)
