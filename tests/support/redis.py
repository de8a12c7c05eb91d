"""A Redis for the integration tests: a testcontainers container when a Docker engine answers, the
local `redis-server` (started by the stack runner) otherwise."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator


def docker_available() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        return subprocess.run([docker, "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@contextlib.contextmanager
def external_redis() -> Iterator[str | None]:
    """Yield `host:port` of a containerised Redis, or None when the runner must start its own."""
    if not docker_available():
        yield None
        return
    from testcontainers.redis import RedisContainer

    container = RedisContainer("redis:7.2-alpine").with_command(
        "redis-server --appendonly yes --notify-keyspace-events KEA"
    )
    with container:
        yield f"{container.get_container_host_ip()}:{container.get_exposed_port(6379)}"
