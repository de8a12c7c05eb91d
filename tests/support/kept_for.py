"""A state store that remembers the TTL each key was last written with: the memory store keeps every key
for ever, so tests of what is bounded by time read the TTL the code asked the sidecar for here."""

from __future__ import annotations

from helpdesk.memory_ports import MemoryStateStore


class KeptFor(MemoryStateStore):
    def __init__(self) -> None:
        super().__init__()
        self.ttls: dict[str, int | None] = {}

    async def save(
        self, key: str, value: bytes, *, etag: str | None = None, ttl_seconds: int | None = None
    ) -> None:
        await super().save(key, value, etag=etag, ttl_seconds=ttl_seconds)
        self.ttls[key] = ttl_seconds

    async def create(self, key: str, value: bytes, *, ttl_seconds: int | None = None) -> bool:
        created = await super().create(key, value, ttl_seconds=ttl_seconds)
        if created:
            self.ttls[key] = ttl_seconds
        return created

    def kept(self, prefix: str) -> set[int | None]:
        """The TTLs of the keys that start with `prefix` (empty when there is none)."""
        return {ttl for key, ttl in self.ttls.items() if key.startswith(prefix)}
