"""The web chat channel on in-memory ports: the page and its assets under a strict CSP, and web sessions
(issue, renew, expiry, tampering, per-address limits) standing in for API keys."""

from __future__ import annotations

import base64
import json
import re
import time

import jwt
import pytest

from helpdesk.auth import ApiKeys, Principal, authenticate
from helpdesk.errors import DomainError
from helpdesk.events import Channel, ChatRequested
from services.gateway.channels.web.web_sessions import AUDIENCE, ISSUER, WebSessions
from tests.support.gateway import GatewayUnderTest, gateway

KEY = "k" * 43


@pytest.fixture
def g():  # type: ignore[no-untyped-def]
    with gateway() as under_test:
        yield under_test


def session(g: GatewayUnderTest, headers: dict[str, str] | None = None) -> dict[str, object]:
    response = g.client.post("/v1/sessions", headers=headers or {})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def bearer(token: object) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def clocked(g: GatewayUnderTest, ttl: int = 60) -> list[float]:
    """Give the gateway web sessions on a clock the test moves."""
    now = [time.time()]
    g.use_web_sessions(WebSessions(KEY, ttl, clock=lambda: now[0]))
    return now


# ---- the page and its assets -----------------------------------------------------------------------


def test_the_page_is_served_with_a_strict_content_security_policy(g: GatewayUnderTest) -> None:
    response = g.client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    page = response.text
    assert '<script type="module" src="/static/app.js"></script>' in page
    assert '<link rel="stylesheet" href="/static/app.css">' in page


def test_the_page_has_no_inline_script_style_or_third_party_origin(g: GatewayUnderTest) -> None:
    page = g.client.get("/").text
    assert re.findall(r"<script\b[^>]*>", page) == ['<script type="module" src="/static/app.js">']
    assert "<style" not in page
    assert not re.search(r"\sstyle=", page)
    assert not re.search(r"\son[a-z]+=", page), "no inline event handlers"
    assert not re.search(r"(src|href)=\"(https?:)?//", page), "nothing from another origin"


def test_the_page_is_accessible_in_its_markup(g: GatewayUnderTest) -> None:
    page = g.client.get("/").text
    assert '<html lang="en">' in page
    for landmark in ("<header", "<main", "<footer", 'role="log"', 'aria-live="polite"', 'role="alert"'):
        assert landmark in page
    assert '<label for="message"' in page
    assert 'class="skip-link" href="#message"' in page


@pytest.mark.parametrize(
    ("name", "media_type"),
    [("app.js", "text/javascript"), ("app.css", "text/css"), ("favicon.svg", "image/svg+xml")],
)
def test_static_assets_are_served_under_the_page_policy(
    g: GatewayUnderTest, name: str, media_type: str
) -> None:
    response = g.client.get(f"/static/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content


@pytest.mark.parametrize("path", ["/static/nope.js", "/static/index.html", "/static/..%2Froutes.py"])
def test_only_the_listed_assets_are_served(g: GatewayUnderTest, path: str) -> None:
    response = g.client.get(path)
    assert response.status_code == 404
    assert "import" not in response.text


def test_the_script_builds_the_page_from_text_never_from_html(g: GatewayUnderTest) -> None:
    """Model output is escaped. The page's script must never hand data to an HTML parser."""
    script = g.client.get("/static/app.js").text
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script
    assert "textContent" in script


# ---- sessions --------------------------------------------------------------------------------------


def test_a_session_is_a_user_of_its_own_on_the_web_channel(g: GatewayUnderTest) -> None:
    issued = session(g)
    assert str(issued["user_id"]).startswith("web:")
    assert issued["expires_in"] == g.settings.web_session_ttl_seconds
    chat = g.client.post("/v1/chat", json={"message": "hello"}, headers=bearer(issued["token"]))
    assert chat.status_code == 200, chat.text
    published = g.published(ChatRequested)
    assert len(published) == 1
    assert published[0].channel.channel is Channel.WEB  # type: ignore[attr-defined]
    assert published[0].channel.user_id == issued["user_id"]  # type: ignore[attr-defined]
    conversation = g.client.get(chat.json()["links"]["conversation"], headers=bearer(issued["token"]))
    assert conversation.status_code == 200


def test_every_visitor_gets_a_different_user(g: GatewayUnderTest) -> None:
    first, second = session(g), session(g)
    assert first["user_id"] != second["user_id"]
    chat = g.client.post("/v1/chat", json={"message": "hello"}, headers=bearer(first["token"])).json()
    other = bearer(second["token"])
    assert g.client.get(chat["links"]["conversation"], headers=other).status_code == 404
    assert g.client.get(chat["links"]["self"], headers=other).status_code == 404
    feedback = {"turn_id": chat["turn_id"], "rating": "up"}
    assert g.client.post("/v1/feedback", json=feedback, headers=other).status_code == 404


def test_renewing_keeps_the_visitor_and_their_conversation(g: GatewayUnderTest) -> None:
    now = clocked(g, ttl=60)
    first = session(g)
    chat = g.client.post("/v1/chat", json={"message": "hello"}, headers=bearer(first["token"])).json()
    now[0] += 50
    renewed = session(g, bearer(first["token"]))
    assert renewed["user_id"] == first["user_id"]
    now[0] += 50  # the first token has expired by now, the renewed one has not
    assert g.client.get(chat["links"]["conversation"], headers=bearer(renewed["token"])).status_code == 200
    assert g.client.get(chat["links"]["conversation"], headers=bearer(first["token"])).status_code == 401


def test_an_expired_session_is_refused_and_cannot_be_renewed(g: GatewayUnderTest) -> None:
    now = clocked(g, ttl=60)
    first = session(g)
    now[0] += 61 + 5
    response = g.client.post("/v1/chat", json={"message": "hello"}, headers=bearer(first["token"]))
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert g.published() == []
    fresh = session(g, bearer(first["token"]))
    assert fresh["user_id"] != first["user_id"]


def _forged(claims: dict[str, object], key: str = KEY) -> str:
    return jwt.encode(claims, key.encode(), algorithm="HS256")


def _claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "web:0b6f8f4e-4f3e-4a43-9b43-2c1d7b9a9d10",
        "iat": now,
        "exp": now + 60,
    }
    return claims | overrides


def _unsigned(claims: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda good: good[:-2] + ("AA" if not good.endswith("AA") else "BB"), id="signature"),
        pytest.param(lambda good: _forged(_claims(), key="x" * 43), id="other-key"),
        pytest.param(lambda good: _unsigned(_claims()), id="alg-none"),
        pytest.param(lambda good: _forged(_claims(sub="local-operator")), id="not-a-web-user"),
        pytest.param(lambda good: _forged(_claims(aud="someone-else")), id="audience"),
        pytest.param(lambda good: _forged(_claims(iss="someone-else")), id="issuer"),
        pytest.param(lambda good: _forged({k: v for k, v in _claims().items() if k != "exp"}), id="no-exp"),
        pytest.param(lambda good: _forged(_claims(exp=int(time.time()) - 3600)), id="expired"),
        pytest.param(lambda good: "not.a.token", id="garbage"),
    ],
)
def test_tampered_or_foreign_tokens_are_refused(g: GatewayUnderTest, make_token) -> None:  # type: ignore[no-untyped-def]
    clocked(g)
    good = str(session(g)["token"])
    assert g.client.post("/v1/chat", json={"message": "hi"}, headers=bearer(good)).status_code == 200
    published = len(g.published())
    response = g.client.post("/v1/chat", json={"message": "hi"}, headers=bearer(make_token(good)))
    assert response.status_code == 401
    assert len(g.published()) == published


def test_a_web_session_is_never_an_operator(g: GatewayUnderTest) -> None:
    token = session(g)["token"]
    assert g.client.get("/v1/handoffs", headers=bearer(token)).status_code == 401


def test_api_keys_work_as_before_next_to_sessions(g: GatewayUnderTest) -> None:
    assert g.client.post("/v1/chat", json={"message": "hello"}, headers=g.auth()).status_code == 200
    assert g.client.post("/v1/chat", json={"message": "hello"}, headers=bearer("nope")).status_code == 401


def test_session_creation_is_limited_per_client_address() -> None:
    with gateway(web_sessions_per_address=3) as g:
        for _ in range(3):
            session(g)
        refused = g.client.post("/v1/sessions")
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert int(refused.headers["retry-after"]) >= 1


def test_session_creation_does_not_eat_into_the_chat_budget() -> None:
    with gateway(web_sessions_per_address=2, rate_limit_per_user=2, allow_anonymous=True) as g:
        session(g)
        session(g)
        for _ in range(2):
            assert g.client.post("/v1/chat", json={"message": "hello"}).status_code == 200


def test_without_a_signing_key_web_chat_is_off(g: GatewayUnderTest) -> None:
    token = session(g)["token"]
    g.use_web_sessions(WebSessions(None, 60))
    refused = g.client.post("/v1/sessions")
    assert refused.status_code == 503
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert g.client.post("/v1/chat", json={"message": "hi"}, headers=bearer(token)).status_code == 401


def test_a_short_signing_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        WebSessions("too-short", 60)


def test_authenticate_tries_api_keys_first_then_the_session_verifier() -> None:
    keys = ApiKeys({"digest": Principal(user_id="local-user")})
    sessions = WebSessions(KEY, 60)
    token = sessions.issue().token
    principal = authenticate(f"Bearer {token}", keys, sessions=sessions)
    assert principal.user_id.startswith("web:")
    assert not principal.is_operator
    with pytest.raises(DomainError) as refused:
        authenticate(f"Bearer {token}", keys)
    assert refused.value.status == 401
