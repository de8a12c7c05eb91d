"""Who may do what: the role grants (pinned role ids, each to its principal, no other grant), the Redis
access policies, and the pub/sub topic scopes derived from helpdesk/topics.py."""

from __future__ import annotations

from typing import Any

from helpdesk.topics import (
    BROADCAST_SUBSCRIPTIONS,
    DEAD_LETTER_RECORDER,
    LIVE_TOPICS,
    PUBLICATIONS,
    SUBSCRIPTIONS,
    AppId,
    Component,
    all_dead_letter_topics,
    dead_letter_topic,
    live_topic,
)
from tests.support.azure_checks.files import AzureFiles
from tests.support.deployfiles import render

ROLES = {
    # Built-in Azure role definition ids (the same in every tenant).
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "Azure Service Bus Data Sender": "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39",
    "Azure Service Bus Data Receiver": "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0",
    "Azure Service Bus Data Owner": "090c5cfd-751d-490a-894a-3ce6f1109419",
    "App Configuration Data Reader": "516239f1-63e1-4d78-a4de-a74fb236a071",
    "App Configuration Data Owner": "5ae67dd6-50cb-40e7-96ff-dc2bfa4b606b",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "Cognitive Services OpenAI User": "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
}

GRANTS = {
    # (module, role assignment) -> (role, principal): every grant of the template, and no other.
    ("modules/registry.bicep", "appsPull"): ("AcrPull", "appsPrincipalId"),
    ("modules/servicebus.bicep", "appsSend"): ("Azure Service Bus Data Sender", "appsPrincipalId"),
    ("modules/servicebus.bicep", "appsReceive"): ("Azure Service Bus Data Receiver", "appsPrincipalId"),
    ("modules/servicebus.bicep", "appsManageBroadcast"): ("Azure Service Bus Data Owner", "appsPrincipalId"),
    ("modules/servicebus.bicep", "scalerReadsBacklog"): ("Azure Service Bus Data Owner", "scalerPrincipalId"),
    ("modules/appconfig.bicep", "appsRead"): ("App Configuration Data Reader", "appsPrincipalId"),
    ("modules/appconfig.bicep", "operatorOwns"): ("App Configuration Data Owner", "operatorPrincipalId"),
    ("modules/keyvault.bicep", "appsRead"): ("Key Vault Secrets User", "appsPrincipalId"),
    ("modules/keyvault.bicep", "operatorWrites"): ("Key Vault Secrets Officer", "operatorPrincipalId"),
    ("modules/openai.bicep", "appsUse"): ("Cognitive Services OpenAI User", "appsPrincipalId"),
}

CACHE_STATE_POLICY = "+@all -@dangerous +info +cluster|info +cluster|nodes +cluster|slots allkeys"
"""Azure Cache for Redis: the built-in Data Contributor policy plus INFO, which state.redis runs at start
(`INFO replication`); tests/integration/test_redis_acl.py runs daprd against exactly this string."""

MANAGED_STATE_POLICY = "default"
"""Azure Managed Redis: the one access policy before API 2026-05-01-preview, every command and key
(`+@all ~*`, learn.microsoft.com/azure/redis/configure-access-permissions)."""

MANAGED_REDIS_API = "2025-07-01"
"""The current generally available API of Microsoft.Cache/redisEnterprise (NoCluster, publicNetworkAccess)."""


def _role_id(tree: dict[str, Any], reference: str) -> str | None:
    variable, _, key = reference.partition(".")
    value = tree.get("variables", {}).get(variable, {}).get("value")
    if key:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str) else None


def role_problems(files: AzureFiles) -> list[str]:
    problems = []
    found = set()
    names = {role_id: name for name, role_id in ROLES.items()}
    for module, tree in files.trees.items():
        for symbol, resource in tree.get("resources", {}).items():
            if resource["type"] != "Microsoft.Authorization/roleAssignments":
                continue
            found.add((module, symbol))
            config = resource["config"]
            config = config.get("config", config)
            properties = config["properties"]
            definition = properties["roleDefinitionId"]["function"]["parameters"]
            role_id = _role_id(tree, render(definition["resource_name_1"]))
            expected = GRANTS.get((module, symbol))
            if expected is None:
                problems.append(f"{module}: role assignment {symbol} is not a pinned grant")
                continue
            role, principal = expected
            if role_id != ROLES[role]:
                problems.append(
                    f"{module}: {symbol} grants role {role_id} ({names.get(role_id or '', 'unknown')}), "
                    f"not {role} ({ROLES[role]})"
                )
            if render(properties["principalId"]) != principal:
                problems.append(
                    f"{module}: {symbol} grants to {render(properties['principalId'])}, not {principal}"
                )
    for missing in sorted(set(GRANTS) - found):
        problems.append(f"{missing[0]}: role assignment {missing[1]} is gone")
    return problems


def redis_policy_problems(files: AzureFiles) -> list[str]:
    problems = []
    redis = "modules/redis.bicep"
    cache = render(files.resource(redis, "cacheAccess").get("properties", {}).get("accessPolicyName"))
    if cache != "cacheStatePolicy.name":
        problems.append(
            f"redis.bicep: Azure Cache for Redis access policy is {cache!r}, "
            "not the helpdesk-state policy that allows INFO"
        )
    policy_body = files.resource(redis, "cacheStatePolicy").get("properties", {})
    permissions = render(policy_body.get("permissions"))
    if permissions == "statePolicyPermissions":
        permissions = files.variable(redis, "statePolicyPermissions")
    if permissions != CACHE_STATE_POLICY:
        problems.append(
            f"redis.bicep: the helpdesk-state access policy is {permissions!r}, not {CACHE_STATE_POLICY!r}"
        )
    policy = render(files.resource(redis, "managedAccess").get("properties", {}).get("accessPolicyName"))
    if policy == "managedPolicyName":
        policy = files.variable(redis, "managedPolicyName")
    if policy != MANAGED_STATE_POLICY:
        problems.append(f"redis.bicep: the Azure Managed Redis access policy is {policy!r}, not 'default'")
    for symbol in ("managed", "managedDatabase", "managedAccess"):
        version = files.tree(redis)["resources"].get(symbol, {}).get("api_version")
        if version != MANAGED_REDIS_API:
            problems.append(f"redis.bicep: {symbol} uses API {version}, not {MANAGED_REDIS_API}")
    if files.tree(redis)["parameters"]["offering"].get("default") != "managed":
        problems.append("redis.bicep: Azure Managed Redis must be the default offering")
    if files.main["parameters"]["redisOffering"].get("default") != "managed":
        problems.append("main.bicep: Azure Managed Redis must be the default offering (redisOffering)")
    return problems


def _scopes(text: str) -> dict[str, set[str]]:
    """Dapr's reading of publishingScopes/subscriptionScopes: `app=t1,t2;app2=` (spaces ignored)."""
    scopes: dict[str, set[str]] = {}
    for entry in text.replace(" ", "").split(";"):
        app, sep, topics = entry.partition("=")
        if sep:
            scopes.setdefault(app, set()).update(t for t in topics.split(",") if t)
    return scopes


def expected_topic_scopes(component: Component, apps: list[str]) -> tuple[dict[str, set[str]], ...]:
    """(publishing, subscription, allowed topics) for a pub/sub component, from helpdesk/topics.py."""
    if component is Component.PUBSUB:
        publishing = {
            app.value: {t.value for t in PUBLICATIONS.get(app, ())}
            | {dead_letter_topic(app, t) for t in SUBSCRIPTIONS.get(app, ())}
            for app in AppId
            if app.value in apps
        }
        subscription = {
            app.value: {t.value for t in SUBSCRIPTIONS.get(app, ())}
            | (set(all_dead_letter_topics()) if app is DEAD_LETTER_RECORDER else set())
            for app in AppId
            if app.value in apps
        }
    else:
        publishing = {
            app.value: {live_topic(t) for t in PUBLICATIONS.get(app, ()) if t in LIVE_TOPICS}
            for app in AppId
            if app.value in apps
        }
        subscription = {
            app.value: {live_topic(t) for t in BROADCAST_SUBSCRIPTIONS.get(app, ())}
            for app in AppId
            if app.value in apps
        }
    allowed = {"*": set().union(*publishing.values())}
    return publishing, subscription, allowed


def scope_problems(files: AzureFiles) -> list[str]:
    problems = []
    for component in (Component.PUBSUB, Component.BROADCAST):
        apps = list(files.components()[component.value]["scopes"])
        publishing, subscription, allowed = expected_topic_scopes(component, apps)
        declared_publishing = _scopes(files.value(component.value, "publishingScopes"))
        declared_subscription = _scopes(files.value(component.value, "subscriptionScopes"))
        declared_allowed = set(files.value(component.value, "allowedTopics").replace(" ", "").split(","))
        for app in apps:
            if app not in declared_publishing:
                problems.append(
                    f"{component}: publishingScopes leaves out {app}, which may then publish anything"
                )
        if declared_publishing != publishing:
            problems.append(
                f"{component}: publishingScopes {declared_publishing} != helpdesk.topics {publishing}"
            )
        if declared_subscription != subscription:
            problems.append(
                f"{component}: subscriptionScopes {declared_subscription} != helpdesk.topics {subscription}"
            )
        if declared_allowed != allowed["*"]:
            problems.append(
                f"{component}: allowedTopics {sorted(declared_allowed)} != {sorted(allowed['*'])}"
            )
        if not set().union(*declared_subscription.values()) <= declared_allowed:
            problems.append(f"{component}: a subscribed topic is not among allowedTopics")
    return problems
