"""ServiceHost: what `compose` builds is what the routes and event handlers of that start use."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi.testclient import TestClient

from helpdesk.dapr.subscriptions import Delivery, Subscriptions
from helpdesk.events import ChatRequested
from helpdesk.memory_ports import memory_runtime
from helpdesk.runtime import Runtime
from helpdesk.settings import ServiceSettings
from helpdesk.topics import AppId, Component, Topic
from helpdesk.web import ServiceHost
from tests.support.events import chat_requested, envelope


@dataclass
class Parts:
    start: int
    handled: list[str] = field(default_factory=list)
    closed: bool = False

    async def close(self) -> None:
        self.closed = True


def test_each_start_serves_its_own_parts_and_one_subscription_table() -> None:
    """A test may start the same app twice; the second start's handlers must not sit behind the first's,
    whose parts are closed by then."""
    built: list[Parts] = []

    async def compose(_: Runtime, subscriptions: Subscriptions) -> Parts:
        parts = Parts(start=len(built) + 1)
        built.append(parts)

        @subscriptions.on(Topic.CHAT_REQUESTED, ChatRequested)
        async def analyse(event: ChatRequested, _: Delivery) -> None:
            assert not parts.closed, "a closed start's handler was called"
            parts.handled.append(str(event.turn_id))

        return parts

    host = ServiceHost(AppId.NLP, ServiceSettings(), [Component.PUBSUB], memory_runtime("nlp"))
    app = host.build(title="t", description="d", compose=compose)
    event = chat_requested("hello")
    for _ in range(2):
        with TestClient(app) as client:
            table = client.get("/dapr/subscribe").json()
            assert [entry["topic"] for entry in table] == ["chat.requested"]
            response = client.post("/events/pubsub/chat.requested", json=envelope(event, "chat.requested"))
            assert response.status_code == 200
    assert [parts.handled for parts in built] == [[str(event.turn_id)], [str(event.turn_id)]]
    assert all(parts.closed for parts in built)
