"""The one exception-to-HTTP mapping: a domain error raised anywhere under a route is answered as
problem+json with what its class declares."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from helpdesk.errors import PROBLEM_BASE, PROBLEM_JSON, DomainError, Problem, install_problem_handlers


class ConversationNotFound(DomainError):
    status = 404
    kind = "conversation-not-found"
    title = "No such conversation"


class TooManyTurns(DomainError):
    status = 429


def app_raising(error: Exception) -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/x")
    async def x() -> None:
        raise error

    return TestClient(app, raise_server_exceptions=False)


def test_a_domain_error_is_answered_with_what_its_class_declares() -> None:
    response = app_raising(ConversationNotFound("No such conversation.")).get("/x")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["type"] == PROBLEM_BASE + "conversation-not-found"
    assert body["title"] == "No such conversation"
    assert body["detail"] == "No such conversation."
    assert set(body) == {"type", "title", "status", "detail", "correlation_id"}


def test_kind_and_title_default_to_the_status_and_headers_and_extra_go_out() -> None:
    error = TooManyTurns("Slow down.", headers={"Retry-After": "3"}, extra={"retry_after_seconds": 3})
    response = app_raising(error).get("/x")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    body = response.json()
    assert (body["type"], body["title"]) == (PROBLEM_BASE + "too-many-requests", "Too many requests")
    assert body["retry_after_seconds"] == 3


def test_a_problem_is_a_domain_error_with_its_status_given_at_the_raise() -> None:
    problem = Problem(409, "Closed.", kind="handoff-closed")
    assert isinstance(problem, DomainError)
    assert (problem.status, problem.kind, problem.title) == (409, "handoff-closed", "Conflict")
    assert (DomainError.status, DomainError.kind) == (400, "bad-request")
    response = app_raising(problem).get("/x")
    assert (response.status_code, response.json()["type"]) == (409, PROBLEM_BASE + "handoff-closed")
