"""Hostile calls at the evaluator's withdraw route on the running stack (the session stack of
tests/conftest.py): without the operator key it is refused before anything is read, and an id that names
no candidate (unknown, oversized, with path or control characters) gets a 404 problem+json that echoes
nothing; none of them writes a knowledge version. (Withdrawing what is not an approved wording, 409, and
the dashboard's CSRF check are in tests/unit/evaluator/test_wording_review.py.)"""

from __future__ import annotations

import httpx
import pytest
import redis.asyncio as aioredis

from helpdesk_ops.devstack import Stack
from tests.support.imported_knowledge import operator_api

NO_SUCH_CANDIDATE = "No such candidate."
ODD_IDS = [
    ("0" * 32, NO_SUCH_CANDIDATE),
    ("x" * 5_000, NO_SUCH_CANDIDATE),
    ("%00%0d%0aSet-Cookie:%20a=b", NO_SUCH_CANDIDATE),
    ("%E2%80%AEdi-nwonknu", NO_SUCH_CANDIDATE),
    ("..%2F..%2Fknowledge%2Fimports", "Not Found"),
]
"""Ids, and what the 404 says: a decoded slash leaves the route's path, so no route is matched at all."""


async def _current_version(stack: Stack) -> bytes | None:
    client = aioredis.Redis.from_url(f"redis://{stack.redis_address}")
    try:
        current: bytes | None = await client.hget("knowledgestore||kb:current", "data")  # type: ignore[assignment]
    finally:
        await client.aclose()
    return current


@pytest.mark.parametrize("who", ["nobody", "a forged operator key", "a user's key"])
async def test_withdrawing_without_the_operator_key_is_refused(stack: Stack, who: str) -> None:
    before = await _current_version(stack)
    keys = {"a forged operator key": "hdop_not-a-key", "a user's key": stack.api_key}
    async with operator_api(stack, key=keys.get(who)) as api:
        if who == "nobody":
            del api.headers["authorization"]
        answer = await api.post(f"/v1/faq-candidates/{'0' * 32}/withdraw")
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert await _current_version(stack) == before


@pytest.mark.parametrize(("candidate_id", "detail"), ODD_IDS)
async def test_an_id_that_names_no_candidate_gets_a_404_that_echoes_nothing(
    stack: Stack, candidate_id: str, detail: str
) -> None:
    before = await _current_version(stack)
    async with operator_api(stack) as api:
        answer = await api.post(f"/v1/faq-candidates/{candidate_id}/withdraw")
    _not_found(answer, candidate_id, detail)
    assert await _current_version(stack) == before


async def test_a_body_sent_to_withdraw_is_not_read(stack: Stack) -> None:
    """The route takes no body: 100 KB of broken JSON gets the same 404 as none."""
    async with operator_api(stack) as api:
        answer = await api.post(
            f"/v1/faq-candidates/{'0' * 32}/withdraw",
            content=b"{" * 100_000,
            headers={"content-type": "application/json"},
        )
    _not_found(answer, "{" * 50, NO_SUCH_CANDIDATE)


def _not_found(answer: httpx.Response, sent: str, detail: str) -> None:
    assert answer.status_code == 404, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert (problem["status"], problem["title"], problem["detail"]) == (404, "Not found", detail)
    assert "Traceback" not in answer.text
    assert sent[:100] not in answer.text
    assert "set-cookie" not in answer.headers
