"""Every Dapr component and topic name the helpdesk uses, in one place.

Local YAML (`components/`), the Azure Bicep (`deploy/`) and the code all use these names; the contract
tests compare them, so a rename that happens on one side only fails the build.
"""

from __future__ import annotations

from enum import StrEnum


class Component(StrEnum):
    """Dapr component names, identical locally and on Azure Container Apps."""

    PUBSUB = "pubsub"
    BROADCAST = "broadcast"
    """Pub/sub whose consumer id is unique per replica, so that every replica sees every message.

    The gateway uses it to wake the HTTP request waiting on whichever replica holds it; dialogue uses it
    so that every replica re-indexes its knowledge base on `kb.updated`. See `LIVE_TOPICS`.
    """
    STATESTORE = "statestore"
    CONFIGSTORE = "configstore"
    SECRETSTORE = "secretstore"


class Topic(StrEnum):
    CHAT_REQUESTED = "chat.requested"
    CHAT_ANALYZED = "chat.analyzed"
    CHAT_ANSWERED = "chat.answered"
    CHAT_ESCALATED = "chat.escalated"
    HANDOFF_REPLIED = "handoff.replied"
    FEEDBACK_SUBMITTED = "feedback.submitted"
    KB_UPDATED = "kb.updated"


class AppId(StrEnum):
    """Dapr app-ids; each equals the service's folder name under `services/`."""

    GATEWAY = "gateway"
    NLP = "nlp"
    DIALOGUE = "dialogue"
    EVALUATOR = "evaluator"


DEAD_LETTER_PREFIX = "deadletter"


def dead_letter_topic(app: AppId, topic: Topic) -> str:
    """The dead-letter topic of one subscription.

    One per (subscriber, topic) so that an operator can tell which consumer gave up on a message and a
    replay can be aimed at it.
    """
    return f"{DEAD_LETTER_PREFIX}.{app.value}.{topic.value}"


SUBSCRIPTIONS: dict[AppId, tuple[Topic, ...]] = {
    AppId.GATEWAY: (Topic.CHAT_ANSWERED, Topic.CHAT_ESCALATED, Topic.HANDOFF_REPLIED),
    AppId.NLP: (Topic.CHAT_REQUESTED,),
    AppId.DIALOGUE: (Topic.CHAT_ANALYZED, Topic.KB_UPDATED),
    AppId.EVALUATOR: (
        Topic.CHAT_ANSWERED,
        Topic.CHAT_ESCALATED,
        Topic.HANDOFF_REPLIED,
        Topic.FEEDBACK_SUBMITTED,
    ),
}
"""Who consumes what on `pubsub` (competing consumers per app-id)."""

LIVE_TOPICS: tuple[Topic, ...] = (Topic.CHAT_ANSWERED, Topic.CHAT_ESCALATED, Topic.KB_UPDATED)
"""Topics whose events are also published, best effort, to `broadcast` as `live.<topic>`.

The durable copy on `pubsub` is what consumers process exactly once; the live copy only wakes every
replica (the gateway's waiting HTTP requests, every dialogue replica's index). Live topics are separate
streams kept short, so a replica that starts (and whose fan-out consumer group starts at the beginning
of the retained stream) replays little.
"""


def live_topic(topic: Topic) -> str:
    return f"live.{topic.value}"


BROADCAST_SUBSCRIPTIONS: dict[AppId, tuple[Topic, ...]] = {
    AppId.GATEWAY: (Topic.CHAT_ANSWERED, Topic.CHAT_ESCALATED),
    AppId.DIALOGUE: (Topic.KB_UPDATED,),
    AppId.EVALUATOR: (Topic.KB_UPDATED,),
}
"""Who follows which live topic on `broadcast` (fan-out; no dead letters: the handlers touch only memory)."""

PUBLICATIONS: dict[AppId, tuple[Topic, ...]] = {
    AppId.GATEWAY: (Topic.CHAT_REQUESTED, Topic.FEEDBACK_SUBMITTED, Topic.HANDOFF_REPLIED),
    AppId.NLP: (Topic.CHAT_ANALYZED,),
    AppId.DIALOGUE: (Topic.CHAT_ANSWERED, Topic.CHAT_ESCALATED),
    AppId.EVALUATOR: (Topic.KB_UPDATED,),
}

DEAD_LETTER_RECORDER = AppId.EVALUATOR
"""The app that subscribes to every dead-letter topic and keeps the operator's listing."""


def all_dead_letter_topics() -> list[str]:
    return [dead_letter_topic(app, topic) for app, topics in SUBSCRIPTIONS.items() for topic in topics]
