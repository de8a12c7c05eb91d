"""Security headers on every gateway response (pure ASGI, so it costs next to nothing per request).

API responses are not cacheable and cannot be framed or sniffed; the web chat page gets a strict
Content-Security-Policy (no inline script, no third-party origins) so model output that slipped through
escaping still could not run.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_BASE = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
_PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_API_CSP = "default-src 'none'; frame-ancestors 'none'"
_DOCS = ("/docs", "/redoc", "/openapi.json")


class SecurityHeaders:
    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _BASE.items():
                    headers.setdefault(name, value)
                if path.startswith(_DOCS):
                    pass  # Swagger UI needs its own scripts; it carries no user content
                elif path == "/" or path.startswith("/static/"):
                    headers.setdefault("content-security-policy", _PAGE_CSP)
                else:
                    headers.setdefault("content-security-policy", _API_CSP)
                    headers.setdefault("cache-control", "no-store")
                if self.hsts:
                    headers.setdefault("strict-transport-security", "max-age=31536000; includeSubDomains")
            await send(message)

        await self.app(scope, receive, send_with_headers)
