"""The Azure deployment (deploy/) and the local run (components/, dapr.yaml, docker-compose.yml) describe
the same system: component names, type mapping, scopes, intent, resiliency, topics, subscriptions and
app-ids agree, and the code (helpdesk/topics.py) is the reference. A change on one side only fails here.
The container apps themselves (app-ids, ports, ingress, scaling, azd) are in test_deploy_apps.py.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import pytest

from helpdesk.topics import (
    BROADCAST_SUBSCRIPTIONS,
    DEAD_LETTER_RECORDER,
    LIVE_TOPICS,
    SUBSCRIPTIONS,
    AppId,
    Component,
    Topic,
    all_dead_letter_topics,
    live_topic,
)
from tests.support.deployfiles import (
    DEPLOY_DIR,
    bicep,
    local_components,
    local_resiliency,
)

APPS = [app.value for app in AppId]

AZURE_TYPE = {
    Component.PUBSUB: ("pubsub.redis", "pubsub.azure.servicebus.topics"),
    Component.BROADCAST: ("pubsub.redis", "pubsub.azure.servicebus.topics"),
    Component.STATESTORE: ("state.redis", "state.redis"),
    Component.KNOWLEDGESTORE: ("state.redis", "state.redis"),
    Component.CONFIGSTORE: ("configuration.redis", "configuration.azure.appconfig"),
    Component.SECRETSTORE: ("secretstores.local.file", "secretstores.azure.keyvault"),
}
"""Local type -> Azure Container Apps type, per component."""

SAME_INTENT: dict[Component, list[tuple[str, str, Callable[[str], str]]]] = {
    # component: [(local metadata, Azure metadata, local value -> Azure value)]
    Component.PUBSUB: [
        ("concurrency", "maxConcurrentHandlers", str),
        # not queueDepth -> maxActiveMessages: on Azure the messages a sidecar holds count for KEDA, so
        # they follow the KEDA thresholds (test_sizing_defaults.py), which the local run does not have
        ("processingTimeout", "handlerTimeoutInSec", lambda v: str(int(v.removesuffix("s")))),
    ],
    Component.BROADCAST: [
        ("consumerID", "consumerID", str),
        ("concurrency", "maxConcurrentHandlers", str),
        ("processingTimeout", "handlerTimeoutInSec", lambda v: str(int(v.removesuffix("s")))),
    ],
    Component.STATESTORE: [("keyPrefix", "keyPrefix", str)],
    Component.KNOWLEDGESTORE: [("keyPrefix", "keyPrefix", str)],
}
"""Local settings whose meaning carries over to the Azure component, and how the value translates."""


# ---- readers of the Azure side -----------------------------------------------------------------


def aca_components() -> dict[str, dict[str, Any]]:
    tree = bicep(DEPLOY_DIR / "modules" / "dapr-components.bicep")
    found = {}
    for resource in tree["resources"].values():
        if (
            resource["type"] == "Microsoft.App/managedEnvironments/daprComponents"
            and not resource["existing"]
        ):
            found[resource["config"]["name"]] = resource["config"]["properties"]
    return found


def aca_metadata(component: str) -> dict[str, Any]:
    return {item["name"]: item.get("value") for item in aca_components()[component]["metadata"]}


def aca_resiliency() -> dict[str, dict[str, Any]]:
    """Component name -> resiliency policy properties."""
    tree = bicep(DEPLOY_DIR / "modules" / "dapr-components.bicep")
    symbols = {
        symbol: r["config"]["name"]
        for symbol, r in tree["resources"].items()
        if r["type"] == "Microsoft.App/managedEnvironments/daprComponents"
    }
    return {
        symbols[r["config"]["parent"]]: r["config"]["properties"]
        for r in tree["resources"].values()
        if r["type"] == "Microsoft.App/managedEnvironments/daprComponents/resiliencyPolicies"
    }


def messaging() -> dict[str, Any]:
    return bicep(DEPLOY_DIR / "modules" / "servicebus.bicep")


def messaging_var(name: str) -> Any:
    return messaging()["variables"][name]["value"]


def ms(duration: str) -> int:
    """A Dapr duration ("200ms", "5s") in milliseconds."""
    if duration.endswith("ms"):
        return int(duration[:-2])
    return int(float(duration.removesuffix("s")) * 1000)


# ---- components --------------------------------------------------------------------------------


def test_the_same_components_exist_on_both_sides_and_in_the_code() -> None:
    names = {c.value for c in Component}
    assert set(local_components()) == names
    assert set(aca_components()) == names


@pytest.mark.parametrize("component", list(Component))
def test_each_component_maps_to_its_azure_type(component: Component) -> None:
    local_type, azure_type = AZURE_TYPE[component]
    assert local_components()[component.value].type == local_type
    assert aca_components()[component.value]["componentType"] == azure_type
    assert aca_components()[component.value]["version"] == "v1"


@pytest.mark.parametrize("component", list(Component))
def test_each_component_has_the_same_scopes_on_both_sides(component: Component) -> None:
    local = list(local_components()[component.value].scopes)
    azure = list(aca_components()[component.value]["scopes"])
    assert azure == local
    assert set(local) <= set(APPS)


@pytest.mark.parametrize("app", APPS)
def test_every_component_a_service_uses_is_scoped_to_it_on_both_sides(app: str) -> None:
    uses = importlib.import_module(f"services.{app}.app").COMPONENTS
    for component in uses:
        assert app in local_components()[component.value].scopes, f"{app} uses {component} locally"
        assert app in aca_components()[component.value]["scopes"], f"{app} uses {component} on Azure"


@pytest.mark.parametrize("component", list(Component))
def test_each_azure_component_signs_in_with_the_managed_identity(component: Component) -> None:
    properties = aca_components()[component.value]
    metadata = aca_metadata(component.value)
    assert metadata["azureClientId"] == "identityClientId"
    assert not properties.get("secrets"), "no connection strings or keys in components"
    assert not any(
        "connectionString" in item["name"] or "secretRef" in item for item in properties["metadata"]
    )


@pytest.mark.parametrize("component", list(SAME_INTENT))
def test_settings_with_the_same_intent_carry_the_same_values(component: Component) -> None:
    local = local_components()[component.value].metadata
    azure = aca_metadata(component.value)
    for local_name, azure_name, translate in SAME_INTENT[component]:
        assert azure[azure_name] == translate(local[local_name]), f"{component}: {local_name}"


def test_broadcast_fans_out_per_replica_and_cleans_up_after_replicas_that_are_gone() -> None:
    assert local_components()[Component.BROADCAST.value].metadata["consumerID"] == "{uuid}"
    assert aca_metadata(Component.BROADCAST.value)["autoDeleteOnIdleInSec"]
    assert "disableEntityManagement" not in aca_metadata(Component.BROADCAST.value)


def test_the_durable_pubsub_uses_the_app_id_as_subscription_and_declared_entities() -> None:
    assert "consumerID" not in local_components()[Component.PUBSUB.value].metadata
    assert "consumerID" not in aca_metadata(Component.PUBSUB.value)
    assert aca_metadata(Component.PUBSUB.value)["disableEntityManagement"] == "true"


@pytest.mark.parametrize("component", [Component.STATESTORE, Component.KNOWLEDGESTORE])
def test_the_state_stores_use_tls_and_entra_id(component: Component) -> None:
    metadata = aca_metadata(component.value)
    assert metadata["enableTLS"] == "true"
    assert metadata["useEntraID"] == "true"


def test_each_service_keeps_its_own_state_and_the_knowledge_store_is_shared_by_name() -> None:
    """statestore keys are prefixed with the app-id (no service reads another's); knowledgestore keys
    with the component's name, so the evaluator (its writer) and dialogue (its reader) see the same
    keys, and no other app is scoped to it."""
    for metadata in (local_components()[Component.STATESTORE.value].metadata, aca_metadata("statestore")):
        assert metadata["keyPrefix"] == "appid"
    for metadata in (
        local_components()[Component.KNOWLEDGESTORE.value].metadata,
        aca_metadata(Component.KNOWLEDGESTORE.value),
    ):
        assert metadata["keyPrefix"] == "name"
    assert set(local_components()[Component.KNOWLEDGESTORE.value].scopes) == {"dialogue", "evaluator"}


def test_resiliency_targets_the_same_components_in_the_same_directions() -> None:
    targets = local_resiliency()["spec"]["targets"]["components"]
    azure = aca_resiliency()
    assert set(azure) == set(targets)
    for component, directions in targets.items():
        assert {d + "Policy" for d in directions} == set(azure[component]), component


def test_resiliency_policies_carry_the_same_numbers() -> None:
    spec = local_resiliency()["spec"]
    policies = spec["policies"]
    for component, directions in spec["targets"]["components"].items():
        for direction, target in directions.items():
            azure = aca_resiliency()[component][direction + "Policy"]
            timeout = policies["timeouts"][target["timeout"]]
            assert azure["timeoutPolicy"]["responseTimeoutInSeconds"] * 1000 == ms(timeout)
            if "retry" in target:
                local = policies["retries"][target["retry"]]
                retry = azure["httpRetryPolicy"]
                assert retry["maxRetries"] == local["maxRetries"]
                initial = local.get("initialInterval", local.get("duration"))
                maximum = local.get("maxInterval", local.get("duration"))
                assert retry["retryBackOff"]["initialDelayInMilliseconds"] == ms(initial)
                assert retry["retryBackOff"]["maxIntervalInMilliseconds"] == ms(maximum)
            else:
                assert "httpRetryPolicy" not in azure
            if "circuitBreaker" in target:
                local = policies["circuitBreakers"][target["circuitBreaker"]]
                breaker = azure["circuitBreakerPolicy"]
                assert f"consecutiveFailures >= {breaker['consecutiveErrors']}" == local["trip"]
                assert breaker["intervalInSeconds"] * 1000 == ms(local["interval"])
                assert breaker["timeoutInSeconds"] * 1000 == ms(local["timeout"])
            else:
                assert "circuitBreakerPolicy" not in azure


# ---- topics and subscriptions ------------------------------------------------------------------


def test_every_topic_of_the_code_is_declared_on_service_bus() -> None:
    assert messaging_var("topics") == [t.value for t in Topic]


def test_every_live_topic_is_declared_for_the_broadcast() -> None:
    assert messaging_var("liveTopics") == [live_topic(t) for t in LIVE_TOPICS]
    assert {t for topics in BROADCAST_SUBSCRIPTIONS.values() for t in topics} <= set(LIVE_TOPICS)


def test_every_dead_letter_topic_is_declared() -> None:
    assert messaging_var("deadLetterTopics") == all_dead_letter_topics()


def test_every_subscription_of_the_code_is_declared_under_the_app_id() -> None:
    declared = [(s["subscriber"], s["topic"]) for s in messaging_var("subscriptions")]
    expected = [(app.value, topic.value) for app, topics in SUBSCRIPTIONS.items() for topic in topics]
    assert declared == expected


def test_the_dead_letter_recorder_subscribes_to_every_dead_letter_topic() -> None:
    assert messaging_var("deadLetterSubscriber") == DEAD_LETTER_RECORDER.value
    loop = messaging_var("deadLetterSubscriptions")
    assert loop["loop_type"]["detail"] == {"item_name": "t", "array_name": "deadLetterTopics"}
    assert loop["config"] == {"topic": "t", "subscriber": "deadLetterSubscriber"}
    combined = messaging_var("allSubscriptions")["function"]
    assert combined["type"] == "concat"
    assert set(combined["parameters"].values()) == {"subscriptions", "deadLetterSubscriptions"}


def test_the_declared_lists_are_the_ones_service_bus_gets() -> None:
    resources = messaging()["resources"]

    def looped_over(symbol: str) -> Any:
        return resources[symbol]["config"]["loop_type"]["detail"]["array_name"]

    durable = looped_over("durableTopics")["function"]
    assert durable["type"] == "concat"
    assert set(durable["parameters"].values()) == {"topics", "deadLetterTopics"}
    assert looped_over("broadcastTopics") == "liveTopics"
    assert looped_over("durableSubscriptions") == "allSubscriptions"
