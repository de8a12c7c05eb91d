"""Dead letters: list them and replay them to the topic they came from.

Locally they are Redis streams named `deadletter.<consumer>.<topic>` (helpdesk.topics), read here with
the `redis` client. A replay republishes the original CloudEvent unchanged (same id, same trace) through
a sidecar, so every consumer of the topic sees it again and the idempotent ones that had already
processed it ignore it; then the dead-letter entry is deleted. On Azure the same topics exist on Service
Bus, plus each subscription's own dead-letter queue; `ServiceBusDeadLetters` reads and replays both with
`azure-servicebus`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from helpdesk.topics import DEAD_LETTER_PREFIX, SUBSCRIPTIONS, all_dead_letter_topics


@dataclass(frozen=True)
class DeadLetterEntry:
    stream: str
    entry_id: str
    consumer: str | None
    original_topic: str | None
    envelope: dict[str, Any]

    @property
    def turn_id(self) -> str | None:
        data = self.envelope.get("data")
        return str(data.get("turn_id")) if isinstance(data, dict) and data.get("turn_id") else None

    @property
    def event_id(self) -> str:
        return str(self.envelope.get("id", ""))


def origin(dead_letter_topic: str) -> tuple[str | None, str | None]:
    """(consumer app-id, original topic) of `deadletter.<app>.<topic>`."""
    prefix, _, rest = dead_letter_topic.partition(".")
    if prefix != DEAD_LETTER_PREFIX:
        return None, None
    consumer, _, topic = rest.partition(".")
    return (consumer or None), (topic or None)


def parse_envelope(raw: bytes | str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {"data": raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw}
    return value if isinstance(value, dict) else {"data": value}


class RedisDeadLetters:
    def __init__(self, redis_url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(redis_url)

    def list(self, topics: list[str] | None = None) -> Iterator[DeadLetterEntry]:
        for stream in topics or all_dead_letter_topics():
            consumer, topic = origin(stream)
            entries: list[tuple[bytes, dict[bytes, bytes]]] = self._redis.xrange(stream)  # type: ignore[assignment]
            for entry_id, fields in entries:
                raw = fields.get(b"data", b"")
                yield DeadLetterEntry(stream, entry_id.decode(), consumer, topic, parse_envelope(raw))

    def replay(self, entry: DeadLetterEntry, publish: Callable[[str, dict[str, Any]], None]) -> None:
        if entry.original_topic is None:
            raise ValueError(f"{entry.stream} is not a dead-letter topic of this helpdesk")
        publish(entry.original_topic, entry.envelope)
        self._redis.xdel(entry.stream, entry.entry_id)

    def close(self) -> None:
        self._redis.close()


class ServiceBusDeadLetters:
    """Dead letters on Azure Service Bus: Dapr's dead-letter topics (as seen by the evaluator's
    subscription) and every subscription's own `$deadletterqueue`."""

    def __init__(self, connection_string: str) -> None:
        from azure.servicebus import ServiceBusClient

        self._client = ServiceBusClient.from_connection_string(connection_string)

    def queues(self) -> list[tuple[str, str, bool]]:
        """(topic, subscription, is the subscription's own DLQ) for every place dead letters wait."""
        places = [(t, "evaluator", False) for t in all_dead_letter_topics()]
        places += [(t.value, app.value, True) for app, topics in SUBSCRIPTIONS.items() for t in topics]
        return places

    def list(self, max_per_queue: int = 100) -> Iterator[DeadLetterEntry]:
        from azure.servicebus import ServiceBusSubQueue

        for topic, subscription, own in self.queues():
            receiver = self._client.get_subscription_receiver(
                topic, subscription, sub_queue=ServiceBusSubQueue.DEAD_LETTER if own else None
            )
            with receiver:
                for message in receiver.peek_messages(max_message_count=max_per_queue):
                    body = b"".join(message.body) if not isinstance(message.body, bytes) else message.body
                    consumer, original = (subscription, topic) if own else origin(topic)
                    yield DeadLetterEntry(
                        f"{topic}/{subscription}{'/$deadletterqueue' if own else ''}",
                        str(message.sequence_number),
                        consumer,
                        original,
                        parse_envelope(body),
                    )

    def replay_all(self, topic: str, subscription: str, own: bool) -> int:
        """Move one batch (up to 100) from a dead-letter place back to its original topic; the number
        moved, 0 when the place is empty. Each message is completed only after it was sent, so a
        failure in between repeats a message rather than losing it."""
        from azure.servicebus import ServiceBusMessage, ServiceBusSubQueue

        consumer, original = (subscription, topic) if own else origin(topic)
        if original is None:
            raise ValueError(f"{topic} is not a dead-letter topic of this helpdesk")
        del consumer
        count = 0
        receiver = self._client.get_subscription_receiver(
            topic, subscription, sub_queue=ServiceBusSubQueue.DEAD_LETTER if own else None
        )
        with receiver, self._client.get_topic_sender(original) as sender:
            for message in receiver.receive_messages(max_message_count=100, max_wait_time=5):
                body = b"".join(message.body) if not isinstance(message.body, bytes) else message.body
                sender.send_messages(ServiceBusMessage(body, content_type="application/cloudevents+json"))
                receiver.complete_message(message)
                count += 1
        return count
