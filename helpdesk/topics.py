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

    The gateway uses it to wake the HTTP request waiting on whichever replica holds it (a copy addressed
    to that replica: the other gateway replicas' sidecars skip it by their routing rule); dialogue uses
    it so that every replica re-indexes its knowledge base on `kb.updated`. See `LIVE_TOPICS`.
    """
    STATESTORE = "statestore"
    KNOWLEDGESTORE = "knowledgestore"
    """The published knowledge base (claim check): items, manifests and document records that the
    evaluator writes and dialogue reads. Keys are prefixed with the component's name, not the app-id,
    so both apps see the same keys: the one deliberate exception to "no service reads another's keys".
    """
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

The durable copy on `pubsub` is what consumers process exactly once; the live copy only wakes replicas
(the gateway replica whose HTTP request waits for the answer, every dialogue replica's index). Live
topics are separate streams kept short, so a replica that starts (and whose fan-out consumer group
starts at the beginning of the retained stream) replays little.
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


def owner(topic: Topic) -> AppId:
    """The one app that publishes `topic` (`PUBLICATIONS`).

    Its sidecar is the only one allowed to publish the topic (`publishing_scopes`), and consumers refuse
    a delivery whose CloudEvent `source` (the publishing sidecar's app-id) is any other app.
    """
    owners = [app for app, topics in PUBLICATIONS.items() if topic in topics]
    if len(owners) != 1:
        raise ValueError(f"{topic.value} must have exactly one publisher, not {len(owners)}")
    return owners[0]


def publisher_of(name: str) -> AppId:
    """The app whose sidecar may publish the topic called `name`: the owner of a topic and of its live
    copy, and for a dead-letter topic the consumer it belongs to (its sidecar dead-letters for it).

    Operator tooling publishes through this app's sidecar, as that app would.
    """
    prefix, _, rest = name.partition(".")
    if prefix == DEAD_LETTER_PREFIX and name in all_dead_letter_topics():
        return AppId(rest.partition(".")[0])
    live = {live_topic(topic): topic for topic in LIVE_TOPICS}
    if name in live:
        return owner(live[name])
    try:
        return owner(Topic(name))
    except ValueError:
        raise ValueError(f"{name!r} is not a topic of this helpdesk") from None


def _apps_on(component: Component) -> tuple[AppId, ...]:
    if component is Component.PUBSUB:
        return tuple(AppId)
    if component is Component.BROADCAST:
        return tuple(
            app
            for app in AppId
            if BROADCAST_SUBSCRIPTIONS.get(app) or set(PUBLICATIONS.get(app, ())) & set(LIVE_TOPICS)
        )
    raise ValueError(f"{component.value} is not a pub/sub component")


def publishing_scopes(component: Component) -> dict[AppId, tuple[str, ...]]:
    """What each app's sidecar may publish on a pub/sub component (Dapr's `publishingScopes`).

    On `pubsub`: the app's own topics and the dead-letter topics of its own subscriptions, which its
    sidecar publishes for it and which Dapr checks against the same scopes. On `broadcast`: the live
    copies of its own live topics. An app with nothing to publish is listed with no topics, which Dapr
    reads as "none" (an app left out could publish anything).
    """
    if component is Component.PUBSUB:
        return {
            app: (
                *(topic.value for topic in PUBLICATIONS.get(app, ())),
                *(dead_letter_topic(app, topic) for topic in SUBSCRIPTIONS.get(app, ())),
            )
            for app in _apps_on(component)
        }
    return {
        app: tuple(live_topic(t) for t in PUBLICATIONS.get(app, ()) if t in LIVE_TOPICS)
        for app in _apps_on(component)
    }


def subscription_scopes(component: Component) -> dict[AppId, tuple[str, ...]]:
    """What each app's sidecar may subscribe to on a pub/sub component (Dapr's `subscriptionScopes`)."""
    if component is Component.PUBSUB:
        return {
            app: (
                *(topic.value for topic in SUBSCRIPTIONS.get(app, ())),
                *(all_dead_letter_topics() if app is DEAD_LETTER_RECORDER else ()),
            )
            for app in _apps_on(component)
        }
    return {
        app: tuple(live_topic(topic) for topic in BROADCAST_SUBSCRIPTIONS.get(app, ()))
        for app in _apps_on(component)
    }


def component_topics(component: Component) -> tuple[str, ...]:
    """Every topic that exists on a pub/sub component (Dapr's `allowedTopics`): all that is published."""
    return tuple(name for names in publishing_scopes(component).values() for name in names)
