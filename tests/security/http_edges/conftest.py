"""One stack for the HTTP edge attacks, with a low web-session budget per address and a short body
deadline on the gateway (tests/security/http_edges/raw_http.py has the values). Package-scoped: the
stack starts once for the attacks in this folder and stops when they are done."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from helpdesk_ops.devstack import Stack
from tests.security.http_edges.raw_http import GATEWAY_BODY_SECONDS, SESSIONS_PER_ADDRESS
from tests.support.stack import running_stack


@pytest.fixture(scope="package")
async def edges(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    gateway_env = {
        "HELPDESK_RATE_LIMIT_PER_USER": "100000",
        "HELPDESK_RATE_LIMIT_PER_KEY": "100000",
        "HELPDESK_WEB_SESSIONS_PER_ADDRESS": str(SESSIONS_PER_ADDRESS),
        "HELPDESK_BODY_TIMEOUT_SECONDS": str(GATEWAY_BODY_SECONDS),
    }
    async with running_stack(Path(tmp_path_factory.mktemp("edges")), extra_env={"gateway": gateway_env}) as s:
        yield s
