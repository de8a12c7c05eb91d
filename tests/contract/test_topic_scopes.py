"""The topic scopes of the local pub/sub components are what helpdesk/topics.py says.

Each topic may be published only by its owner (and a dead-letter topic only by the sidecar of the
consumer it belongs to), each app subscribes only to what it consumes, and no other topic exists. A
topic added to helpdesk/topics.py but not to components/ fails here: a forgotten scope would make
the sidecar refuse the owner's publish (403) or the subscription, or, for an app left out of the
scopes altogether, let it publish anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from helpdesk.memory_ports import memory_runtime
from helpdesk.runtime import flag_defaults
from helpdesk.settings import ServiceSettings
from helpdesk.topics import (
    AppId,
    Component,
    all_dead_letter_topics,
    component_topics,
    publisher_of,
    publishing_scopes,
    subscription_scopes,
)
from services.dialogue.app import create_app as dialogue
from services.evaluator.app import create_app as evaluator
from services.gateway.app import create_app as gateway
from services.nlp.app import create_app as nlp
from tests.support.deployfiles import local_components
from tests.support.events import delivery_path, envelope

FACTORIES: dict[AppId, Callable[..., FastAPI]] = {
    AppId.GATEWAY: gateway,
    AppId.NLP: nlp,
    AppId.DIALOGUE: dialogue,
    AppId.EVALUATOR: evaluator,
}

PUBSUBS = [Component.PUBSUB, Component.BROADCAST]


def dapr_scopes(value: str) -> dict[str, set[str]]:
    """A `publishingScopes`/`subscriptionScopes` value read as daprd reads it (pkg/scopes): spaces
    removed, `;` between apps, `=` after the app-id, `,` between topics; "app=" is "no topic"."""
    found: dict[str, set[str]] = {}
    for part in value.replace(" ", "").split(";"):
        app, _, topics = part.partition("=")
        assert app not in found, f"{app} is listed twice"
        found[app] = {t for t in topics.split(",") if t}
    return found


def metadata(component: Component) -> dict[str, str]:
    return local_components()[component.value].metadata


@pytest.mark.parametrize("component", PUBSUBS)
@pytest.mark.parametrize("name", ["publishingScopes", "subscriptionScopes", "allowedTopics"])
def test_the_values_are_one_line_as_daprd_reads_them(component: Component, name: str) -> None:
    # daprd strips spaces only: a newline (a more-indented line in a folded YAML block) would become
    # part of a topic name.
    assert "\n" not in metadata(component)[name]


@pytest.mark.parametrize("component", PUBSUBS)
def test_each_app_publishes_only_what_it_owns(component: Component) -> None:
    expected = {app.value: set(topics) for app, topics in publishing_scopes(component).items()}
    assert dapr_scopes(metadata(component)["publishingScopes"]) == expected


@pytest.mark.parametrize("component", PUBSUBS)
def test_each_app_subscribes_only_to_what_it_consumes(component: Component) -> None:
    expected = {app.value: set(topics) for app, topics in subscription_scopes(component).items()}
    assert dapr_scopes(metadata(component)["subscriptionScopes"]) == expected


@pytest.mark.parametrize("component", PUBSUBS)
def test_no_other_topic_exists(component: Component) -> None:
    allowed = set(metadata(component)["allowedTopics"].replace(" ", "").split(","))
    assert allowed == set(component_topics(component))


@pytest.mark.parametrize("component", PUBSUBS)
def test_every_app_the_component_is_scoped_to_has_scopes(component: Component) -> None:
    """An app missing from publishingScopes may publish every allowed topic."""
    apps = set(local_components()[component.value].scopes)
    assert apps == set(dapr_scopes(metadata(component)["publishingScopes"]))
    assert apps == set(dapr_scopes(metadata(component)["subscriptionScopes"]))


@pytest.mark.parametrize("component", PUBSUBS)
def test_whatever_is_subscribed_to_is_published_by_someone(component: Component) -> None:
    subscribed = {t for topics in subscription_scopes(component).values() for t in topics}
    assert subscribed <= set(component_topics(component))


@pytest.mark.parametrize("app_id", list(AppId))
def test_every_route_refuses_a_delivery_that_names_another_publisher(app_id: AppId) -> None:
    """The consumers' own check (helpdesk/dapr/subscriptions.py), on every route each app announces:
    kb.updated and handoff.replied change what is stored, and every other topic has one owner too."""
    runtime = memory_runtime(app_id.value, flags=flag_defaults(ServiceSettings()))
    with TestClient(FACTORIES[app_id](None, runtime=runtime)) as client:
        table: list[dict[str, Any]] = client.get("/dapr/subscribe").json()
        checked = 0
        for entry in table:
            if entry["topic"] in all_dead_letter_topics():
                continue  # the recorder keeps whatever was dead-lettered, by design
            owner = publisher_of(entry["topic"])
            for intruder in [app for app in AppId if app is not owner]:
                before = rejections(app_id, entry["topic"])
                body = envelope({}, entry["topic"], entry["pubsubname"], source=intruder.value)
                assert client.post(delivery_path(entry), json=body).json() == {"status": "DROP"}
                assert rejections(app_id, entry["topic"]) == before + 1, entry["topic"]
            checked += 1
        assert checked > 0


def rejections(app_id: AppId, topic: str) -> float:
    labels = {"service": app_id.value, "topic": topic, "reason": "source"}
    return REGISTRY.get_sample_value("helpdesk_events_rejected_total", labels) or 0.0
