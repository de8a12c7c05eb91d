"""Who a client is, on in-memory ports: the one client address every limit counts, an anonymous
identity of one's own per client (signed cookie), and the idempotency fingerprint taken of the parsed
request. Ratings are in test_ratings.py, the cap on open handoffs in test_handoff_places.py."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from starlette.requests import Request

from helpdesk.events import (
    ChatRequested,
)
from services.gateway.api.deps import ANONYMOUS_COOKIE, client_address
from services.gateway.api.schemas import ChatRequest
from services.gateway.channels.web.web_sessions import WebSessions
from services.gateway.idempotency import fingerprint
from tests.support.gateway import GatewayUnderTest, gateway

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
    forged = {"cookie": f"{ANONYMOUS_COOKIE}={forge(anonymous.web_sessions, token)}"}
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
        g.use_web_sessions(WebSessions(KEY, 60))
        assert (
            g.client.post(
                "/v1/chat", json={"message": "hi"}, headers={"cookie": f"{ANONYMOUS_COOKIE}={token}"}
            ).status_code
            == 200
        )
    with gateway() as g:
        g.use_web_sessions(WebSessions(KEY, 60))
        response = g.client.post(
            "/v1/chat", json={"message": "hi"}, headers={"cookie": f"{ANONYMOUS_COOKIE}={token}"}
        )
        assert response.status_code == 401
        assert g.published() == []


def test_without_a_signing_key_anonymous_access_is_off() -> None:
    with gateway(allow_anonymous=True) as g:
        g.use_web_sessions(WebSessions(None, 60))
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
