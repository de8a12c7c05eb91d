"""A route that takes larger bodies than the app (an upload) says so once, with FastAPI's
`max_body_size=` on the route, and the edge honours it: a declared length within the route's limit
passes the body guard, one over it is refused before the route runs; other routes keep the app's limit,
and a body without a declared length is held to the route's limit while it streams in."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.testclient import TestClient

from helpdesk.errors import install_problem_handlers
from helpdesk.http_edges import BodyGuard, EdgedAPI

APP_LIMIT = 1000
UPLOAD_LIMIT = 5000


def app_with_an_upload_route() -> EdgedAPI:
    app = EdgedAPI(
        max_body_size=APP_LIMIT,
        edges=[(BodyGuard, {"max_bytes": APP_LIMIT, "timeout_seconds": 5})],
    )
    install_problem_handlers(app)
    reached: list[str] = []
    router = APIRouter(prefix="/v1")

    @router.post("/uploads", max_body_size=UPLOAD_LIMIT)
    async def upload(request: Request) -> dict[str, int]:
        reached.append("upload")
        return {"bytes": len(await request.body())}

    @router.post("/notes")
    async def note(request: Request) -> dict[str, int]:
        reached.append("note")
        return {"bytes": len(await request.body())}

    app.include_router(router)
    app.state.reached = reached
    return app


def chunks(size: int) -> Iterator[bytes]:
    for _ in range(size // 500):
        yield b"x" * 500


def test_an_upload_route_takes_bodies_up_to_its_own_limit() -> None:
    app = app_with_an_upload_route()
    with TestClient(app) as client:
        taken = client.post("/v1/uploads", content=b"x" * 4000)
        assert taken.status_code == 200
        assert taken.json() == {"bytes": 4000}
        refused = client.post("/v1/uploads", content=b"x" * 6000)
    assert refused.status_code == 413
    assert refused.headers["content-type"] == "application/problem+json"
    assert str(UPLOAD_LIMIT) in refused.json()["detail"]
    assert app.state.reached == ["upload"], "the refused upload never reached the route"


def test_other_routes_keep_the_apps_limit() -> None:
    app = app_with_an_upload_route()
    with TestClient(app) as client:
        refused = client.post("/v1/notes", content=b"x" * 4000)
        wrong_method = client.put("/v1/uploads", content=b"x" * 4000)
    assert refused.status_code == 413
    assert str(APP_LIMIT) in refused.json()["detail"]
    assert wrong_method.status_code == 413, "only the route's own method gets its limit"
    assert app.state.reached == []


def test_a_body_without_a_declared_length_is_held_to_the_routes_limit_while_it_streams() -> None:
    app = app_with_an_upload_route()
    with TestClient(app) as client:
        taken = client.post("/v1/uploads", content=chunks(4000))
        refused = client.post("/v1/uploads", content=chunks(6000))
    assert taken.status_code == 200
    assert refused.status_code == 413
