"""Dapr's bulk subscribe: one request from the sidecar carries many deliveries of one topic.

A subscription opts in where a service receives bursts it need not answer at once (the evaluator's
`chat.answered`): the sidecar gathers up to `max_messages` deliveries, or what arrived within
`max_await_ms`, and posts them together as `{"entries": [{"entryId", "event", "contentType",
"metadata"}], "id", "topic", "pubsubname", ...}`; the app answers one status per entry,
`{"statuses": [{"entryId", "status": "SUCCESS" | "RETRY" | "DROP"}]}`. Each entry goes through exactly
what a single delivery goes through (the caller's `settle`); daprd dead-letters each DROP entry on its
own, and retries only the entries answered RETRY (or not answered at all).

The sidecar sends one such request per subscription at a time and waits for it, so the entries of a
request are handled concurrently (up to `concurrency`): handled one after another, each would wait for
the one before it, the aggregate ledger's group commit included.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from starlette.responses import Response

from helpdesk.logging import get_logger

Outcome = Literal["success", "retry", "drop"]
Settle = Callable[[Any], Awaitable[Outcome]]
"""Handles one delivery's CloudEvent envelope (None when it could not be read) and says how it ended."""

_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class BulkDelivery:
    """How the sidecar batches one subscription's deliveries, and how many of a batch run at once."""

    max_messages: int = 100
    max_await_ms: int = 250
    concurrency: int = 32

    def declaration(self) -> dict[str, Any]:
        """The `bulkSubscribe` member of the subscription's entry in `/dapr/subscribe`."""
        return {
            "enabled": True,
            "maxMessagesCount": self.max_messages,
            "maxAwaitDurationMs": self.max_await_ms,
        }


def is_batch(body: Any) -> bool:
    """A bulk request rather than one CloudEvent. A bulk route also answers a single delivery, so a
    sidecar that read the table before the route turned bulk (or a probe) is never answered 404."""
    return isinstance(body, dict) and isinstance(body.get("entries"), list) and "specversion" not in body


async def settle_batch(entries: Sequence[Any], settle: Settle, concurrency: int) -> Response:
    """Settles every entry that names itself and answers their statuses in one body. An entry without
    an `entryId` cannot be answered: daprd retries what it gets no status for."""
    named = [entry for entry in entries if isinstance(entry, dict) and isinstance(entry.get("entryId"), str)]
    if len(named) < len(entries):
        _log.warning("bulk_entries_unnamed", count=len(entries) - len(named))
    gate = asyncio.Semaphore(concurrency)

    async def one(entry: dict[str, Any]) -> Outcome:
        async with gate:
            return await settle(_envelope_of(entry))

    outcomes = await asyncio.gather(*(one(entry) for entry in named), return_exceptions=True)
    statuses = [
        {"entryId": entry["entryId"], "status": _status(outcome)}
        for entry, outcome in zip(named, outcomes, strict=True)
    ]
    return Response(content=orjson.dumps({"statuses": statuses}), media_type="application/json")


def _envelope_of(entry: dict[str, Any]) -> Any:
    """The entry's CloudEvent: daprd sends it as an object; a JSON text is read, anything else (a raw
    payload, which no subscription here asks for) is None and dropped as an unreadable envelope."""
    event = entry.get("event")
    if isinstance(event, str | bytes):
        try:
            return orjson.loads(event)
        except orjson.JSONDecodeError:
            return None
    return event


def _status(outcome: Outcome | BaseException) -> str:
    if isinstance(outcome, BaseException):
        _log.error("bulk_entry_failed", error_type=type(outcome).__name__, exc_info=outcome)
        return "RETRY"
    return outcome.upper()
