"""The ports through which services use Dapr's building blocks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from helpdesk.events import Contract
from helpdesk.topics import Component


class SidecarUnavailable(Exception):
    """The sidecar (or the component behind it) did not do what was asked; the caller may retry later."""


class ETagMismatch(Exception):
    """Someone else changed the key since it was read."""


@dataclass(frozen=True, slots=True)
class Stored:
    value: bytes
    etag: str


class EventPublisher(Protocol):
    async def publish(self, event: Contract, *, pubsub: Component = Component.PUBSUB) -> None:
        """Publish to the event's own topic; raise `SidecarUnavailable` when it was not accepted."""
        ...


class KeyValueStore(Protocol):
    async def get(self, key: str) -> Stored | None: ...

    async def save(
        self, key: str, value: bytes, *, etag: str | None = None, ttl_seconds: int | None = None
    ) -> None:
        """Write; with `etag`, only if unchanged since read (else `ETagMismatch`)."""
        ...

    async def create(self, key: str, value: bytes, *, ttl_seconds: int | None = None) -> bool:
        """Write only if the key does not exist; False when it did (first-write wins).

        A key created this way must afterwards be updated with its etag.
        """
        ...

    async def delete(self, key: str, *, etag: str | None = None) -> None: ...

    async def get_many(self, keys: list[str]) -> dict[str, Stored]: ...

    async def save_many(self, values: dict[str, bytes]) -> None:
        """Write several keys in one call, without etags (each key on its own: not a transaction)."""
        ...

    async def save_many_if_unchanged(self, values: dict[str, tuple[bytes, str]]) -> None:
        """Write several keys in one call, each only if unchanged since its etag (the second of its
        pair) was read; `ETagMismatch` when any had changed. Each key is written on its own, not in a
        transaction, so the others may be written all the same: re-read them and write what is still
        due."""
        ...

    async def delete_many(self, keys: list[str]) -> None:
        """Delete several keys in one call; absent keys are no error."""
        ...


class ConfigurationSource(Protocol):
    async def get_items(self, keys: list[str]) -> dict[str, str]: ...


class SecretSource(Protocol):
    async def get_secret(self, name: str) -> str | None: ...
