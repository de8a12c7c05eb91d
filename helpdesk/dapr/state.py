"""State store adapter and typed helpers on top of it.

Keys are prefixed by Dapr with the app-id (the default `keyPrefix: appid`), so one service can never read
another's keys; keep it that way. Redis transactions through Dapr are not atomic when an etag check
fails (the other operations still apply), so the helpdesk keeps each invariant inside one key and uses
etags on that key rather than multi-key transactions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import grpc
from dapr.clients.exceptions import DaprGrpcError, DaprInternalError
from dapr.clients.grpc._state import Concurrency, Consistency, StateOptions
from grpc.aio import AioRpcError
from pydantic import BaseModel

from helpdesk.dapr.ports import ETagMismatch, KeyValueStore, SidecarUnavailable, Stored
from helpdesk.dapr.sidecar import Sidecar
from helpdesk.topics import Component

M = TypeVar("M", bound=BaseModel)

_FIRST_WRITE = StateOptions(concurrency=Concurrency.first_write, consistency=Consistency.strong)
_ERRORS = (DaprGrpcError, DaprInternalError, AioRpcError, TimeoutError)


def _is_etag_mismatch(exc: BaseException) -> bool:
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    code = getattr(cause, "code", None)
    return callable(code) and code() == grpc.StatusCode.ABORTED


class DaprStateStore:
    def __init__(
        self, sidecar: Sidecar, store: Component = Component.STATESTORE, timeout_seconds: float = 5.0
    ) -> None:
        self._sidecar = sidecar
        self._store = store.value
        self._timeout = timeout_seconds

    async def _call(self, coro: Awaitable[object], what: str) -> object:
        try:
            return await asyncio.wait_for(coro, timeout=self._timeout)
        except _ERRORS as exc:
            if _is_etag_mismatch(exc):
                raise ETagMismatch(what) from exc
            raise SidecarUnavailable(f"state store: {what} failed") from exc

    async def get(self, key: str) -> Stored | None:
        response = await self._call(self._sidecar.client.get_state(self._store, key), f"get {key}")
        data = response.data  # type: ignore[attr-defined]
        if not data:
            return None
        return Stored(value=bytes(data), etag=str(response.etag))  # type: ignore[attr-defined]

    async def get_many(self, keys: list[str]) -> dict[str, Stored]:
        if not keys:
            return {}
        response = await self._call(self._sidecar.client.get_bulk_state(self._store, keys), "bulk get")
        found: dict[str, Stored] = {}
        for item in response.items:  # type: ignore[attr-defined]
            if item.data:
                found[item.key] = Stored(value=bytes(item.data), etag=str(item.etag))
        return found

    async def save(
        self, key: str, value: bytes, *, etag: str | None = None, ttl_seconds: int | None = None
    ) -> None:
        metadata = {"ttlInSeconds": str(ttl_seconds)} if ttl_seconds else {}
        options = StateOptions(concurrency=Concurrency.first_write) if etag is not None else None
        await self._call(
            self._sidecar.client.save_state(
                self._store, key, value, etag=etag, options=options, state_metadata=metadata
            ),
            f"save {key}",
        )

    async def create(self, key: str, value: bytes, *, ttl_seconds: int | None = None) -> bool:
        metadata = {"ttlInSeconds": str(ttl_seconds)} if ttl_seconds else {}
        try:
            await self._call(
                self._sidecar.client.save_state(
                    self._store, key, value, options=_FIRST_WRITE, state_metadata=metadata
                ),
                f"create {key}",
            )
            return True
        except (SidecarUnavailable, ETagMismatch):
            # A first-write refusal and an outage look alike on the wire; the key tells them apart.
            if await self.get(key) is not None:
                return False
            raise

    async def delete(self, key: str, *, etag: str | None = None) -> None:
        await self._call(self._sidecar.client.delete_state(self._store, key, etag=etag), f"delete {key}")


class Records(Generic[M]):
    """Typed access to one kind of record (a pydantic model) under a key prefix."""

    def __init__(self, store: KeyValueStore, model: type[M], prefix: str, ttl_seconds: int | None = None):
        self._store = store
        self._model = model
        self._prefix = prefix
        self._ttl = ttl_seconds

    def key(self, ident: object) -> str:
        return f"{self._prefix}:{ident}"

    async def load(self, ident: object) -> tuple[M, str] | None:
        stored = await self._store.get(self.key(ident))
        if stored is None:
            return None
        return self._model.model_validate_json(stored.value), stored.etag

    async def get(self, ident: object) -> M | None:
        loaded = await self.load(ident)
        return loaded[0] if loaded else None

    async def create(self, ident: object, record: M) -> bool:
        return await self._store.create(
            self.key(ident), record.model_dump_json().encode(), ttl_seconds=self._ttl
        )

    async def save(self, ident: object, record: M, *, etag: str | None = None) -> None:
        await self._store.save(
            self.key(ident), record.model_dump_json().encode(), etag=etag, ttl_seconds=self._ttl
        )

    async def update(
        self, ident: object, change: Callable[[M | None], M | None], *, attempts: int = 8
    ) -> M | None:
        """Read, change, write with the etag; re-read and retry on a concurrent change.

        `change` receives the current record (None when absent) and returns the new one, or None to
        leave the key as it is.
        """
        for _ in range(attempts):
            loaded = await self.load(ident)
            current, etag = loaded if loaded else (None, None)
            updated = change(current)
            if updated is None:
                return current
            try:
                if etag is None:
                    if await self.create(ident, updated):
                        return updated
                    continue
                await self.save(ident, updated, etag=etag)
                return updated
            except ETagMismatch:
                continue
        raise ETagMismatch(f"{self.key(ident)} kept changing under {attempts} attempts")
