"""The helpdesk in one process without Dapr: the four apps on in-memory ports, each event delivered as
a CloudEvent to the same subscription routes daprd would call. The baseline that shows what the
sidecars, Redis and the network add."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import UTC, datetime
from secrets import token_urlsafe
from typing import Any

import httpx
from fastapi import FastAPI

from helpdesk.auth import WEB_SESSION_SECRET
from helpdesk.events import Contract
from helpdesk.memory_ports import MemoryBus, MemoryStateStore, memory_runtime
from helpdesk.runtime import flag_defaults
from helpdesk.settings import ServiceSettings
from helpdesk.topics import (
    BROADCAST_SUBSCRIPTIONS,
    LIVE_TOPICS,
    SUBSCRIPTIONS,
    AppId,
    Component,
    Topic,
    live_topic,
    owner,
)


class RoutingBus(MemoryBus):
    """Delivers each published event to every subscribed app's route, like the sidecars would."""

    def __init__(self) -> None:
        super().__init__()
        self.clients: dict[AppId, httpx.AsyncClient] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    async def publish(self, event: Contract, *, pubsub: Component = Component.PUBSUB) -> None:
        topic: Topic = type(event).topic  # type: ignore[attr-defined]
        data = event.model_dump(mode="json")
        targets = [
            (app, f"/events/pubsub/{topic.value}") for app, topics in SUBSCRIPTIONS.items() if topic in topics
        ]
        if topic in LIVE_TOPICS:
            targets += [
                (app, f"/events/broadcast/{live_topic(topic)}")
                for app, topics in BROADCAST_SUBSCRIPTIONS.items()
                if topic in topics
            ]
        for app, route in targets:
            task = asyncio.create_task(self._deliver(app, route, topic.value, data))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _deliver(self, app: AppId, route: str, topic: str, data: dict[str, Any]) -> None:
        envelope = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": owner(Topic(topic)).value,  # as its publisher's sidecar sets it; consumers check
            "type": "com.dapr.event.sent",
            "datacontenttype": "application/json",
            "data": data,
            "topic": topic,
            "pubsubname": "pubsub",
            "time": datetime.now(UTC).isoformat(),
        }
        for _ in range(5):
            response = await self.clients[app].post(route, json=envelope)
            if response.json().get("status") != "RETRY":
                return
            await asyncio.sleep(0.05)


class InProcessHelpdesk:
    def __init__(self) -> None:
        self.bus = RoutingBus()
        self.apps: dict[AppId, FastAPI] = {}
        self._lifespans = contextlib.AsyncExitStack()

    async def start(self) -> None:
        from services.dialogue.public import create_app as dialogue
        from services.evaluator.public import create_app as evaluator
        from services.gateway.public import GatewaySettings
        from services.gateway.public import create_app as gateway
        from services.nlp.public import create_app as nlp

        flags = flag_defaults(ServiceSettings())
        factories = {
            AppId.GATEWAY: gateway,
            AppId.NLP: nlp,
            AppId.DIALOGUE: dialogue,
            AppId.EVALUATOR: evaluator,
        }
        for app_id, factory in factories.items():
            # The gateway signs each anonymous client's identity with the web-session key, as deployed.
            secrets = {WEB_SESSION_SECRET: token_urlsafe(32)} if app_id is AppId.GATEWAY else None
            runtime = memory_runtime(
                app_id.value, flags=flags, secrets=secrets, bus=self.bus, state=MemoryStateStore()
            )
            settings: Any = None
            if app_id is AppId.GATEWAY:
                # As dapr.yaml runs the local gateway: no rate limits and no cap on open handoffs. The
                # in-process client keeps its anonymous cookie, so every chat is one anonymous user, whose
                # cap of one open handoff refused every later escalation (409) and made the baseline fail
                # its error budget at every rate.
                settings = GatewaySettings(
                    allow_anonymous=True,
                    rate_limit_per_user=0,
                    rate_limit_per_key=0,
                    open_handoffs_per_user=0,
                    open_handoffs_per_session=0,
                )
            app = factory(settings, runtime=runtime)  # type: ignore[operator]
            await self._lifespans.enter_async_context(app.router.lifespan_context(app))
            self.apps[app_id] = app
            self.bus.clients[app_id] = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=f"http://{app_id.value}"
            )

    async def chat(self, text: str) -> tuple[int, str | None]:
        response = await self.bus.clients[AppId.GATEWAY].post("/v1/chat", json={"message": text})
        return response.status_code, response.json().get("turn_id")

    async def unanswered(self, turn_ids: list[str], wait: float) -> int:
        deadline = time.monotonic() + wait
        remaining = set(turn_ids)
        while remaining and time.monotonic() < deadline:
            for turn_id in list(remaining):
                body = (await self.bus.clients[AppId.GATEWAY].get(f"/v1/messages/{turn_id}")).json()
                if body.get("status") in ("answered", "escalated", "handed_off"):
                    remaining.discard(turn_id)
            await asyncio.sleep(0.2)
        return len(remaining)

    async def stop(self) -> None:
        for client in self.bus.clients.values():
            await client.aclose()
        await self._lifespans.aclose()
