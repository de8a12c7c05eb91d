"""The public chat API on in-memory ports: the happy paths and every kind of bad input.

For each rejected request: the status, a problem+json body without the input, nothing published,
nothing stored, and no raw user text in the logs.
"""

from __future__ import annotations

import uuid

import pytest

from helpdesk.events import ChatRequested, Contract, FeedbackSubmitted, Rating
from tests.support.gateway import OPERATOR_KEY, GatewayUnderTest, answer_for, gateway

SECRET_TEXT = "my-secret-question-text-7f3a"


def assert_problem(response, status: int, *, echo: str | None = SECRET_TEXT) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert {"type", "title", "status", "detail", "correlation_id"} <= body.keys()
    assert body["status"] == status
    assert "Traceback" not in response.text
    if echo:
        assert echo not in response.text
    return body


def assert_nothing_happened(g: GatewayUnderTest, capsys: pytest.CaptureFixture[str]) -> None:
    assert g.published() == []
    assert g.state.writes == 0
    assert SECRET_TEXT not in capsys.readouterr().out


@pytest.fixture
def g():  # type: ignore[no-untyped-def]
    with gateway() as under_test:
        yield under_test


def test_a_chat_is_published_once_and_answered(g: GatewayUnderTest) -> None:
    response = g.client.post("/v1/chat", json={"message": "how do I reset my password?"}, headers=g.auth())
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "answered"
    assert body["answer"] == "Here is how."
    assert body["citations"] == ["kb-001"]
    published = g.published(ChatRequested)
    assert len(published) == 1
    assert str(published[0].turn_id) == body["turn_id"]  # type: ignore[attr-defined]
    polled = g.client.get(body["links"]["self"], headers=g.auth())
    assert polled.json()["status"] == "answered"
    conversation = g.client.get(body["links"]["conversation"], headers=g.auth()).json()
    assert [t["turn_id"] for t in conversation["turns"]] == [body["turn_id"]]


def test_respond_async_answers_202_with_a_location(g: GatewayUnderTest) -> None:
    response = g.client.post(
        "/v1/chat", json={"message": "hello"}, headers=g.auth() | {"prefer": "respond-async"}
    )
    assert response.status_code == 202
    assert response.headers["location"] == f"/v1/messages/{response.json()['turn_id']}"


def test_a_slow_answer_turns_into_202_after_the_wait() -> None:
    with gateway(answering=False, chat_wait_seconds=0.05) as g:
        response = g.client.post("/v1/chat", json={"message": "hello"}, headers=g.auth())
        assert response.status_code == 202
        assert g.client.get(response.headers["location"], headers=g.auth()).json()["status"] == "pending"


def test_a_continued_conversation_keeps_its_id(g: GatewayUnderTest) -> None:
    first = g.client.post("/v1/chat", json={"message": "hello"}, headers=g.auth()).json()
    second = g.client.post(
        "/v1/chat",
        json={"message": "and then?", "conversation_id": first["conversation_id"]},
        headers=g.auth(),
    ).json()
    assert second["conversation_id"] == first["conversation_id"]
    turns = g.client.get(f"/v1/conversations/{first['conversation_id']}", headers=g.auth()).json()["turns"]
    assert len(turns) == 2


# ---- malformed requests --------------------------------------------------------------------------


def test_a_body_that_is_not_json_is_a_400(g: GatewayUnderTest, capsys: pytest.CaptureFixture[str]) -> None:
    response = g.client.post(
        "/v1/chat",
        content=b'{"message": "' + SECRET_TEXT.encode(),
        headers=g.auth() | {"content-type": "application/json"},
    )
    assert_problem(response, 400)
    assert_nothing_happened(g, capsys)


def test_a_body_that_is_not_declared_json_is_a_415(
    g: GatewayUnderTest, capsys: pytest.CaptureFixture[str]
) -> None:
    response = g.client.post(
        "/v1/chat",
        content=f"message={SECRET_TEXT}".encode(),
        headers=g.auth() | {"content-type": "text/plain"},
    )
    assert_problem(response, 415)
    assert_nothing_happened(g, capsys)


def test_a_body_over_the_size_limit_is_refused_before_parsing(
    g: GatewayUnderTest, capsys: pytest.CaptureFixture[str]
) -> None:
    huge = b'{"message": "' + b"x" * (70 * 1024) + b'"}'
    response = g.client.post(
        "/v1/chat", content=huge, headers=g.auth() | {"content-type": "application/json"}
    )
    assert_problem(response, 413)
    assert_nothing_happened(g, capsys)


def test_a_chunked_body_over_the_size_limit_is_refused_too(g: GatewayUnderTest) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(80):
            yield b"x" * 1024

    response = g.client.post(
        "/v1/chat", content=chunks(), headers=g.auth() | {"content-type": "application/json"}
    )
    assert_problem(response, 413)
    assert g.published() == []


@pytest.mark.parametrize("message", ["", "   ", "\n\t ", "\u200b", "\u200b\u200d\ufeff", " \u00ad\u2060 "])
def test_an_empty_blank_or_invisible_message_is_a_422(
    g: GatewayUnderTest, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert_problem(g.client.post("/v1/chat", json={"message": message}, headers=g.auth()), 422)
    assert_nothing_happened(g, capsys)


def test_a_missing_message_is_a_422_naming_the_field(
    g: GatewayUnderTest, capsys: pytest.CaptureFixture[str]
) -> None:
    body = assert_problem(g.client.post("/v1/chat", json={}, headers=g.auth()), 422)
    assert body["errors"][0]["field"] == "message"
    assert_nothing_happened(g, capsys)


def test_a_message_over_the_length_limit_is_a_422(
    g: GatewayUnderTest, capsys: pytest.CaptureFixture[str]
) -> None:
    response = g.client.post("/v1/chat", json={"message": SECRET_TEXT + "y" * 4000}, headers=g.auth())
    assert_problem(response, 422)
    assert_nothing_happened(g, capsys)


@pytest.mark.parametrize(
    "body",
    [
        {"message": 42},
        {"message": ["a"]},
        {"message": "hi", "unexpected": SECRET_TEXT},
        {"message": "hi", "conversation_id": 7},
        [SECRET_TEXT],
        {"message": "hi", "locale": "not a locale!"},
    ],
)
def test_wrong_types_and_unknown_fields_are_a_422(
    g: GatewayUnderTest, body: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert_problem(g.client.post("/v1/chat", json=body, headers=g.auth()), 422)
    assert_nothing_happened(g, capsys)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"message": "caf\xe9 ' + SECRET_TEXT.encode() + b'"}',
        b'{"message": "nul \\u0000 ' + SECRET_TEXT.encode() + b'"}',
        b'{"message": "bell \\u0007 ' + SECRET_TEXT.encode() + b'"}',
        b'{"message": "escape \\u001b[31m ' + SECRET_TEXT.encode() + b'"}',
    ],
)
def test_invalid_utf8_nul_and_control_characters_are_a_400(
    g: GatewayUnderTest, raw: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    response = g.client.post("/v1/chat", content=raw, headers=g.auth() | {"content-type": "application/json"})
    assert_problem(response, 400)
    assert_nothing_happened(g, capsys)


def test_newlines_and_tabs_in_a_message_are_fine(g: GatewayUnderTest) -> None:
    response = g.client.post("/v1/chat", json={"message": "line one\nline two\twith tab"}, headers=g.auth())
    assert response.status_code == 200


@pytest.mark.parametrize("conversation_id", ["../etc/passwd", "not-a-uuid", "1234", "' OR 1=1 --"])
def test_a_malformed_conversation_id_is_a_422(
    g: GatewayUnderTest, conversation_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    response = g.client.post(
        "/v1/chat", json={"message": SECRET_TEXT, "conversation_id": conversation_id}, headers=g.auth()
    )
    assert_problem(response, 422)
    assert_nothing_happened(g, capsys)


def test_malformed_ids_in_paths_are_a_422_and_a_traversal_a_404(g: GatewayUnderTest) -> None:
    for path in ("/v1/messages/not-a-uuid", "/v1/conversations/x"):
        assert_problem(g.client.get(path, headers=g.auth()), 422, echo=None)
    # An encoded traversal leaves the route altogether: a plain problem+json 404, nothing resolved.
    assert_problem(g.client.get("/v1/messages/..%2F..%2Fetc", headers=g.auth()), 404, echo="etc")


# ---- other people's things -----------------------------------------------------------------------


def test_another_users_conversation_and_message_are_not_found(
    g: GatewayUnderTest, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = g.client.post("/v1/chat", json={"message": "hello"}, headers=g.auth()).json()
    g.bus.published.clear()
    writes = g.state.writes
    other = g.auth(OPERATOR_KEY)  # a different user
    assert_problem(g.client.get(f"/v1/messages/{mine['turn_id']}", headers=other), 404)
    assert_problem(g.client.get(f"/v1/conversations/{mine['conversation_id']}", headers=other), 404)
    unknown = g.client.get(f"/v1/messages/{uuid.uuid4()}", headers=other)
    assert (
        unknown.json()["detail"]
        == g.client.get(f"/v1/messages/{mine['turn_id']}", headers=other).json()["detail"]
    )
    response = g.client.post(
        "/v1/chat", json={"message": SECRET_TEXT, "conversation_id": mine["conversation_id"]}, headers=other
    )
    assert_problem(response, 404)
    assert g.published() == []
    assert g.state.writes == writes
    assert SECRET_TEXT not in capsys.readouterr().out


# ---- credentials ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization", [None, "Bearer nope", "Basic dXNlcjpwYXNz", "Bearer ", "hd_user_key"]
)
def test_a_missing_or_invalid_credential_is_a_401(
    g: GatewayUnderTest, authorization: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    headers = {"authorization": authorization} if authorization is not None else {}
    response = g.client.post("/v1/chat", json={"message": SECRET_TEXT}, headers=headers)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert_nothing_happened(g, capsys)


def test_anonymous_access_only_when_allowed() -> None:
    with gateway(allow_anonymous=True) as g:
        assert g.client.post("/v1/chat", json={"message": "hello"}).status_code == 200
        assert_problem(
            g.client.post("/v1/chat", json={"message": "x"}, headers=g.auth("wrong")), 401, echo=None
        )


# ---- rate limits ---------------------------------------------------------------------------------


def test_over_the_rate_limit_gets_429_and_nothing_is_queued() -> None:
    with gateway(rate_limit_per_user=3) as g:
        for _ in range(3):
            assert g.client.post("/v1/chat", json={"message": "hello"}, headers=g.auth()).status_code == 200
        published = len(g.published(ChatRequested))
        response = g.client.post("/v1/chat", json={"message": SECRET_TEXT}, headers=g.auth())
        assert_problem(response, 429)
        assert int(response.headers["retry-after"]) >= 1
        assert len(g.published(ChatRequested)) == published
        # another user is not affected
        assert (
            g.client.post("/v1/chat", json={"message": "hi"}, headers=g.auth(OPERATOR_KEY)).status_code == 200
        )


# ---- idempotency ---------------------------------------------------------------------------------


def test_the_same_idempotency_key_and_body_replay_with_one_publish(g: GatewayUnderTest) -> None:
    headers = g.auth() | {"idempotency-key": "k-1"}
    first = g.client.post("/v1/chat", json={"message": "hello"}, headers=headers)
    second = g.client.post("/v1/chat", json={"message": "hello"}, headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert len(g.published(ChatRequested)) == 1


def test_the_same_idempotency_key_with_another_body_is_a_conflict(g: GatewayUnderTest) -> None:
    headers = g.auth() | {"idempotency-key": "k-2"}
    assert g.client.post("/v1/chat", json={"message": "hello"}, headers=headers).status_code == 200
    assert_problem(g.client.post("/v1/chat", json={"message": SECRET_TEXT}, headers=headers), 409)
    assert len(g.published(ChatRequested)) == 1


def test_idempotency_keys_are_per_caller(g: GatewayUnderTest) -> None:
    g.client.post("/v1/chat", json={"message": "hello"}, headers=g.auth() | {"idempotency-key": "shared"})
    other = g.client.post(
        "/v1/chat", json={"message": "other"}, headers=g.auth(OPERATOR_KEY) | {"idempotency-key": "shared"}
    )
    assert other.status_code == 200
    assert len(g.published(ChatRequested)) == 2


def test_a_failed_publish_is_503_and_the_key_can_be_retried(g: GatewayUnderTest) -> None:
    g.bus.fail_next = 1
    headers = g.auth() | {"idempotency-key": "k-3"}
    failed = g.client.post("/v1/chat", json={"message": "hello"}, headers=headers)
    body = assert_problem(failed, 503)
    assert failed.headers["retry-after"]
    assert body["detail"]
    retried = g.client.post("/v1/chat", json={"message": "hello"}, headers=headers)
    assert retried.status_code == 200
    assert len(g.published(ChatRequested)) == 1


# ---- feedback ------------------------------------------------------------------------------------


def test_feedback_on_an_answer_is_published_and_recorded(g: GatewayUnderTest) -> None:
    turn = g.client.post("/v1/chat", json={"message": "hello"}, headers=g.auth()).json()
    response = g.client.post(
        "/v1/feedback",
        json={"turn_id": turn["turn_id"], "rating": "up", "comment": "thanks"},
        headers=g.auth(),
    )
    assert response.status_code == 200
    feedback = g.published(FeedbackSubmitted)
    assert len(feedback) == 1
    assert feedback[0].rating is Rating.UP  # type: ignore[attr-defined]
    turns = g.client.get(turn["links"]["conversation"], headers=g.auth()).json()["turns"]
    assert turns[0]["feedback"] == "up"


def test_feedback_on_someone_elses_turn_is_not_found(g: GatewayUnderTest) -> None:
    turn = g.client.post("/v1/chat", json={"message": "hello"}, headers=g.auth()).json()
    response = g.client.post(
        "/v1/feedback", json={"turn_id": turn["turn_id"], "rating": "down"}, headers=g.auth(OPERATOR_KEY)
    )
    assert_problem(response, 404)
    assert g.published(FeedbackSubmitted) == []


# ---- token budget --------------------------------------------------------------------------------


def test_a_turn_refused_for_its_token_budget_is_a_429_of_the_budget_type() -> None:
    from helpdesk.events import AnswerMode
    from tests.support.gateway import answer_for

    with gateway(answering=False) as g:

        async def refuse(event: object) -> None:
            assert isinstance(event, ChatRequested)
            refused = answer_for(event, "You have used today's allowance.").model_copy(
                update={"mode": AnswerMode.FALLBACK, "cited_faq_ids": [], "refusal": "budget"}
            )
            await g.parts.answers.complete(refused)
            await g.parts.answers.wake(refused)

        g.bus.subscribe(ChatRequested.topic, refuse)
        response = g.client.post("/v1/chat", json={"message": "hello"}, headers=g.auth())
        body = assert_problem(response, 429)
        assert body["type"].endswith("/token-budget")
        assert 0 < int(response.headers["retry-after"]) <= 24 * 3600 + 1


@pytest.mark.parametrize("path", ["competing", "live"])
def test_either_delivery_of_the_answer_alone_wakes_the_waiting_request(path: str) -> None:
    """The competing delivery (which stores the reply) and the live copy (which every replica sees)
    race; whichever arrives first on the replica holding the request answers it."""
    with gateway(answering=False) as g:

        async def answer(event: Contract) -> None:
            assert isinstance(event, ChatRequested)
            answered = answer_for(event)
            await (
                g.parts.answers.complete(answered) if path == "competing" else g.parts.answers.wake(answered)
            )

        g.bus.subscribe(ChatRequested.topic, answer)
        response = g.client.post("/v1/chat", json={"message": "hello"}, headers=g.auth())
        assert response.status_code == 200
        assert response.json()["answer"] == "Here is how."
        assert g.client.get(response.json()["links"]["self"], headers=g.auth()).json()["status"] == "answered"
