"""The one event bus: publish contracts to Dapr pub/sub (the sidecar's HTTP API).

The current W3C trace context goes into the CloudEvent as Dapr's envelope overrides
(`metadata.cloudevent.traceparent` and `tracestate`), so the subscriber continues the same trace. The
sidecars do not trace (`samplingRate: "0"` in components/config: their spans had no exporter and cost
about a fifth of their CPU per chat), and a sidecar that does not trace does not copy the trace headers
of a publish into its envelope; the override is carried either way. No `traceparent` header goes to the
sidecar: its sampler follows a sampled parent, so the header alone would have it record spans again.
Where a sidecar traces by its own configuration (Container Apps), its spans are therefore roots of their
own, and the envelope still carries the app's trace, which wins over the sidecar's.
"""

from __future__ import annotations

import aiohttp

from helpdesk.dapr.ports import SidecarUnavailable
from helpdesk.dapr.sidecar import Sidecar
from helpdesk.events import Contract, TurnEvent
from helpdesk.logging import get_logger
from helpdesk.telemetry import EVENTS_PUBLISHED, current_traceparent
from helpdesk.topics import LIVE_TOPICS, Component, Topic, live_topic

_log = get_logger(__name__)

_JSON = {"content-type": "application/json"}


class DaprEventBus:
    def __init__(self, sidecar: Sidecar, service: str, timeout_seconds: float = 5.0) -> None:
        self._sidecar = sidecar
        self._service = service
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    async def _post(self, pubsub: str, topic: str, body: bytes, subject: str | None = None) -> None:
        envelope = {f"metadata.cloudevent.{name}": value for name, value in current_traceparent().items()}
        if subject is not None:
            envelope["metadata.cloudevent.subject"] = subject
        async with self._sidecar.http.post(
            f"/v1.0/publish/{pubsub}/{topic}",
            data=body,
            params=envelope,
            headers=_JSON,
            timeout=self._timeout,
        ) as response:
            if response.status != 204:
                raise SidecarUnavailable(f"publish to {topic} answered {response.status}")

    async def publish(self, event: Contract, *, pubsub: Component = Component.PUBSUB) -> None:
        topic: Topic = type(event).topic  # type: ignore[attr-defined]
        body = event.model_dump_json().encode()
        try:
            await self._post(pubsub.value, topic.value, body)
        except (aiohttp.ClientError, TimeoutError, SidecarUnavailable) as exc:
            EVENTS_PUBLISHED.labels(self._service, pubsub.value, topic.value, "failed").inc()
            _log.warning("publish_failed", topic=topic.value, error_type=type(exc).__name__)
            raise SidecarUnavailable(f"publishing to {topic.value} failed") from exc
        EVENTS_PUBLISHED.labels(self._service, pubsub.value, topic.value, "ok").inc()
        if pubsub is Component.PUBSUB and topic in LIVE_TOPICS:
            await self._publish_live(body, topic, live_address(event))

    async def _publish_live(self, body: bytes, topic: Topic, address: str | None) -> None:
        """Best effort: a lost live copy only means a waiter polls instead of being woken. A copy with an
        `address` goes, as its CloudEvent `subject`, to the one replica that waits for it."""
        name = live_topic(topic)
        try:
            await self._post(Component.BROADCAST.value, name, body, address)
        except (aiohttp.ClientError, TimeoutError, SidecarUnavailable) as exc:
            EVENTS_PUBLISHED.labels(self._service, Component.BROADCAST.value, name, "failed").inc()
            _log.warning("live_publish_failed", topic=name, error_type=type(exc).__name__)
            return
        EVENTS_PUBLISHED.labels(self._service, Component.BROADCAST.value, name, "ok").inc()


def live_address(event: Contract) -> str | None:
    """The replica a turn's live copy is for (the one whose request waits), or None: every replica."""
    return event.channel.waiting_on if isinstance(event, TurnEvent) else None
