"""Building events and CloudEvent envelopes for tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from helpdesk.events import Channel, ChannelRef, ChatRequested, Contract
from helpdesk.topics import publisher_of


def chat_requested(text: str = "hello", **overrides: Any) -> ChatRequested:
    fields: dict[str, Any] = {
        "turn_id": uuid.uuid4(),
        "conversation_id": uuid.uuid4(),
        "channel": ChannelRef(channel=Channel.API, user_id="user-1"),
        "text": text,
    }
    fields.update(overrides)
    return ChatRequested(**fields)


TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def envelope(
    event: Contract | dict[str, Any],
    topic: str,
    pubsub: str = "pubsub",
    source: str | None = None,
    *,
    traceparent: str | None = TRACEPARENT,
) -> dict[str, Any]:
    """A CloudEvent as daprd delivers it to a subscription route. Its `source` is the publishing
    sidecar's app-id: by default the app allowed to publish the topic, which consumers check. Without a
    `traceparent` it carries none (an event forged outside any trace)."""
    data = event if isinstance(event, dict) else event.model_dump(mode="json")
    cloud_event = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": source or publisher_of(topic).value,
        "type": "com.dapr.event.sent",
        "datacontenttype": "application/json",
        "data": data,
        "topic": topic,
        "pubsubname": pubsub,
        "time": datetime.now(UTC).isoformat(),
    }
    if traceparent is not None:
        cloud_event["traceparent"] = traceparent
    return cloud_event


def delivery_path(entry: dict[str, Any]) -> str:
    """The one path an entry sends deliveries to: its route, or the path of its one routing rule (an
    entry with a rule has no plain route, which Dapr would make the default for what the rule skips)."""
    if "routes" in entry:
        assert "route" not in entry
        (rule,) = entry["routes"]["rules"]
        assert rule["match"]
        path: str = rule["path"]
        return path
    route: str = entry["route"]
    return route
