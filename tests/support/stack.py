"""Start the real stack (Redis + one daprd per replica + the services) for integration tests."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from helpdesk_ops.cli import _daprd
from helpdesk_ops.devstack import Stack
from tests.support.redis import external_redis


def daprd_path() -> str:
    path = _daprd()
    if not Path(path).exists():
        raise RuntimeError(
            f"daprd not found at {path}: run `make setup` (or set DAPRD). "
            "Integration tests need the real runtime."
        )
    return path


@asynccontextmanager
async def running_stack(
    run_dir: Path,
    *,
    replicas: dict[str, int] | None = None,
    extra_env: dict[str, dict[str, str]] | None = None,
    secrets_extra: dict[str, str] | None = None,
) -> AsyncIterator[Stack]:
    with external_redis() as redis_address:
        stack = Stack(
            replicas=replicas,
            run_dir=run_dir,
            daprd=daprd_path(),
            free_ports=True,
            external_redis=redis_address,
            extra_env=extra_env,
            secrets_extra=secrets_extra,
            echo=sys.stderr if os.environ.get("HELPDESK_TEST_ECHO") else None,
        )
        try:
            await stack.start(timeout=180)
            yield stack
        finally:
            await stack.stop()


def client_for(
    stack: Stack, index: int = 0, api_key: str | None = None, timeout: float = 30.0
) -> httpx.AsyncClient:
    headers = {"authorization": f"Bearer {api_key or stack.api_key}"}
    return httpx.AsyncClient(base_url=stack.gateway_url(index), headers=headers, timeout=timeout)
