"""State store adapter and typed helpers on top of it.

Keys are prefixed by Dapr with the app-id (the default `keyPrefix: appid`), so one service can never read
another's keys; keep it that way. Redis transactions through Dapr are not atomic when an etag check
fails (the other operations still apply), so the helpdesk keeps each invariant inside one key and uses
etags on that key rather than multi-key transactions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import aiohttp
import orjson
from pydantic import BaseModel

from helpdesk.dapr.ports import ETagMismatch, KeyValueStore, SidecarUnavailable, Stored
from helpdesk.dapr.sidecar import Sidecar
from helpdesk.topics import Component

M = TypeVar("M", bound=BaseModel)

_FIRST_WRITE = {"concurrency": "first-write", "consistency": "strong"}
_ERRORS = (aiohttp.ClientError, TimeoutError)


class DaprStateStore:
    """The state store through the sidecar's HTTP API. Values are JSON documents, sent as they are."""

    def __init__(
        self, sidecar: Sidecar, store: Component = Component.STATESTORE, timeout_seconds: float = 5.0
    ) -> None:
        self._sidecar = sidecar
        self._base = f"/v1.0/state/{store.value}"
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    async def get(self, key: str) -> Stored | None:
        try:
            async with self._sidecar.http.get(
                f"{self._base}/{quote(key, safe='')}", timeout=self._timeout
            ) as r:
                if r.status == 204:
                    return None
                if r.status != 200:
                    raise SidecarUnavailable(f"state store: get {key} answered {r.status}")
                return Stored(value=await r.read(), etag=r.headers.get("ETag", ""))
        except _ERRORS as exc:
            raise SidecarUnavailable(f"state store: get {key} failed") from exc

    async def get_many(self, keys: list[str]) -> dict[str, Stored]:
        if not keys:
            return {}
        body = orjson.dumps({"keys": keys, "parallelism": 16})
        try:
            async with self._sidecar.http.post(f"{self._base}/bulk", data=body, timeout=self._timeout) as r:
                if r.status != 200:
                    raise SidecarUnavailable(f"state store: bulk get answered {r.status}")
                items = orjson.loads(await r.read())
        except _ERRORS as exc:
            raise SidecarUnavailable("state store: bulk get failed") from exc
        return {
            item["key"]: Stored(value=orjson.dumps(item["data"]), etag=str(item.get("etag", "")))
            for item in items
            if item.get("data") is not None
        }

    async def _save(
        self,
        key: str,
        value: bytes,
        etag: str | None,
        options: dict[str, str] | None,
        ttl_seconds: int | None,
    ) -> None:
        item: dict[str, Any] = {"key": key, "value": orjson.Fragment(value)}
        if etag is not None:
            item["etag"] = etag
        if options:
            item["options"] = options
        if ttl_seconds:
            item["metadata"] = {"ttlInSeconds": str(ttl_seconds)}
        try:
            async with self._sidecar.http.post(
                self._base,
                data=orjson.dumps([item]),
                headers={"content-type": "application/json"},
                timeout=self._timeout,
            ) as r:
                if r.status == 204:
                    return
                if r.status == 409:
                    raise ETagMismatch(key)
                raise SidecarUnavailable(f"state store: save {key} answered {r.status}")
        except _ERRORS as exc:
            raise SidecarUnavailable(f"state store: save {key} failed") from exc

    async def save(
        self, key: str, value: bytes, *, etag: str | None = None, ttl_seconds: int | None = None
    ) -> None:
        await self._save(
            key, value, etag, {"concurrency": "first-write"} if etag is not None else None, ttl_seconds
        )

    async def create(self, key: str, value: bytes, *, ttl_seconds: int | None = None) -> bool:
        try:
            await self._save(key, value, None, _FIRST_WRITE, ttl_seconds)
            return True
        except (SidecarUnavailable, ETagMismatch):
            # A first-write refusal and an outage look alike on the wire; the key tells them apart.
            if await self.get(key) is not None:
                return False
            raise

    async def save_many(self, values: dict[str, bytes]) -> None:
        await self._bulk_save([{"key": k, "value": orjson.Fragment(v)} for k, v in values.items()])

    async def save_many_if_unchanged(self, values: dict[str, tuple[bytes, str]]) -> None:
        """One bulk save whose items each carry their etag (first-write): the sidecar writes each on its
        own and answers 409 when any etag no longer matched."""
        await self._bulk_save(
            [
                {"key": key, "value": orjson.Fragment(value), "etag": etag, "options": _FIRST_WRITE}
                for key, (value, etag) in values.items()
            ]
        )

    async def _bulk_save(self, items: list[dict[str, Any]]) -> None:
        if not items:
            return
        try:
            async with self._sidecar.http.post(
                self._base,
                data=orjson.dumps(items),
                headers={"content-type": "application/json"},
                timeout=self._timeout,
            ) as r:
                if r.status == 204:
                    return
                if r.status == 409:
                    raise ETagMismatch(f"{len(items)} keys, one or more changed")
                raise SidecarUnavailable(f"state store: bulk save answered {r.status}")
        except _ERRORS as exc:
            raise SidecarUnavailable("state store: bulk save failed") from exc

    async def delete_many(self, keys: list[str]) -> None:
        """One transaction of deletes: without etags nothing in it can be refused, so the caveat about
        Redis transactions through Dapr (no rollback on a failed etag) does not arise."""
        if not keys:
            return
        body = orjson.dumps({"operations": [{"operation": "delete", "request": {"key": k}} for k in keys]})
        try:
            async with self._sidecar.http.post(
                f"{self._base}/transaction",
                data=body,
                headers={"content-type": "application/json"},
                timeout=self._timeout,
            ) as r:
                if r.status not in (200, 204):
                    raise SidecarUnavailable(f"state store: bulk delete answered {r.status}")
        except _ERRORS as exc:
            raise SidecarUnavailable("state store: bulk delete failed") from exc

    async def delete(self, key: str, *, etag: str | None = None) -> None:
        headers = {"If-Match": etag} if etag is not None else {}
        try:
            async with self._sidecar.http.delete(
                f"{self._base}/{quote(key, safe='')}", headers=headers, timeout=self._timeout
            ) as r:
                if r.status == 409:
                    raise ETagMismatch(key)
                if r.status not in (200, 204):
                    raise SidecarUnavailable(f"state store: delete {key} answered {r.status}")
        except _ERRORS as exc:
            raise SidecarUnavailable(f"state store: delete {key} failed") from exc


class Records(Generic[M]):
    """Typed access to one kind of record (a pydantic model) under a key prefix."""

    def __init__(self, store: KeyValueStore, model: type[M], prefix: str, ttl_seconds: int | None = None):
        self._store = store
        self._model = model
        self._prefix = prefix
        self._ttl = ttl_seconds

    @property
    def ttl_seconds(self) -> int | None:
        return self._ttl

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
