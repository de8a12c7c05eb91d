"""The evaluator service: quality numbers for operators, off the request path."""

from __future__ import annotations

from fastapi import FastAPI, Request

from helpdesk.runtime import Runtime
from helpdesk.topics import AppId, Component
from helpdesk.web import ServiceHost
from services.evaluator import handlers
from services.evaluator.api import operator_router
from services.evaluator.dashboard.routes import dashboard_router
from services.evaluator.service import Evaluator
from services.evaluator.settings import EvaluatorSettings

COMPONENTS = [
    Component.PUBSUB,
    Component.BROADCAST,
    Component.STATESTORE,
    Component.CONFIGSTORE,
    Component.SECRETSTORE,
]


def create_app(settings: EvaluatorSettings | None = None, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or EvaluatorSettings()
    host = ServiceHost(AppId.EVALUATOR, settings, COMPONENTS, runtime)
    evaluator = Evaluator(settings, lambda: host.runtime)
    subscribed = handlers.register(host.subscriptions, lambda: host.runtime, evaluator)
    dashboard, static = dashboard_router(evaluator)

    async def operators_only(request: Request) -> None:
        await evaluator.operators.bearer(request.headers.get("authorization"))

    app = host.build(
        title="Helpdesk evaluator",
        description="Scores answers, aggregates feedback and experiments, and queues FAQ candidates.",
        routers=[operator_router(evaluator), dashboard],
        on_start=[evaluator.start],
        on_stop=[evaluator.stop],
        pages=["/dashboard", "/dashboard/"],
        metrics_access=operators_only,
    )
    app.mount("/dashboard/static", static, name="dashboard-static")
    app.state.evaluator = evaluator
    app.state.handlers = subscribed
    return app
