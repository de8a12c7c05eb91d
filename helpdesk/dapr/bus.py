"""The one event bus: publish contracts to Dapr pub/sub."""

from __future__ import annotations

import asyncio

from dapr.clients.exceptions import DaprGrpcError, DaprInternalError
from grpc.aio import AioRpcError

from helpdesk.dapr.ports import SidecarUnavailable
from helpdesk.dapr.sidecar import Sidecar
from helpdesk.events import Contract
from helpdesk.logging import get_logger
from helpdesk.telemetry import EVENTS_PUBLISHED
from helpdesk.topics import LIVE_TOPICS, Component, Topic, live_topic

_log = get_logger(__name__)


class DaprEventBus:
    def __init__(self, sidecar: Sidecar, service: str, timeout_seconds: float = 5.0) -> None:
        self._sidecar = sidecar
        self._service = service
        self._timeout = timeout_seconds

    async def publish(self, event: Contract, *, pubsub: Component = Component.PUBSUB) -> None:
        topic = type(event).topic  # type: ignore[attr-defined]
        try:
            await asyncio.wait_for(
                self._sidecar.client.publish_event(
                    pubsub_name=pubsub.value,
                    topic_name=topic.value,
                    data=event.model_dump_json(),
                    data_content_type="application/json",
                ),
                timeout=self._timeout,
            )
        except (DaprGrpcError, DaprInternalError, AioRpcError, TimeoutError) as exc:
            EVENTS_PUBLISHED.labels(self._service, pubsub.value, topic.value, "failed").inc()
            _log.warning("publish_failed", topic=topic.value, error_type=type(exc).__name__)
            raise SidecarUnavailable(f"publishing to {topic.value} failed") from exc
        EVENTS_PUBLISHED.labels(self._service, pubsub.value, topic.value, "ok").inc()
        if pubsub is Component.PUBSUB and topic in LIVE_TOPICS:
            await self._publish_live(event, topic)

    async def _publish_live(self, event: Contract, topic: Topic) -> None:
        """Best effort: a lost live copy only means a waiter polls instead of being woken."""
        name = live_topic(topic)
        try:
            await asyncio.wait_for(
                self._sidecar.client.publish_event(
                    pubsub_name=Component.BROADCAST.value,
                    topic_name=name,
                    data=event.model_dump_json(),
                    data_content_type="application/json",
                ),
                timeout=self._timeout,
            )
        except (DaprGrpcError, DaprInternalError, AioRpcError, TimeoutError) as exc:
            EVENTS_PUBLISHED.labels(self._service, Component.BROADCAST.value, name, "failed").inc()
            _log.warning("live_publish_failed", topic=name, error_type=type(exc).__name__)
            return
        EVENTS_PUBLISHED.labels(self._service, Component.BROADCAST.value, name, "ok").inc()
