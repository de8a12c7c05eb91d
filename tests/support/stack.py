"""Start the real stack (Redis + one daprd per replica + the services) for integration tests."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import redis.asyncio as aioredis
from pydantic import BaseModel

from helpdesk.flags import config_key
from helpdesk.topics import publisher_of
from helpdesk_ops.cli import _daprd
from helpdesk_ops.dead_letter_replay import origin
from helpdesk_ops.devstack import RunFile, Stack
from tests.support.redis import external_redis


def daprd_path() -> str:
    path = _daprd()
    if not Path(path).exists():
        raise RuntimeError(
            f"daprd not found at {path}: run `make setup` (or set DAPRD). "
            "Integration tests need the real runtime."
        )
    return path


@asynccontextmanager
async def running_stack(
    run_dir: Path,
    *,
    replicas: dict[str, int] | None = None,
    extra_env: dict[str, dict[str, str]] | None = None,
    secrets_extra: dict[str, str] | None = None,
    run_file: RunFile | None = None,
) -> AsyncIterator[Stack]:
    with external_redis() as redis_address:
        stack = Stack(
            run_file=run_file,
            replicas=replicas,
            run_dir=run_dir,
            daprd=daprd_path(),
            free_ports=True,
            external_redis=redis_address,
            extra_env=extra_env,
            secrets_extra=secrets_extra,
            echo=sys.stderr if os.environ.get("HELPDESK_TEST_ECHO") else None,
        )
        try:
            await stack.start(timeout=180)
            yield stack
        finally:
            await stack.stop()


@asynccontextmanager
async def model_stack(
    run_dir: Path,
    openai_base_url: str,
    answer_mode: str,
    dialogue_env: dict[str, str] | None = None,
) -> AsyncIterator[Stack]:
    """The stack with dialogue pointed at a local OpenAI-compatible server, answer_mode set for everyone
    in the configuration store, and neither the response cache nor the token budgets or rate limits in
    the way of a test's many questions."""
    dialogue = {
        "OPENAI_BASE_URL": openai_base_url,
        "HELPDESK_GENERATION__CACHE_TTL_SECONDS": "0",
        "HELPDESK_GENERATION__USER_DAILY_TOKEN_BUDGET": "0",
        "HELPDESK_GENERATION__CONVERSATION_TOKEN_BUDGET": "0",
        **(dialogue_env or {}),
    }
    gateway = {"HELPDESK_RATE_LIMIT_PER_USER": "100000", "HELPDESK_RATE_LIMIT_PER_KEY": "100000"}
    async with running_stack(
        run_dir,
        extra_env={"dialogue": dialogue, "gateway": gateway},
        secrets_extra={"openai-api-key": "sk-local-model"},
    ) as stack:
        client = aioredis.Redis.from_url(f"redis://{stack.redis_address}")
        try:
            await client.set(
                config_key("answer_mode"),
                f"{json.dumps({'value': answer_mode})}||{uuid.uuid4().int % 10**9}",
            )
        finally:
            await client.aclose()
        yield stack


def log_records(stack: Stack, app: str) -> list[dict[str, Any]]:
    """The JSON records the app's replicas have logged so far (lines that are not JSON skipped)."""
    records = []
    for replica in stack.of(app):
        for line in (stack.log_dir / f"{replica.name}.log").read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
    return records


def client_for(
    stack: Stack, index: int = 0, api_key: str | None = None, timeout: float = 30.0
) -> httpx.AsyncClient:
    headers = {"authorization": f"Bearer {api_key or stack.api_key}"}
    return httpx.AsyncClient(base_url=stack.gateway_url(index), headers=headers, timeout=timeout)


async def answer_to(stack: Stack, question: str) -> dict[str, Any]:
    """The API's answer to `question` from the first gateway replica (200 expected)."""
    async with client_for(stack) as client:
        response = await client.post("/v1/chat", json={"message": question})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def rejected(stack: Stack, app: str, topic: str, reason: str) -> float:
    """helpdesk_events_rejected_total of one app's replicas for a topic and reason."""
    needle = f'helpdesk_events_rejected_total{{reason="{reason}",service="{app}",topic="{topic}"}}'
    return await metric_total(stack, app, needle)


async def metric_total(stack: Stack, app: str, needle: str, replicas: list[int] | None = None) -> float:
    """The sum of the samples starting with `needle` on the app's replicas (all, or those listed)."""
    total = 0.0
    chosen = stack.of(app) if replicas is None else [stack.of(app)[i] for i in replicas]
    async with httpx.AsyncClient(headers={"authorization": f"Bearer {stack.operator_key}"}) as client:
        for replica in chosen:
            text = (await client.get(f"{replica.url}/metrics")).text
            for line in text.splitlines():
                if line.startswith(needle):
                    total += float(line.rsplit(" ", 1)[1])
    return total


T = TypeVar("T")


async def eventually(check: Callable[[], Awaitable[T]], timeout: float = 20.0, interval: float = 0.25) -> T:
    """Poll `check` until it returns something truthy or the time is up; returns its last result."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(interval)


async def publish(
    stack: Stack,
    topic: str,
    event: BaseModel | dict[str, Any],
    via: str | None = None,
    pubsub: str = "pubsub",
) -> None:
    """Publish through a sidecar's HTTP API, as one of the services would: by default through the
    sidecar of the app allowed to publish the topic (components/ scope every topic to its publisher).
    A dead-letter topic gets what daprd puts there: the envelope of the original publisher."""
    app = via or publisher_of(topic).value
    sidecar = stack.of(app)[0]
    body = event.model_dump_json() if isinstance(event, BaseModel) else json.dumps(event)
    _, original = origin(topic)
    params = {"metadata.cloudevent.source": publisher_of(original).value} if original else {}
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{sidecar.dapr_http_port}",
        headers={"dapr-api-token": stack.dapr_api_token},
    ) as client:
        response = await client.post(
            f"/v1.0/publish/{pubsub}/{topic}",
            content=body,
            params=params,
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 204, response.text
