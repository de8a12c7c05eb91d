"""The web chat page at `/`, its assets under `/static/`, and POST /v1/sessions.

The page is static (HTML, one ES module, one stylesheet) and talks to the same public API as any other
client, with a web session token instead of an API key. The assets are served from a fixed list read
once at start, so no request path ever reaches the file system. The security headers middleware gives
`/` and `/static/` a strict Content-Security-Policy (no inline script or style, same origin only).

No `from __future__ import annotations` here: FastAPI resolves the dependency types at runtime.
"""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.responses import HTMLResponse, Response

from helpdesk.auth import WEB_USER_PREFIX, Principal
from helpdesk.dapr.ports import SidecarUnavailable
from helpdesk.errors import Problem
from helpdesk.logging import get_logger
from services.gateway.api.chat import PROBLEM_RESPONSES
from services.gateway.api.deps import client_address
from services.gateway.desk import FrontDesk
from services.gateway.ratelimit import Limit

_log = get_logger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
PAGE = "index.html"
ASSET_TYPES = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
REVALIDATE = {"cache-control": "no-cache"}
"""Browsers keep the assets but ask again each time, so a new release is picked up at once."""


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str


def load_assets() -> dict[str, Asset]:
    return {name: Asset((STATIC / name).read_bytes(), media) for name, media in ASSET_TYPES.items()}


class WebSessionView(BaseModel):
    token: str
    user_id: str
    expires_at: datetime
    expires_in: int
    """Seconds until the token expires; the page renews it before then."""


def web_router(desk: FrontDesk) -> APIRouter:
    router = APIRouter(responses=PROBLEM_RESPONSES)
    page = (STATIC / PAGE).read_bytes()
    assets = load_assets()

    @router.get("/", include_in_schema=False)
    async def chat_page() -> Response:
        return HTMLResponse(page, headers=REVALIDATE)

    @router.get("/static/{name}", include_in_schema=False)
    async def static_asset(name: str) -> Response:
        asset = assets.get(name)
        if asset is None:
            raise Problem(404, "No such file.", kind="not-found")
        return Response(asset.body, media_type=asset.media_type, headers=REVALIDATE)

    @router.post(
        "/v1/sessions",
        response_model=WebSessionView,
        tags=["web chat"],
        summary="Start (or renew) a web chat session",
        description=(
            "Without a credential: a new visitor, with a user of their own. With the still-valid token "
            "of a web session: the same visitor with a fresh token. Limited per client address."
        ),
    )
    async def start_session(request: Request) -> WebSessionView:
        address = client_address(request) or "unknown"
        try:
            await desk.rate_limiter.admit(
                desk.runtime.state,
                [Limit(f"web-sessions:ip:{address}", desk.settings.web_sessions_per_address)],
            )
        except SidecarUnavailable:
            raise desk.unavailable("start web chat sessions") from None
        renewing = _presented_session(desk, request)
        session = desk.web_sessions.issue(renewing=renewing)
        _log.info("web_session_issued", renewed=renewing is not None)
        return WebSessionView(
            token=session.token,
            user_id=session.user_id,
            expires_at=session.expires_at,
            expires_in=session.expires_in,
        )

    return router


def _presented_session(desk: FrontDesk, request: Request) -> Principal | None:
    """The web visitor renewing their session, if the request carries a valid session token; any other
    credential (or an expired token) starts a new visitor."""
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return None
    principal = desk.web_sessions.verify(credential.strip())
    if principal is None or not principal.user_id.startswith(WEB_USER_PREFIX):
        return None
    return principal
