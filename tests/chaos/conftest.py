"""The fault suite's stack: two gateways, three nlp replicas, one dialogue and evaluator; a local
OpenAI-compatible server for the model; local Bot Framework key and connector servers for Teams.

`make chaos` runs this suite; at the end it prints a table for people and one JSON line per scenario,
and keeps them in test-artifacts/chaos.jsonl. The scenarios share the stack and run in file order:
faults in delivery, killed processes, the model, and Redis last, since every service depends on it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from helpdesk_ops.devstack import Stack
from tests.chaos.support import RESULTS, llm_mode
from tests.support.openai_server import OpenAITestServer
from tests.support.stack import running_stack
from tests.support.teams import APP_PASSWORD, TeamsWorld, teams_world

ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "chaos.jsonl"


@pytest.fixture(scope="session")
def model() -> Iterator[OpenAITestServer]:
    with OpenAITestServer() as server:
        yield server


@pytest.fixture(scope="session")
def world() -> Iterator[TeamsWorld]:
    with teams_world() as w:
        yield w


@pytest.fixture(scope="session")
async def chaos_stack(
    model: OpenAITestServer, world: TeamsWorld, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    limits = {
        "HELPDESK_RATE_LIMIT_PER_USER": "1000000",
        "HELPDESK_RATE_LIMIT_PER_KEY": "1000000",
        "HELPDESK_CHAT_WAIT_SECONDS": "20",
    }
    dialogue = {
        "OPENAI_BASE_URL": model.base_url,
        "HELPDESK_GENERATION__DEADLINE_SECONDS": "8",
        "HELPDESK_GENERATION__TIMEOUT_SECONDS": "6",
        "HELPDESK_GENERATION__MAX_RETRIES": "2",
        "HELPDESK_GENERATION__BREAKER_RESET_SECONDS": "5",
        "HELPDESK_GENERATION__CACHE_TTL_SECONDS": "0",
        "HELPDESK_GENERATION__USER_DAILY_TOKEN_BUDGET": "0",
        "HELPDESK_GENERATION__CONVERSATION_TOKEN_BUDGET": "0",
    }
    async with running_stack(
        Path(tmp_path_factory.mktemp("chaos")),
        replicas={"gateway": 2, "nlp": 3},
        extra_env={"gateway": world.env() | limits, "dialogue": dialogue},
        secrets_extra={"teams-app-password": APP_PASSWORD, "openai-api-key": "sk-chaos"},
    ) as stack:
        yield stack


@pytest.fixture
async def model_answers(chaos_stack: Stack, model: OpenAITestServer) -> AsyncIterator[OpenAITestServer]:
    """The model answers turns for the test (answer_mode llm), and the stack is back on FAQ answers after."""
    model.reset()
    await llm_mode(chaos_stack, True)
    yield model
    model.reset()
    await llm_mode(chaos_stack, False)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not RESULTS:
        return
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text("".join(r.line() + "\n" for r in RESULTS))
    write = terminalreporter.write_line
    write("")
    write("scenario  sent  accepted  refused  answered  dead-lettered  lost  duplicated  seconds  what")
    for r in RESULTS:
        write(
            f"{r.scenario:<8} {r.sent:>5} {r.accepted:>9} {r.refused:>8} {r.answered:>9} "
            f"{r.dead_lettered:>14} {r.lost:>5} {r.duplicated:>11} {r.seconds:>8}  {r.title}"
        )
    write("")
    for r in RESULTS:
        write(r.line())
