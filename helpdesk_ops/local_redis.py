"""The local stack's own Redis: one redis-server on loopback with an append-only file, so a restarted
server (in the fault tests) comes back with its data."""

from __future__ import annotations

import asyncio
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from helpdesk_ops.processes import Proc


@dataclass
class RedisServer:
    port: int
    data_dir: Path
    proc: Proc | None = None
    password: str = ""

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        """redis-server on this port and data directory, in the foreground."""
        server = shutil.which("redis-server")
        if server is None:
            raise FileNotFoundError("redis-server not found: run `make setup` (installs the Debian package)")
        return [
            server,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--notify-keyspace-events",
            "KEA",
            "--protected-mode",
            "yes",
            "--daemonize",
            "no",
        ]


async def wait_for_redis(address: str, timeout: float) -> None:
    """Until the Redis at `address` answers a ping; TimeoutError after `timeout` seconds."""
    import redis.asyncio as aioredis

    deadline = time.monotonic() + timeout
    client = aioredis.Redis.from_url(f"redis://{address}")
    try:
        while True:
            try:
                if await client.ping():
                    return
            except Exception:  # noqa: S110 - waiting for it to come up
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"redis at {address} did not start")
            await asyncio.sleep(0.1)
    finally:
        await client.aclose()
