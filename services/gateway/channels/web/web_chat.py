"""The web chat page at `/`, its assets under `/static/`, and POST /v1/sessions.

The page is static (HTML, one ES module, one stylesheet) and talks to the same public API as any other
client, with a web session token instead of an API key. The assets are served from a fixed list read
once, so no request path ever reaches the file system. The security headers middleware gives `/` and
`/static/` a strict Content-Security-Policy (no inline script or style, same origin only).

No `from __future__ import annotations` here: FastAPI resolves the dependency types at runtime.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.responses import HTMLResponse, Response

from helpdesk.errors import Problem
from helpdesk.logging import get_logger
from services.gateway.api.deps import SessionStartsDep, WebSessionsDep, client_address
from services.gateway.api.views import PROBLEM_RESPONSES

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


@cache
def page() -> bytes:
    return (STATIC / PAGE).read_bytes()


@cache
def assets() -> dict[str, Asset]:
    return {name: Asset((STATIC / name).read_bytes(), media) for name, media in ASSET_TYPES.items()}


class WebSessionView(BaseModel):
    token: str
    user_id: str
    expires_at: datetime
    expires_in: int
    """Seconds until the token expires; the page renews it before then."""


router = APIRouter(responses=PROBLEM_RESPONSES)


@router.get("/", include_in_schema=False)
async def chat_page() -> Response:
    return HTMLResponse(page(), headers=REVALIDATE)


@router.get("/static/{name}", include_in_schema=False)
async def static_asset(name: str) -> Response:
    asset = assets().get(name)
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
async def start_session(
    request: Request, sessions: WebSessionsDep, starts: SessionStartsDep
) -> WebSessionView:
    await starts.admit(client_address(request) or "unknown")
    renewing = sessions.renewal_of(request.headers.get("authorization"))
    session = sessions.issue(renewing=renewing)
    _log.info("web_session_issued", renewed=renewing is not None)
    return WebSessionView(
        token=session.token,
        user_id=session.user_id,
        expires_at=session.expires_at,
        expires_in=session.expires_in,
    )
