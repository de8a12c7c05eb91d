"""The gateway service: public HTTP API, web chat and Teams in; answers out to whoever is waiting."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.middleware.cors import CORSMiddleware

from helpdesk.auth import API_KEYS_SECRET, WEB_SESSION_SECRET, ApiKeys, authenticate, require_operator
from helpdesk.runtime import Runtime
from helpdesk.topics import AppId, Component
from helpdesk.web import ServiceHost
from services.gateway import handlers
from services.gateway.api.chat import chat_router
from services.gateway.api.handoffs import handoff_router
from services.gateway.channels.teams import TeamsChannel
from services.gateway.channels.web.routes import web_router
from services.gateway.channels.web.sessions import WebSessions
from services.gateway.desk import FrontDesk
from services.gateway.settings import GatewaySettings

COMPONENTS = [
    Component.PUBSUB,
    Component.BROADCAST,
    Component.STATESTORE,
    Component.CONFIGSTORE,
    Component.SECRETSTORE,
]


def create_app(settings: GatewaySettings | None = None, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    host = ServiceHost(AppId.GATEWAY, settings, COMPONENTS, runtime)
    desk = FrontDesk(settings, lambda: host.runtime)
    handlers.register(host.subscriptions, desk)
    teams = TeamsChannel(settings.teams, desk)
    desk.deliveries.register(teams.sender)

    async def load_api_keys(rt: Runtime) -> None:
        desk.api_keys = ApiKeys.from_secret(await rt.secrets.get_secret(API_KEYS_SECRET))

    async def load_web_session_key(rt: Runtime) -> None:
        key = await rt.secrets.get_secret(WEB_SESSION_SECRET)
        desk.web_sessions = WebSessions(key, settings.web_session_ttl_seconds)

    async def operators_only(request: Request) -> None:
        require_operator(authenticate(request.headers.get("authorization"), desk.api_keys))

    app = host.build(
        title="Helpdesk gateway",
        description="Chat with the helpdesk over HTTP; answers come back synchronously or by polling.",
        routers=[chat_router(desk), handoff_router(desk), web_router(desk), teams.router()],
        on_start=[load_api_keys, load_web_session_key],
        on_stop=[teams.close],
        pages=["/", "/static/"],
        metrics_access=operators_only,
        middleware=[
            (
                CORSMiddleware,
                {
                    "allow_origins": settings.cors_origins,
                    "allow_methods": ["GET", "POST"],
                    "allow_headers": ["authorization", "content-type", "idempotency-key", "prefer"],
                    "expose_headers": ["location", "retry-after", "idempotent-replayed"],
                    "max_age": 600,
                },
            ),
        ],
    )
    app.state.desk = desk
    return app
