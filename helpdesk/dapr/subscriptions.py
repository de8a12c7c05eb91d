"""Subscription routes: the thin adapter between a Dapr delivery and a service's handler.

Each route checks the app API token, unwraps the CloudEvent, checks that it comes from the app that owns
the topic, validates the payload against its contract, continues the trace from the envelope, binds the
turn id to the logs, calls the handler and answers Dapr with SUCCESS, RETRY or DROP. An invalid payload
or a foreign source is never retried and never silently dropped: it is answered DROP, which Dapr routes
to the subscription's dead-letter topic, and counted. A subscription may take its deliveries in bulk
(helpdesk.dapr.bulk_subscriptions): each entry of a batch goes through the same steps and gets its own
status. A route the sidecar knows must always exist: Dapr treats a 404 as "drop", so a renamed route
would lose traffic (the contract tests guard the route table).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
import structlog
from dapr.ext.fastapi import DaprApp
from fastapi import APIRouter, Depends, FastAPI, Request
from opentelemetry.trace import SpanKind
from pydantic import BaseModel, SecretStr, ValidationError
from starlette.responses import Response
from starlette.routing import BaseRoute

from helpdesk.dapr.bulk_subscriptions import BulkDelivery, Outcome, is_batch, settle_batch
from helpdesk.dapr.ports import ETagMismatch, SidecarUnavailable
from helpdesk.errors import Problem
from helpdesk.logging import get_logger
from helpdesk.telemetry import (
    EVENT_LAG,
    EVENT_SECONDS,
    EVENTS_HANDLED,
    EVENTS_REJECTED,
    extract_context,
    tracer,
)
from helpdesk.topics import (
    AppId,
    Component,
    Topic,
    all_dead_letter_topics,
    dead_letter_topic,
    live_topic,
    owner,
)

E = TypeVar("E", bound=BaseModel)

_log = get_logger(__name__)

APP_TOKEN_HEADER = "dapr-api-token"  # noqa: S105 - a header name


class Drop(Exception):
    """The delivery can never succeed (it is malformed or refers to nothing): dead-letter it."""


class Retry(Exception):
    """The delivery may succeed later: let Dapr redeliver it."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """What the envelope says about one delivery, for handlers that need more than the payload."""

    id: str
    topic: str
    pubsub: str
    published_at: datetime | None
    envelope: dict[str, Any] = field(repr=False)


Handler = Callable[[E, Delivery], Awaitable[None]]
RawHandler = Callable[[dict[str, Any], Delivery], Awaitable[None]]

_APP_IDS = frozenset(app.value for app in AppId)

_ANSWERS: dict[Outcome, Response] = {
    "success": Response(content=b'{"status":"SUCCESS"}', media_type="application/json"),
    "retry": Response(content=b'{"status":"RETRY"}', media_type="application/json"),
    "drop": Response(content=b'{"status":"DROP"}', media_type="application/json"),
}


def app_token_guard(token: SecretStr | None) -> Callable[[Request], Awaitable[None]]:
    """A dependency that refuses calls into the app that do not carry the sidecar's app API token."""
    expected = token.get_secret_value().encode() if token is not None else None

    async def verify(request: Request) -> None:
        if expected is None:
            return
        given = request.headers.get(APP_TOKEN_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            raise Problem(
                401,
                "Calls into this route must come from the Dapr sidecar.",
                kind="app-token",
                headers={"WWW-Authenticate": 'DaprApiToken realm="sidecar"'},
            )

    return verify


def _published_at(envelope: dict[str, Any]) -> datetime | None:
    value = envelope.get("time")
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _payload(envelope: dict[str, Any]) -> Any:
    data = envelope.get("data")
    if isinstance(data, str | bytes) and str(envelope.get("datacontenttype", "")).endswith("json"):
        return orjson.loads(data)
    return data


Parse = Callable[[dict[str, Any]], Awaitable[Any]]
AnyHandler = Callable[[Any, Delivery], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _Endpoint:
    """What the route of one subscription does with a delivery: read the envelope, check its source,
    continue its trace, validate the payload, run the handler, count and answer; with `bulk`, the same
    for each entry of a batch."""

    service: str
    pubsub: Component
    topic: str
    parse: Parse
    handler: AnyHandler
    source: AppId | None
    dlq: str | None
    bulk: BulkDelivery | None = None

    async def deliver(self, request: Request) -> Response:
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            body = None
        if self.bulk is not None and is_batch(body):
            return await settle_batch(body["entries"], self.settle, self.bulk.concurrency)
        return _ANSWERS[await self.settle(body)]

    async def settle(self, envelope: Any) -> Outcome:
        """One delivery from its CloudEvent envelope (anything but an object is refused) to its outcome."""
        started = time.perf_counter()
        if not isinstance(envelope, dict):
            EVENTS_REJECTED.labels(self.service, self.topic, "envelope").inc()
            EVENTS_HANDLED.labels(self.service, self.pubsub.value, self.topic, "drop").inc()
            _log.warning("delivery_rejected", topic=self.topic, reason="envelope")
            return "drop"
        if self.source is not None and envelope.get("source") != self.source.value:
            return _refuse_source(self.service, self.pubsub, self.topic, envelope, self.source, self.dlq)
        delivery = Delivery(
            id=str(envelope.get("id", "")),
            topic=self.topic,
            pubsub=self.pubsub.value,
            published_at=_published_at(envelope),
            envelope=envelope,
        )
        carrier = {k: v for k in ("traceparent", "tracestate") if isinstance(v := envelope.get(k), str)}
        with tracer().start_as_current_span(
            f"{self.topic} process", context=extract_context(carrier), kind=SpanKind.CONSUMER
        ) as span:
            span.set_attribute("messaging.destination.name", self.topic)
            span.set_attribute("messaging.message.id", delivery.id)
            outcome = await self._handle(envelope, delivery)
        if outcome is None:
            return "drop"
        EVENTS_HANDLED.labels(self.service, self.pubsub.value, self.topic, outcome).inc()
        EVENT_SECONDS.labels(self.service, self.topic).observe(time.perf_counter() - started)
        return outcome

    async def _handle(self, envelope: dict[str, Any], delivery: Delivery) -> Outcome | None:
        """The handler's outcome and answer; None (counted, logged) when the payload does not match its
        contract."""
        try:
            event = await self.parse(envelope)
        except (ValidationError, ValueError, TypeError) as exc:
            EVENTS_REJECTED.labels(self.service, self.topic, "schema").inc()
            EVENTS_HANDLED.labels(self.service, self.pubsub.value, self.topic, "drop").inc()
            _log.warning(
                "delivery_rejected",
                topic=self.topic,
                reason="schema",
                error_type=type(exc).__name__,
                event_id=delivery.id,
                dead_letter_topic=self.dlq,
            )
            return None
        # The envelope's time has whole seconds only; the contract's occurred_at has microseconds.
        occurred = getattr(event, "occurred_at", None) or delivery.published_at
        if isinstance(occurred, datetime):
            lag = (datetime.now(UTC) - occurred).total_seconds()
            EVENT_LAG.labels(self.service, self.topic).observe(max(lag, 0.0))
        turn_id = getattr(event, "turn_id", None)
        with structlog.contextvars.bound_contextvars(
            turn_id=str(turn_id) if turn_id else None, topic=self.topic
        ):
            return await _run(self.handler, event, delivery)


class _DaprSubscriptions(DaprApp):
    """The Dapr FastAPI extension's subscription table (`GET /dapr/subscribe` and the POST routes),
    completed with the two entry fields its `subscribe` cannot declare: `bulkSubscribe`, and a routing
    rule, which replaces the plain `route` because Dapr makes a plain route the default rule (a
    delivery no rule matches would reach the app anyway)."""

    def declare(
        self,
        entry: dict[str, Any],
        endpoint: Callable[[Request], Awaitable[Response]],
        *,
        bulk: BulkDelivery | None,
        match: str | None,
    ) -> None:
        route = entry["route"]
        dlq = entry.get("deadLetterTopic")
        self.subscribe(pubsub=entry["pubsubname"], topic=entry["topic"], route=route, dead_letter_topic=dlq)(
            endpoint
        )
        declared: dict[str, Any] = self._subscriptions[-1]
        if bulk is not None:
            declared["bulkSubscribe"] = bulk.declaration()
        if match is not None:
            del declared["route"]
            declared["routes"] = {"rules": [{"match": match, "path": route}]}


def addressed_to(address: str) -> str:
    """The routing rule (CEL) of a live subscription that takes only the copies addressed to `address`
    and those addressed to nobody (a turn nobody waits for, an event from before addressing)."""
    return f"!has(event.subject) || event.subject == {orjson.dumps(address).decode()}"


class Subscriptions:
    """The subscription table of one app, served to the sidecar at `/dapr/subscribe`."""

    def __init__(self, app_id: AppId, app_token: SecretStr | None) -> None:
        self.app_id = app_id
        self.router = APIRouter(dependencies=[Depends(app_token_guard(app_token))], include_in_schema=False)
        self._dapr = _DaprSubscriptions(self.router)  # type: ignore[arg-type]
        self.routes: dict[tuple[str, str], str] = {}
        self._installed: list[BaseRoute] = []

    def on(
        self,
        topic: Topic,
        model: type[E],
        *,
        pubsub: Component = Component.PUBSUB,
        bulk: BulkDelivery | None = None,
        match: str | None = None,
    ) -> Callable[[Handler[E]], Handler[E]]:
        """Register `handler(event, delivery)` for `topic` on `pubsub`, in batches with `bulk`; with
        `match` (a CEL routing rule over `event`, the CloudEvent), the sidecar passes only the
        deliveries it matches to the app and acknowledges the others itself.

        Subscriptions on the shared `pubsub` get this app's dead-letter topic; fan-out subscriptions on
        `broadcast` do not (their handlers only touch memory and always succeed).
        """

        def decorate(handler: Handler[E]) -> Handler[E]:
            async def parse(envelope: dict[str, Any]) -> BaseModel:
                return model.model_validate(_payload(envelope))

            name = live_topic(topic) if pubsub is Component.BROADCAST else topic.value
            self._register(name, pubsub, parse, handler, source=owner(topic), bulk=bulk, match=match)
            return handler

        return decorate

    def on_dead_letters(self, handler: RawHandler) -> RawHandler:
        """Receive every dead-letter topic's messages as raw envelopes (the recorder's job).

        Their source is not checked: a dead letter keeps the envelope it failed with, and one refused
        for its source is exactly what the recorder must keep.
        """

        async def keep_envelope(envelope: dict[str, Any]) -> dict[str, Any]:
            return envelope

        for name in all_dead_letter_topics():
            self._register(name, Component.PUBSUB, keep_envelope, handler, dead_letter=False)
        return handler

    def _register(
        self,
        topic: str,
        pubsub: Component,
        parse: Parse,
        handler: AnyHandler,
        *,
        dead_letter: bool = True,
        source: AppId | None = None,
        bulk: BulkDelivery | None = None,
        match: str | None = None,
    ) -> None:
        """`source`: the only app-id accepted as the envelope's `source`, which daprd sets to the
        publishing sidecar's app-id. The sidecars refuse to publish a topic for any other app
        (publishingScopes in components/); this check refuses what reaches the route another way under
        another app's name (an entry written straight into the broker, a scope lost from a component).
        A source is what the sender claims, not a proof: it narrows what a forgery must get right."""
        route = f"/events/{pubsub.value}/{topic}"
        dlq = (
            dead_letter_topic(self.app_id, Topic(topic))
            if dead_letter and pubsub is Component.PUBSUB
            else None
        )
        target = _Endpoint(self.app_id.value, pubsub, topic, parse, handler, source, dlq, bulk)

        async def endpoint(request: Request) -> Response:
            return await target.deliver(request)

        endpoint.__name__ = f"on_{pubsub.value}_{topic}".replace(".", "_")
        entry: dict[str, Any] = {"pubsubname": pubsub.value, "topic": topic, "route": route}
        if dlq is not None:
            entry["deadLetterTopic"] = dlq
        self._dapr.declare(entry, endpoint, bulk=bulk, match=match)
        self.routes[(pubsub.value, topic)] = route

    def install(self, app: FastAPI) -> None:
        """Serves this table's routes from `app`. One table belongs to one start of the app: its handlers
        hold that start's parts, so `uninstall` removes the routes again when the app stops."""
        before = len(app.router.routes)
        app.include_router(self.router)
        self._installed = app.router.routes[before:]

    def uninstall(self, app: FastAPI) -> None:
        for route in self._installed:
            app.router.routes.remove(route)
        self._installed = []


def _refuse_source(
    service: str, pubsub: Component, topic: str, envelope: dict[str, Any], source: AppId, dlq: str | None
) -> Outcome:
    claimed = envelope.get("source")
    EVENTS_REJECTED.labels(service, topic, "source").inc()
    EVENTS_HANDLED.labels(service, pubsub.value, topic, "drop").inc()
    _log.warning(
        "delivery_rejected",
        topic=topic,
        reason="source",
        expected_source=source.value,
        # Only a known app-id is repeated: the field is the sender's to fill.
        claimed_source=claimed if isinstance(claimed, str) and claimed in _APP_IDS else "other",
        event_id=str(envelope.get("id", ""))[:64],
        dead_letter_topic=dlq,
    )
    return "drop"


async def _run(handler: AnyHandler, event: Any, delivery: Delivery) -> Outcome:
    try:
        await handler(event, delivery)
    except Drop as exc:
        _log.warning("delivery_dropped", reason=str(exc))
        return "drop"
    except (Retry, SidecarUnavailable, ETagMismatch) as exc:
        _log.warning("delivery_retry", reason=str(exc), error_type=type(exc).__name__)
        return "retry"
    except Exception as exc:
        _log.error("delivery_failed", error_type=type(exc).__name__, exc_info=exc)
        return "retry"
    return "success"
