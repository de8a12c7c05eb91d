"""Generation tests talk real HTTP to a local OpenAI-compatible server (one per session, reset per test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.openai_server import OpenAITestServer


@pytest.fixture(scope="session")
def openai_server() -> Iterator[OpenAITestServer]:
    with OpenAITestServer() as server:
        yield server


@pytest.fixture
def llm(openai_server: OpenAITestServer) -> Iterator[OpenAITestServer]:
    openai_server.reset()
    yield openai_server
    openai_server.reset()
