"""The gateway service: public HTTP API, web chat and Teams in; answers out to whoever is waiting."""

from __future__ import annotations

from functools import partial

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from helpdesk.runtime import Runtime
from helpdesk.topics import AppId, Component
from helpdesk.web import ServiceHost
from services.gateway.api import chat, handoffs
from services.gateway.api.deps import operators_only
from services.gateway.channels.teams import webhook
from services.gateway.channels.web import web_chat
from services.gateway.composition import compose
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
    return host.build(
        title="Helpdesk gateway",
        description="Chat with the helpdesk over HTTP; answers come back synchronously or by polling.",
        routers=[chat.router, handoffs.router, web_chat.router, webhook.router],
        compose=partial(compose, settings),
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
