"""In-memory implementations of the ports, for unit tests and the in-process benchmark baseline.

They keep Dapr's observable semantics that the services rely on (etags, first-write, TTL-free keys per
app, publish to a topic) so that handler tests exercise the same code paths as the real stack.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Coroutine
from itertools import count
from typing import Any

from helpdesk.dapr.configstore_flags import FlagTable
from helpdesk.dapr.ports import ETagMismatch, Stored
from helpdesk.dapr.sidecar import Readiness
from helpdesk.events import Contract
from helpdesk.flags import FlagDefinition
from helpdesk.runtime import Runtime, flags_client
from helpdesk.topics import LIVE_TOPICS, Component, Topic


class MemoryStateStore:
    def __init__(self) -> None:
        self.data: dict[str, Stored] = {}
        self.writes = 0
        self._versions = count(1)

    async def get(self, key: str) -> Stored | None:
        return self.data.get(key)

    async def get_many(self, keys: list[str]) -> dict[str, Stored]:
        return {k: v for k in keys if (v := self.data.get(k)) is not None}

    async def save(
        self, key: str, value: bytes, *, etag: str | None = None, ttl_seconds: int | None = None
    ) -> None:
        current = self.data.get(key)
        if etag is not None and (current is None or current.etag != etag):
            raise ETagMismatch(key)
        self.writes += 1
        self.data[key] = Stored(value, str(next(self._versions)))

    async def create(self, key: str, value: bytes, *, ttl_seconds: int | None = None) -> bool:
        if key in self.data:
            return False
        self.writes += 1
        self.data[key] = Stored(value, str(next(self._versions)))
        return True

    async def delete(self, key: str, *, etag: str | None = None) -> None:
        current = self.data.get(key)
        if etag is not None and current is not None and current.etag != etag:
            raise ETagMismatch(key)
        self.data.pop(key, None)

    async def save_many(self, values: dict[str, bytes]) -> None:
        for key, value in values.items():
            await self.save(key, value)

    async def save_many_if_unchanged(self, values: dict[str, tuple[bytes, str]]) -> None:
        """Like the sidecar: each key written on its own, `ETagMismatch` when any had changed."""
        changed = {
            key for key, (_, etag) in values.items() if (s := self.data.get(key)) is None or s.etag != etag
        }
        for key, (value, _) in values.items():
            if key not in changed:
                self.writes += 1
                self.data[key] = Stored(value, str(next(self._versions)))
        if changed:
            raise ETagMismatch(", ".join(sorted(changed)))

    async def delete_many(self, keys: list[str]) -> None:
        for key in keys:
            self.data.pop(key, None)


Subscriber = Callable[[Contract], Coroutine[Any, Any, None]]


class MemoryBus:
    """Records every publish; optionally hands events to in-process subscribers (the benchmark chain)."""

    def __init__(self) -> None:
        self.published: list[tuple[Component, Contract]] = []
        self.subscribers: dict[tuple[Component, Topic], list[Subscriber]] = defaultdict(list)
        self.fail_next = 0

    def subscribe(self, topic: Topic, subscriber: Subscriber, pubsub: Component = Component.PUBSUB) -> None:
        self.subscribers[(pubsub, topic)].append(subscriber)

    async def publish(self, event: Contract, *, pubsub: Component = Component.PUBSUB) -> None:
        from helpdesk.dapr.ports import SidecarUnavailable

        if self.fail_next:
            self.fail_next -= 1
            raise SidecarUnavailable("simulated publish failure")
        self.published.append((pubsub, event))
        topic: Topic = type(event).topic  # type: ignore[attr-defined]
        targets = list(self.subscribers.get((pubsub, topic), []))
        if pubsub is Component.PUBSUB and topic in LIVE_TOPICS:
            targets += self.subscribers.get((Component.BROADCAST, topic), [])
        for subscriber in targets:
            asyncio.get_running_loop().create_task(subscriber(event))

    def of(self, event_type: type[Contract]) -> list[Contract]:
        return [e for _, e in self.published if isinstance(e, event_type)]


class MemorySecrets:
    def __init__(self, secrets: dict[str, str] | None = None) -> None:
        self.secrets = dict(secrets or {})

    async def get_secret(self, name: str) -> str | None:
        return self.secrets.get(name)


def memory_runtime(
    service: str,
    *,
    flags: dict[str, FlagDefinition] | None = None,
    secrets: dict[str, str] | None = None,
    bus: MemoryBus | None = None,
    state: MemoryStateStore | None = None,
    knowledge: MemoryStateStore | None = None,
) -> Runtime:
    table = FlagTable(flags or {})

    async def ready() -> Readiness:
        return Readiness(True, "in-process")

    return Runtime(
        bus=bus or MemoryBus(),
        state=state or MemoryStateStore(),
        knowledge=knowledge or MemoryStateStore(),
        secrets=MemorySecrets(secrets),
        flags=flags_client(service, table),
        flag_table=table,
        readiness=ready,
    )
