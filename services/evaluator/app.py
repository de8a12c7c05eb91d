"""The evaluator service: quality numbers for operators, off the request path."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles

from helpdesk.dapr.subscriptions import Subscriptions
from helpdesk.runtime import Runtime
from helpdesk.topics import AppId, Component
from helpdesk.web import ServiceHost
from services.evaluator import composition
from services.evaluator.api import knowledge_api, operator_api
from services.evaluator.api.deps import operator_access
from services.evaluator.composition import EvaluatorParts
from services.evaluator.dashboard import STATIC_DIR, knowledge_pages, pages
from services.evaluator.settings import EvaluatorSettings

COMPONENTS = [
    Component.PUBSUB,
    Component.BROADCAST,
    Component.STATESTORE,
    Component.KNOWLEDGESTORE,
    Component.CONFIGSTORE,
    Component.SECRETSTORE,
]


async def operators_only(request: Request) -> None:
    """Who may read /metrics: an operator key, as for the operator API."""
    await operator_access(request).bearer(request.headers.get("authorization"))


def create_app(settings: EvaluatorSettings | None = None, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or EvaluatorSettings()

    async def compose(runtime: Runtime, subscriptions: Subscriptions) -> EvaluatorParts:
        return await composition.compose(settings, runtime, subscriptions)

    app = ServiceHost(AppId.EVALUATOR, settings, COMPONENTS, runtime).build(
        title="Helpdesk evaluator",
        description="Scores answers, aggregates feedback and experiments, and queues FAQ candidates.",
        routers=[operator_api.router, knowledge_api.router, pages.router, knowledge_pages.router],
        compose=compose,
        pages=["/dashboard", "/dashboard/"],
        metrics_access=operators_only,
    )
    app.mount("/dashboard/static", StaticFiles(directory=STATIC_DIR), name="dashboard-static")
    return app
