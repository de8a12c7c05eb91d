"""Shared fixtures. Integration tests share one real stack per session (Redis + daprd + services)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from helpdesk_ops.devstack import Stack
from tests.support.openai_server import OpenAITestServer
from tests.support.stack import running_stack

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def openai_server() -> Iterator[OpenAITestServer]:
    """The local OpenAI-compatible server over real HTTP, one per session; tests that script it reset it
    first (`llm` does)."""
    with OpenAITestServer() as server:
        yield server


@pytest.fixture
def llm(openai_server: OpenAITestServer) -> Iterator[OpenAITestServer]:
    """The session's OpenAI-compatible server, reset before and after the test."""
    openai_server.reset()
    yield openai_server
    openai_server.reset()


@pytest.fixture(scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """The whole helpdesk on free ports: two gateway replicas (so the answer-routing across replicas is
    always exercised), one of everything else."""
    async with running_stack(
        tmp_path_factory.mktemp("stack"),
        replicas={"gateway": 2},
        # The suite is many users from one address in a few minutes: limits are tested in unit tests.
        extra_env={
            "gateway": {
                "HELPDESK_RATE_LIMIT_PER_USER": "100000",
                "HELPDESK_RATE_LIMIT_PER_KEY": "100000",
                "HELPDESK_WEB_SESSIONS_PER_ADDRESS": "100000",
            }
        },
    ) as running:
        yield running
