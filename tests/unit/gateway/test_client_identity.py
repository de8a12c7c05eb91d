"""Who a client is, on in-memory ports: the one client address every limit counts, an anonymous
identity of one's own per client (signed cookie), one rating per answer, a cap on open handoffs per
user and per web session, and the idempotency fingerprint taken of the parsed request."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from starlette.requests import Request

from helpdesk.events import (
    ChatEscalated,
    ChatRequested,
    Contract,
    EscalationReason,
    FeedbackSubmitted,
    Language,
)
from services.gateway.api.deps import ANONYMOUS_COOKIE, client_address
from services.gateway.api.models import ChatRequest
from services.gateway.channels.web.sessions import WebSessions
from services.gateway.idempotency import fingerprint
from tests.support.gateway import OPERATOR_KEY, GatewayUnderTest, gateway

KEY = "k" * 43


def request_from(host: str | None) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [],
        "client": (host, 50000) if host is not None else None,
    }
    return Request(scope)


# ---- the client address ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "counted_as"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:fffe", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("testclient", "testclient"),
        (None, None),
    ],
)
def test_a_client_is_counted_by_its_address_and_ipv6_by_its_64(peer: str | None, counted_as: str) -> None:
    assert client_address(request_from(peer)) == counted_as


def test_forwarded_headers_are_not_read_by_the_gateway() -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(b"x-forwarded-for", b"198.51.100.9"), (b"forwarded", b"for=198.51.100.9")],
        "client": ("127.0.0.1", 50000),
    }
    assert client_address(Request(scope)) == "127.0.0.1"


# ---- anonymous clients -----------------------------------------------------------------------------


@pytest.fixture
def anonymous() -> Iterator[GatewayUnderTest]:
    with gateway(allow_anonymous=True) as under_test:
        yield under_test


def cookie_of(response) -> str:  # type: ignore[no-untyped-def]
    value: str = response.cookies[ANONYMOUS_COOKIE]
    return value


def test_the_first_answer_gives_an_anonymous_client_a_cookie_of_its_own(anonymous: GatewayUnderTest) -> None:
    response = anonymous.client.post("/v1/chat", json={"message": "hello"})
    assert response.status_code == 200
    header = response.headers["set-cookie"].lower()
    assert header.startswith(f"{ANONYMOUS_COOKIE}=")
    for attribute in ("httponly", "samesite=strict", "path=/", f"max-age={24 * 3600}"):
        assert attribute in header
    assert "secure" not in header, "local runs are plain HTTP"
    [published] = anonymous.published(ChatRequested)
    assert published.channel.user_id.startswith("anonymous:")  # type: ignore[attr-defined]


def test_anonymous_clients_cannot_read_each_others_conversations(anonymous: GatewayUnderTest) -> None:
    client = anonymous.client
    first = client.post("/v1/chat", json={"message": "hello"})
    chat = first.json()
    mine = {"cookie": f"{ANONYMOUS_COOKIE}={cookie_of(first)}"}
    client.cookies.clear()
    assert client.get(chat["links"]["conversation"], headers=mine).status_code == 200
    assert client.get(chat["links"]["conversation"]).status_code == 404
    client.cookies.clear()
    assert client.get(chat["links"]["self"]).status_code == 404
    client.cookies.clear()
    taking_over = {"message": "mine now", "conversation_id": chat["conversation_id"]}
    assert client.post("/v1/chat", json=taking_over).status_code == 404
    client.cookies.clear()
    rated = client.post("/v1/feedback", json={"turn_id": chat["turn_id"], "rating": "down"})
    assert rated.status_code == 404


def test_a_kept_cookie_is_one_client_and_is_not_reissued(anonymous: GatewayUnderTest) -> None:
    first = anonymous.client.post("/v1/chat", json={"message": "hello"})
    second = anonymous.client.post("/v1/chat", json={"message": "hello again"})
    assert ANONYMOUS_COOKIE not in second.cookies
    users = {e.channel.user_id for e in anonymous.published(ChatRequested)}  # type: ignore[attr-defined]
    assert len(users) == 1
    assert cookie_of(first)


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(
            lambda sessions, token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"), id="tampered"
        ),
        pytest.param(lambda sessions, token: sessions.issue().token, id="a-web-session-token"),
        pytest.param(
            lambda sessions, token: WebSessions("x" * 43, 60).anonymous(None, 60).token, id="other-key"
        ),
        pytest.param(lambda sessions, token: "garbage", id="garbage"),
    ],
)
def test_a_forged_cookie_is_a_new_client_not_the_one_it_imitates(anonymous: GatewayUnderTest, forge) -> None:  # type: ignore[no-untyped-def]
    first = anonymous.client.post("/v1/chat", json={"message": "hello"})
    chat, token = first.json(), cookie_of(first)
    anonymous.client.cookies.clear()
    forged = {"cookie": f"{ANONYMOUS_COOKIE}={forge(anonymous.desk.web_sessions, token)}"}
    response = anonymous.client.post("/v1/chat", json={"message": "hi"}, headers=forged)
    assert response.status_code == 200
    assert cookie_of(response) != token, "a new client gets an identity of its own"
    users = {e.channel.user_id for e in anonymous.published(ChatRequested)}  # type: ignore[attr-defined]
    assert len(users) == 2
    anonymous.client.cookies.clear()
    assert anonymous.client.get(chat["links"]["conversation"], headers=forged).status_code == 404


def test_an_anonymous_cookie_is_no_bearer_credential(anonymous: GatewayUnderTest) -> None:
    token = cookie_of(anonymous.client.post("/v1/chat", json={"message": "hello"}))
    anonymous.client.cookies.clear()
    refused = anonymous.client.post(
        "/v1/chat", json={"message": "x"}, headers={"authorization": f"Bearer {token}"}
    )
    assert refused.status_code == 401


def test_a_cookie_past_half_its_life_is_renewed_for_the_same_client() -> None:
    now = [time.time()]
    sessions = WebSessions(KEY, 60, clock=lambda: now[0])
    first = sessions.anonymous(None, ttl_seconds=100)
    assert first.token is not None
    now[0] += 40
    kept = sessions.anonymous(first.token, ttl_seconds=100)
    assert kept.token is None
    assert kept.principal == first.principal
    now[0] += 20
    renewed = sessions.anonymous(first.token, ttl_seconds=100)
    assert renewed.token is not None
    assert renewed.principal == first.principal
    now[0] += 100
    assert sessions.anonymous(first.token, ttl_seconds=100).principal != first.principal
    assert sessions.anonymous(renewed.token, ttl_seconds=100).principal == first.principal


def test_without_anonymous_access_a_cookie_is_no_credential() -> None:
    with gateway(allow_anonymous=True) as g:
        token = WebSessions(KEY, 60).anonymous(None, 60).token
        g.desk.web_sessions = WebSessions(KEY, 60)
        assert (
            g.client.post(
                "/v1/chat", json={"message": "hi"}, headers={"cookie": f"{ANONYMOUS_COOKIE}={token}"}
            ).status_code
            == 200
        )
    with gateway() as g:
        g.desk.web_sessions = WebSessions(KEY, 60)
        response = g.client.post(
            "/v1/chat", json={"message": "hi"}, headers={"cookie": f"{ANONYMOUS_COOKIE}={token}"}
        )
        assert response.status_code == 401
        assert g.published() == []


def test_without_a_signing_key_anonymous_access_is_off() -> None:
    with gateway(allow_anonymous=True) as g:
        g.desk.web_sessions = WebSessions(None, 60)
        response = g.client.post("/v1/chat", json={"message": "hi"})
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("application/problem+json")
        assert g.published() == []


def test_the_cookie_is_secure_on_azure() -> None:
    with gateway(allow_anonymous=True, environment="azure") as g:
        header = g.client.post("/v1/chat", json={"message": "hi"}).headers["set-cookie"].lower()
        assert "; secure" in header


def test_new_anonymous_clients_share_their_addresss_chat_limit() -> None:
    with gateway(allow_anonymous=True, rate_limit_per_user=2) as g:
        for _ in range(2):
            assert g.client.post("/v1/chat", json={"message": "hello"}).status_code == 200
            g.client.cookies.clear()
        refused = g.client.post("/v1/chat", json={"message": "hello"})
        assert refused.status_code == 429
        assert len(g.published(ChatRequested)) == 2


# ---- idempotency on the parsed request -------------------------------------------------------------


def test_the_fingerprint_is_of_the_request_not_its_bytes() -> None:
    conversation = uuid.uuid4()
    same = [
        ChatRequest.model_validate_json('{"message":"héllo","locale":"en"}'),
        ChatRequest.model_validate_json('{ "locale" : "en",\n "message" : "h\\u00e9llo" }'),
    ]
    assert fingerprint(same[0]) == fingerprint(same[1])
    with_id = ChatRequest.model_validate({"message": "hi", "conversation_id": str(conversation).upper()})
    assert fingerprint(with_id) == fingerprint(ChatRequest(message="hi", conversation_id=conversation))
    assert fingerprint(ChatRequest(message="hi")) == fingerprint(ChatRequest(message="hi", locale=None))
    assert fingerprint(ChatRequest(message="hi")) != fingerprint(ChatRequest(message="hi!"))


def test_a_retry_with_the_keys_reordered_replays() -> None:
    with gateway() as g:
        headers = g.auth() | {"idempotency-key": "k-order", "content-type": "application/json"}
        first = g.client.post("/v1/chat", content=b'{"message":"hello","locale":"en"}', headers=headers)
        retry = g.client.post("/v1/chat", content=b'{"locale": "en", "message": "hello"}', headers=headers)
        assert first.status_code == retry.status_code == 200
        assert retry.headers["idempotent-replayed"] == "true"
        assert retry.json()["turn_id"] == first.json()["turn_id"]
        other = g.client.post("/v1/chat", content=b'{"locale": "ja", "message": "hello"}', headers=headers)
        assert other.status_code == 409
        assert len(g.published(ChatRequested)) == 1


# ---- feedback --------------------------------------------------------------------------------------


def test_one_event_per_answer_however_often_it_is_rated() -> None:
    with gateway() as g:
        turn = g.client.post("/v1/chat", json={"message": "hello"}, headers=g.auth()).json()["turn_id"]
        for _ in range(5):
            response = g.client.post("/v1/feedback", json={"turn_id": turn, "rating": "up"}, headers=g.auth())
            assert response.status_code == 200
            assert response.json()["rating"] == "up"
        assert len(g.published(FeedbackSubmitted)) == 1


def test_a_different_second_rating_is_refused() -> None:
    with gateway() as g:
        turn = g.client.post("/v1/chat", json={"message": "hello"}, headers=g.auth()).json()
        assert (
            g.client.post(
                "/v1/feedback", json={"turn_id": turn["turn_id"], "rating": "up"}, headers=g.auth()
            ).status_code
            == 200
        )
        changed = g.client.post(
            "/v1/feedback", json={"turn_id": turn["turn_id"], "rating": "down"}, headers=g.auth()
        )
        assert changed.status_code == 409
        assert changed.headers["content-type"].startswith("application/problem+json")
        assert changed.json()["type"].endswith("/already-rated")
        assert "up" in changed.json()["detail"]
        assert [e.rating.value for e in g.published(FeedbackSubmitted)] == ["up"]  # type: ignore[attr-defined]
        turns = g.client.get(turn["links"]["conversation"], headers=g.auth()).json()["turns"]
        assert turns[0]["feedback"] == "up"


def test_feedback_is_limited_per_user() -> None:
    with gateway(feedback_per_user=3) as g:
        turns = [
            g.client.post("/v1/chat", json={"message": "hello"}, headers=g.auth()).json()["turn_id"]
            for _ in range(4)
        ]
        for turn in turns[:3]:
            assert (
                g.client.post(
                    "/v1/feedback", json={"turn_id": turn, "rating": "up"}, headers=g.auth()
                ).status_code
                == 200
            )
        refused = g.client.post("/v1/feedback", json={"turn_id": turns[3], "rating": "up"}, headers=g.auth())
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert len(g.published(FeedbackSubmitted)) == 3
        other = g.client.post("/v1/chat", json={"message": "hello"}, headers=g.auth(OPERATOR_KEY)).json()
        mine = {"turn_id": other["turn_id"], "rating": "up"}
        assert g.client.post("/v1/feedback", json=mine, headers=g.auth(OPERATOR_KEY)).status_code == 200


def test_a_rating_whose_event_was_not_published_can_be_given_again() -> None:
    with gateway() as g:
        turn = g.client.post("/v1/chat", json={"message": "hello"}, headers=g.auth()).json()
        g.bus.fail_next = 1
        failed = g.client.post(
            "/v1/feedback", json={"turn_id": turn["turn_id"], "rating": "down"}, headers=g.auth()
        )
        assert failed.status_code == 503
        turns = g.client.get(turn["links"]["conversation"], headers=g.auth()).json()["turns"]
        assert turns[0]["feedback"] is None
        again = g.client.post(
            "/v1/feedback", json={"turn_id": turn["turn_id"], "rating": "up"}, headers=g.auth()
        )
        assert again.status_code == 200
        assert [e.rating.value for e in g.published(FeedbackSubmitted)] == ["up"]  # type: ignore[attr-defined]


# ---- open handoffs ---------------------------------------------------------------------------------


@contextmanager
def escalating(**settings: object) -> Iterator[GatewayUnderTest]:
    """A gateway whose stand-in for dialogue escalates every question, through the handler's calls."""
    with gateway(answering=False, **settings) as g:

        async def escalate(event: Contract) -> None:
            assert isinstance(event, ChatRequested)
            escalated = ChatEscalated(
                turn_id=event.turn_id,
                conversation_id=event.conversation_id,
                channel=event.channel,
                language=Language.EN,
                reason=EscalationReason.USER_ASKED,
                question=event.text,
                summary="Asked for a person.",
                message="A person will take over.",
            )
            await g.desk.complete(escalated)
            await g.desk.open_handoff(escalated)
            await g.desk.push(escalated)

        g.bus.subscribe(ChatRequested.topic, escalate)
        yield g


def open_handoffs(g: GatewayUnderTest) -> list[dict[str, object]]:
    listed: list[dict[str, object]] = g.client.get("/v1/handoffs", headers=g.auth(OPERATOR_KEY)).json()
    return listed


def test_open_handoffs_are_capped_per_user_with_a_clear_409() -> None:
    with escalating(open_handoffs_per_user=2) as g:
        asked = [
            g.client.post("/v1/chat", json={"message": "a person please"}, headers=g.auth()) for _ in range(2)
        ]
        assert [a.json()["escalated"] for a in asked] == [True, True]
        refused = g.client.post("/v1/chat", json={"message": "a person please"}, headers=g.auth())
        assert refused.status_code == 409
        assert refused.headers["content-type"].startswith("application/problem+json")
        problem = refused.json()
        assert problem["type"].endswith("/handoff-limit")
        assert "2 conversations waiting for a person" in problem["detail"]
        assert len(open_handoffs(g)) == 2
        polled = g.client.get(f"/v1/messages/{g.published(ChatRequested)[-1].turn_id}", headers=g.auth())  # type: ignore[attr-defined]
        assert polled.json()["escalated"] is False
        assert polled.json()["answer"] == problem["detail"]

        # A place comes free when an agent closes a handoff.
        closed = g.client.post(
            f"/v1/handoffs/{asked[0].json()['conversation_id']}/close", headers=g.auth(OPERATOR_KEY)
        )
        assert closed.status_code == 200
        again = g.client.post("/v1/chat", json={"message": "a person please"}, headers=g.auth())
        assert again.status_code == 200
        assert again.json()["escalated"] is True
        assert len(open_handoffs(g)) == 2


def test_the_cap_is_per_user() -> None:
    with escalating(open_handoffs_per_user=1) as g:
        assert g.client.post("/v1/chat", json={"message": "a person"}, headers=g.auth()).status_code == 200
        assert g.client.post("/v1/chat", json={"message": "a person"}, headers=g.auth()).status_code == 409
        other = g.client.post("/v1/chat", json={"message": "a person"}, headers=g.auth(OPERATOR_KEY))
        assert other.status_code == 200
        assert len(open_handoffs(g)) == 2


def test_a_web_session_holds_one_open_handoff_by_default() -> None:
    with escalating() as g:
        g.desk.web_sessions = WebSessions(KEY, 60)
        token = g.client.post("/v1/sessions").json()["token"]
        visitor = {"authorization": f"Bearer {token}"}
        first = g.client.post("/v1/chat", json={"message": "a person"}, headers=visitor)
        assert first.status_code == 200
        held = g.client.post(
            "/v1/chat",
            json={"message": "hello?", "conversation_id": first.json()["conversation_id"]},
            headers=visitor,
        )
        assert held.json()["status"] == "handed_off", "the open handoff still takes the visitor's messages"
        second = g.client.post("/v1/chat", json={"message": "a person"}, headers=visitor)
        assert second.status_code == 409
        assert "a conversation waiting for a person" in second.json()["detail"]
        assert len(open_handoffs(g)) == 1


def test_a_redelivered_escalation_keeps_its_place() -> None:
    with escalating(open_handoffs_per_user=1) as g:
        g.client.post("/v1/chat", json={"message": "a person"}, headers=g.auth())
        request = g.published(ChatRequested)[-1]
        assert isinstance(request, ChatRequested)
        again = ChatEscalated(
            turn_id=request.turn_id,
            conversation_id=request.conversation_id,
            channel=request.channel,
            language=Language.EN,
            reason=EscalationReason.USER_ASKED,
            question=request.text,
            summary="Asked for a person.",
            message="A person will take over.",
        )
        g.client.portal.call(g.desk.complete, again)  # type: ignore[union-attr]
        g.client.portal.call(g.desk.open_handoff, again)  # type: ignore[union-attr]
        [handoff] = open_handoffs(g)
        assert handoff["conversation_id"] == str(request.conversation_id)
        turn = g.client.get(f"/v1/messages/{request.turn_id}", headers=g.auth()).json()
        assert turn["escalated"] is True


def test_with_the_cap_off_handoffs_open_without_bound() -> None:
    with escalating(open_handoffs_per_user=0) as g:
        for _ in range(5):
            assert (
                g.client.post("/v1/chat", json={"message": "a person"}, headers=g.auth()).status_code == 200
            )
        assert len(open_handoffs(g)) == 5
