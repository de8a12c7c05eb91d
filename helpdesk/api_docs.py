"""The API reference at /docs: Swagger UI from a package, never from a CDN.

FastAPI's own page loads Swagger UI from a CDN, without subresource integrity, and starts it with an
inline script, which a Content-Security-Policy without 'unsafe-inline' blocks. This page loads the
assets that `fastapi-offline` ships (Swagger UI 5, which reads OpenAPI 3.1) and its own start-up script
from this origin, so `helpdesk.http_edges.DOCS_CSP` allows nothing else. ReDoc is not served.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter
from starlette.responses import FileResponse, HTMLResponse, Response

from helpdesk.errors import Problem

ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
_MEDIA_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}
_START = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  layout: "BaseLayout",
});
"""
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" href="/docs/assets/favicon.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/start.js"></script>
</body>
</html>
"""
_REVALIDATE = {"cache-control": "no-cache"}


def docs_router(title: str) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    page = _PAGE.format(title=escape(f"{title} - API reference"))

    @router.get("/docs")
    async def docs() -> Response:
        return HTMLResponse(page, headers=_REVALIDATE)

    @router.get("/docs/start.js")
    async def start() -> Response:
        return Response(_START, media_type="text/javascript; charset=utf-8", headers=_REVALIDATE)

    @router.get("/docs/assets/{name}")
    async def asset(name: str) -> Response:
        media_type = _MEDIA_TYPES.get(name)
        if media_type is None:
            raise Problem(404, "No such file.", kind="not-found")
        return FileResponse(ASSETS / name, media_type=media_type, headers=_REVALIDATE)

    return router
