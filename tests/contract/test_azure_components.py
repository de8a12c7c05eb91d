"""The Azure deployment checked against what runs it, not only against its own names.

- Every Dapr component of deploy/modules/dapr-components.bicep is compared with the metadata.yaml that
  components-contrib declares for its type, in the version the Dapr runtime in use is built with (the
  pinned one, or DAPR_VERSION; the module is in the Go module cache after `make setup`): every name is
  declared (or read by the runtime itself), every required field is there, literal values have the
  declared type and allowed values.
- Values made in one module and used in another are followed through main.bicep to where they are
  made: the Service Bus host name, the Redis host with its TLS port and clustering, the vault name, the
  App Configuration endpoint, the namespace the KEDA rules read.
- Role ids and the Redis access policy are pinned; topic scopes are derived from helpdesk/topics.py;
  the flags' sentinel key and the placeholder image are wired as the services and azd need them.

Each check also runs on copies of the Bicep changed in memory (`MUTATIONS`): every mistake the review
found (and a few more) must make it fail.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from helpdesk.flags import CONFIG_KEY_PREFIX
from helpdesk.settings import ServiceSettings
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
from tests.support.deployfiles import (
    DEPLOY_DIR,
    bicep_files,
    bicep_text,
    components_contrib_dir,
    components_contrib_version,
    dapr_module_dir,
    render,
    runtime_dapr_version,
)

RUNTIME = runtime_dapr_version()

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

AZURE_AUTH_KEYS = (
    "Certificate",
    "CertificateFile",
    "CertificatePassword",
    "ClientID",
    "ClientSecret",
    "TenantID",
    "AzureEnvironment",
    "AzureAuthMethods",
)
"""The Entra ID settings every component with the built-in `azuread` profile reads
(components-contrib common/authentication/azure/metadata-properties.go)."""


# ---- the Azure files, as written or changed in memory ------------------------------------------------


@dataclass(frozen=True)
class Mutation:
    file: str
    old: str
    new: str
    finds: str
    """A fragment of the problem the checks must report."""

    def __str__(self) -> str:
        return f"{self.file}: {self.old.strip()[:40]} -> {self.new.strip()[:40]}"


@dataclass(frozen=True)
class AzureFiles:
    trees: dict[str, dict[str, Any]]

    @classmethod
    def load(cls, mutation: Mutation | None = None) -> AzureFiles:
        trees = {}
        for path in bicep_files():
            name = str(path.relative_to(DEPLOY_DIR))
            text = path.read_text()
            if mutation is not None and mutation.file == name:
                assert mutation.old in text, f"the mutation no longer applies: {mutation}"
                text = text.replace(mutation.old, mutation.new, 1)
            trees[name] = bicep_text(text)
        return cls(trees)

    def tree(self, name: str) -> dict[str, Any]:
        return self.trees[name]

    @property
    def main(self) -> dict[str, Any]:
        return self.trees["main.bicep"]

    @property
    def dapr(self) -> dict[str, Any]:
        return self.trees["modules/dapr-components.bicep"]

    def components(self) -> dict[str, dict[str, Any]]:
        return {
            r["config"]["name"]: r["config"]["properties"]
            for r in self.dapr["resources"].values()
            if r["type"] == "Microsoft.App/managedEnvironments/daprComponents" and not r["existing"]
        }

    def metadata(self, component: str) -> dict[str, Any]:
        return {item["name"]: item.get("value") for item in self.components()[component]["metadata"]}

    def value(self, component: str, name: str) -> str:
        """A component's metadata value as written (`join(list, ';')` of a variable resolved)."""
        node = self.metadata(component).get(name)
        if isinstance(node, dict) and node.get("function", {}).get("type") == "join":
            parameters = node["function"]["parameters"]
            items = self.dapr["variables"][parameters["input_array"]]["value"]
            return str(parameters["delimiter"]).join(items)
        return render(node)

    def module_params(self, symbol: str) -> dict[str, str]:
        """What main.bicep passes to a module, rendered."""
        module = self.main["modules"][symbol]["config"]
        module = module.get("config", module)
        return {name: render(value) for name, value in module["params"].items()}

    def output(self, name: str, output: str) -> str:
        """An output's expression, rendered; empty when the module has no such output."""
        found = self.tree(name).get("outputs", {}).get(output)
        return render(found["value"]) if found else ""

    def variable(self, name: str, variable: str) -> Any:
        """A variable's value; None when the file has no such variable."""
        return self.tree(name).get("variables", {}).get(variable, {}).get("value")

    def resource(self, name: str, symbol: str) -> dict[str, Any]:
        """A resource's body (inside its condition); empty when the file has no such resource."""
        found = self.tree(name).get("resources", {}).get(symbol)
        if found is None:
            return {}
        config = found["config"]
        return dict(config.get("config", config)) if "condition" in config else dict(config)


# ---- what the runtime declares -----------------------------------------------------------------------


@dataclass(frozen=True)
class Declared:
    """What components-contrib declares for one component type (its metadata.yaml)."""

    component_type: str
    status: str
    fields: dict[str, dict[str, Any]]
    required: frozenset[str]
    entra_profile: tuple[dict[str, Any], ...] | None
    """The built-in `azuread` authentication profile's fields; None when the type has no Entra ID sign-in."""


@functools.cache
def azure_auth_names(version: str) -> frozenset[str]:
    source = (
        components_contrib_dir(version) / "common" / "authentication" / "azure" / "metadata-properties.go"
    ).read_text()
    names: set[str] = set()
    for key in AZURE_AUTH_KEYS:
        match = re.search(rf'"{key}":\s*\{{([^}}]*)\}}', source)
        assert match, f"components-contrib no longer declares the Azure auth setting {key}"
        names.update(re.findall(r'"(\w+)"', match.group(1)))
    assert "azureClientId" in names
    return frozenset(names)


@functools.cache
def runtime_names(kind: str, version: str) -> frozenset[str]:
    """Metadata that the Dapr runtime reads itself, not the component (lower case: it compares so)."""
    dapr = dapr_module_dir(version)
    if kind == "pubsub":
        source = (dapr / "pkg" / "scopes" / "scopes.go").read_text()
        names = set(re.findall(r'^\s*\w+\s*=\s*"(\w+)"', source, re.MULTILINE))
        assert {"publishingScopes", "subscriptionScopes", "allowedTopics"} <= names
    elif kind == "state":
        source = (dapr / "pkg" / "components" / "state" / "state_config.go").read_text()
        names = set(re.findall(r'strategyKey\s*=\s*"(\w+)"', source))
        assert names, "the state key prefix setting moved in the Dapr runtime"
    else:
        names = set()
    return frozenset(name.lower() for name in names)


@functools.cache
def declared(component_type: str, version: str) -> Declared:
    path = components_contrib_dir(version).joinpath(*component_type.split(".")) / "metadata.yaml"
    assert path.is_file(), f"components-contrib has no {component_type}"
    doc = yaml.safe_load(path.read_text())
    assert f"{doc['type']}.{doc['name']}" == component_type, path
    fields: dict[str, dict[str, Any]] = {item["name"]: item for item in doc.get("metadata") or []}
    for profile in doc.get("authenticationProfiles") or []:
        for item in profile.get("metadata") or []:
            fields.setdefault(item["name"], item)
    entra: tuple[dict[str, Any], ...] | None = None
    for profile in doc.get("builtinAuthenticationProfiles") or []:
        if profile["name"] == "azuread":
            entra = tuple(profile.get("metadata") or ())
            for item in entra:
                fields.setdefault(item["name"], item)
            for name in azure_auth_names(version):
                fields.setdefault(name, {"name": name, "type": "string"})
    required = frozenset(item["name"] for item in doc.get("metadata") or [] if item.get("required"))
    return Declared(component_type, str(doc.get("status")), fields, required, entra)


# ---- the checks -----------------------------------------------------------------------------------------

_DURATION = re.compile(r"(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+")


def _literals(files: AzureFiles, value: Any) -> list[str] | None:
    """The values a metadata value can take, when the files say: a literal, a parameter's default that
    main.bicep does not override, or a parameter's allowed values. None when it is computed elsewhere."""
    if not isinstance(value, str) or "${" in value:
        return None
    parameters = files.dapr["parameters"]
    if value in parameters:
        spec = parameters[value]
        allowed = [d["argument"] for d in spec.get("decorators", []) if d["type"] == "allowed"]
        if allowed:
            return [str(v) for v in allowed[0]]
        if value not in files.module_params("daprComponents") and "default" in spec:
            return [str(spec["default"])]
        return None
    if value in files.dapr.get("variables", {}):
        return None
    return [value]


def _value_problem(field: dict[str, Any], value: str) -> str | None:
    kind = field.get("type", "string")
    if kind == "number" and not re.fullmatch(r"-?\d+(\.\d+)?", value):
        return "is not a number"
    if kind == "bool" and value.lower() not in ("true", "false"):
        return "is not true or false"
    if kind == "duration" and not _DURATION.fullmatch(value):
        return "is not a duration such as 15s"
    allowed = field.get("allowedValues")
    if allowed and value not in [str(a) for a in allowed]:
        return f"is not one of {allowed}"
    return None


def metadata_problems(files: AzureFiles, version: str = RUNTIME) -> list[str]:
    contrib = components_contrib_version(version)
    problems = []
    for component, properties in files.components().items():
        component_type = properties["componentType"]
        spec = declared(component_type, version)
        items = properties["metadata"]
        names = [item["name"] for item in items]
        where = f"{component} ({component_type}, components-contrib {contrib})"
        runtime = runtime_names(component_type.split(".")[0], version)
        for name in sorted({n for n in names if names.count(n) > 1}):
            problems.append(f"{where}: metadata {name!r} appears twice")
        for name in names:
            if name not in spec.fields and name.lower() not in runtime:
                problems.append(f"{where}: metadata {name!r} is not declared by the component")
        for name in sorted(spec.required - set(names)):
            problems.append(f"{where}: required metadata {name!r} is missing")
        if "azureClientId" in names:
            if spec.entra_profile is None:
                problems.append(f"{where}: the component has no Entra ID sign-in (azuread profile)")
            else:
                profile = [f["name"] for f in spec.entra_profile]
                needed = [f["name"] for f in spec.entra_profile if f.get("required")]
                for name in needed:
                    if name not in names:
                        problems.append(f"{where}: the Entra ID profile requires {name!r}")
                if profile and not needed and not set(profile) & set(names):
                    problems.append(f"{where}: the Entra ID profile needs one of {profile}")
        for item in items:
            field = spec.fields.get(item["name"])
            values = _literals(files, item.get("value"))
            if field is None or values is None:
                continue
            for value in values:
                wrong = _value_problem(field, value)
                if wrong:
                    problems.append(f"{where}: {item['name']} = {value!r} {wrong}")
    return problems


WIRING = [
    # (component, metadata, value in dapr-components.bicep, main's argument, module, output, made as)
    (
        "pubsub",
        "namespaceName",
        "serviceBusHostName",
        "messaging.outputs.hostName",
        "modules/servicebus.bicep",
        "hostName",
        "${namespace.name}.servicebus.windows.net",
    ),
    (
        "broadcast",
        "namespaceName",
        "serviceBusHostName",
        "messaging.outputs.hostName",
        "modules/servicebus.bicep",
        "hostName",
        "${namespace.name}.servicebus.windows.net",
    ),
    ("statestore", "redisType", "redisType", "redis.outputs.redisType", None, None, None),
    (
        "secretstore",
        "vaultName",
        "keyVaultName",
        "keyVault.outputs.name",
        "modules/keyvault.bicep",
        "name",
        "vault.name",
    ),
    (
        "configstore",
        "host",
        "appConfigurationEndpoint",
        "appConfig.outputs.endpoint",
        "modules/appconfig.bicep",
        "endpoint",
        "store.properties.endpoint",
    ),
]


def wiring_problems(files: AzureFiles) -> list[str]:
    problems = []
    passed = files.module_params("daprComponents")
    for component, name, value, argument, module, output, made in WIRING:
        found = files.value(component, name)
        if found != value:
            problems.append(f"{component}: {name} is {found!r}, not the parameter {value}")
            continue
        if passed.get(value) != argument:
            problems.append(f"main.bicep passes {value} = {passed.get(value)!r}, not {argument}")
        if module and output and files.output(module, output) != made:
            problems.append(f"{module}: output {output} is {files.output(module, output)!r}, not {made}")

    # Redis: the host with its TLS port, TLS and Entra ID, the clustering the component speaks.
    if files.value("statestore", "redisHost") != "${redisHost}:${redisPort}":
        problems.append("statestore: redisHost must be host:port (`${redisHost}:${redisPort}`)")
    for name, argument in (("redisHost", "redis.outputs.hostName"), ("redisPort", "redis.outputs.port")):
        if passed.get(name) != argument:
            problems.append(f"main.bicep passes {name} = {passed.get(name)!r}, not {argument}")
    port = files.output("modules/redis.bicep", "port")
    if "cache.properties.sslPort" not in port or "managedDatabase.properties.port" not in port:
        problems.append(f"redis.bicep: output port is {port!r}, not the offering's TLS port")
    database = files.resource("modules/redis.bicep", "managedDatabase").get("properties", {})
    if database.get("port") != 10000 or database.get("clientProtocol") != "Encrypted":
        problems.append("redis.bicep: the Azure Managed Redis database must take TLS on port 10000")
    if render(database.get("clusteringPolicy")) != "managedClustering":
        problems.append(
            "redis.bicep: the database's clusteringPolicy must be the managedClustering parameter"
        )
    redis_type = files.output("modules/redis.bicep", "redisType")
    if "managedClustering" not in redis_type or "OSSCluster" not in redis_type:
        problems.append(f"redis.bicep: output redisType {redis_type!r} does not follow the clustering policy")
    for name in ("enableTLS", "useEntraID"):
        if files.value("statestore", name) != "true":
            problems.append(f"statestore: {name} must be true (Entra ID sign-in needs TLS)")

    # KEDA's azure-servicebus scaler wants the namespace's name; the FQDN is the Dapr component's.
    if render(files.variable("main.bicep", "sbNamespace") or "") != "messaging.outputs.name":
        problems.append(
            "main.bicep: the KEDA namespace (sbNamespace) must be the namespace name, not its FQDN"
        )
    if files.output("modules/servicebus.bicep", "name") != "namespace.name":
        problems.append("servicebus.bicep: output name must be the namespace's name")
    for module in files.main["modules"].values():
        for rule in module["config"].get("params", {}).get("scaleRules", []) or []:
            custom = rule.get("custom") if isinstance(rule, dict) else None
            if (
                custom
                and custom.get("type") == "azure-servicebus"
                and render(custom["metadata"].get("namespace")) != "sbNamespace"
            ):
                problems.append(f"KEDA rule {rule['name']}: namespace must be sbNamespace")
    return problems


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


def flags_problems(files: AzureFiles) -> list[str]:
    problems = []
    if "subscribePollInterval" not in files.metadata("configstore"):
        problems.append("configstore: no subscribePollInterval, so the sentinel is polled once a day")
    env = {item["name"]: render(item["value"]) for item in files.variable("main.bicep", "commonEnv") or []}
    sentinel_env = "HELPDESK_" + "flags_sentinel_key".upper()
    if env.get(sentinel_env) != "flagsSentinelKey":
        problems.append(f"main.bicep: the services get no {sentinel_env} (flags would be read key by key)")
    key = files.variable("main.bicep", "flagsSentinelKey")
    if not key or key.startswith(CONFIG_KEY_PREFIX):
        problems.append(f"main.bicep: the sentinel key {key!r} must exist and not be a flag key")
    if render(files.main["outputs"].get(sentinel_env, {}).get("value")) != "flagsSentinelKey":
        problems.append(f"main.bicep: no output {sentinel_env} for the azd hooks")
    return problems


def placeholder_problems(files: AzureFiles) -> list[str]:
    problems = []
    app = "modules/container-app.bicep"
    image = files.variable(app, "placeholderImage") or ""
    if image.endswith(":latest") or ":" not in image.rsplit("/", 1)[-1]:
        problems.append(f"container-app.bicep: the placeholder {image} must be a pinned tag")
    port = {item["name"]: render(item["value"]) for item in files.variable(app, "placeholderEnv") or []}
    if port.get("WHOAMI_PORT_NUMBER") != "string(targetPort)":
        problems.append("container-app.bicep: the placeholder must listen on targetPort (WHOAMI_PORT_NUMBER)")
    container = files.resource(app, "app")["properties"]["template"]["containers"][0]
    if render(container["image"]) != "empty(image) ? placeholderImage : image":
        problems.append("container-app.bicep: the placeholder must run only while no image is deployed")
    if render(container["env"]) != "empty(image) ? concat(env, placeholderEnv) : env":
        problems.append("container-app.bicep: the placeholder's port setting must go with the placeholder")
    probes = {probe["type"]: probe["httpGet"] for probe in container["probes"]}
    for kind, path in (("Startup", "/healthz"), ("Liveness", "/healthz"), ("Readiness", "/readyz")):
        if (
            probes.get(kind, {}).get("path") != path
            or render(probes.get(kind, {}).get("port")) != "targetPort"
        ):
            problems.append(f"container-app.bicep: the {kind} probe must be {path} on targetPort")
    return problems


CHECKS = [
    metadata_problems,
    wiring_problems,
    role_problems,
    redis_policy_problems,
    scope_problems,
    flags_problems,
    placeholder_problems,
]


def all_problems(files: AzureFiles) -> list[str]:
    return [problem for check in CHECKS for problem in check(files)]


# ---- the files as they are --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files() -> AzureFiles:
    return AzureFiles.load()


def test_every_azure_component_type_is_one_the_runtime_is_built_with(files: AzureFiles) -> None:
    for component, properties in files.components().items():
        spec = declared(properties["componentType"], RUNTIME)
        assert spec.component_type == properties["componentType"], component
        assert properties["version"] == "v1"


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_the_azure_files_pass_every_check(files: AzureFiles, check: Any) -> None:
    assert check(files) == []


def test_the_configuration_store_is_the_alpha_component_the_docs_warn_about(files: AzureFiles) -> None:
    spec = declared(files.components()["configstore"]["componentType"], RUNTIME)
    guide = (DEPLOY_DIR.parent / "docs" / "deploy.md").read_text()
    assert spec.status == "alpha"
    assert "alpha" in guide
    assert "helpdesk.sentinel" in guide


def test_the_services_read_the_sentinel_setting_the_template_sets() -> None:
    assert "flags_sentinel_key" in ServiceSettings.model_fields


def test_the_parameters_file_keeps_azure_managed_redis_the_default() -> None:
    parameters = json.loads((DEPLOY_DIR / "main.parameters.json").read_text())["parameters"]
    assert parameters["redisOffering"]["value"] == "${HELPDESK_REDIS_OFFERING=managed}"


# ---- the checks catch the mistakes ------------------------------------------------------------------

DAPR = "modules/dapr-components.bicep"
MUTATIONS = [
    Mutation(DAPR, "{ name: 'namespaceName'", "{ name: 'namespace'", "'namespace' is not declared"),
    Mutation(DAPR, "{ name: 'vaultName'", "{ name: 'keyVaultName'", "'keyVaultName' is not declared"),
    Mutation(DAPR, "{ name: 'host'", "{ name: 'endpoint'", "'endpoint' is not declared"),
    Mutation(DAPR, "value: '${redisHost}:${redisPort}'", "value: redisHost", "redisHost must be host:port"),
    Mutation(
        "main.bicep",
        "var sbNamespace = messaging.outputs.name",
        "var sbNamespace = messaging.outputs.hostName",
        "KEDA namespace",
    ),
    Mutation(
        "modules/servicebus.bicep",
        "receiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'",
        "receiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e1'",
        "not Azure Service Bus Data Receiver",
    ),
    Mutation(
        "modules/keyvault.bicep",
        "subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.secretsUser)",
        "subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.secretsOfficer)",
        "not Key Vault Secrets User",
    ),
    Mutation(
        "modules/redis.bicep",
        "accessPolicyName: cacheStatePolicy.name",
        "accessPolicyName: 'Data Contributor'",
        "not the helpdesk-state policy",
    ),
    Mutation(
        "modules/redis.bicep",
        "'+@all -@dangerous +info +cluster|info",
        "'+@all -@dangerous +cluster|info",
        "the helpdesk-state access policy is",
    ),
    Mutation(
        "modules/redis.bicep",
        "param offering string = 'managed'",
        "param offering string = 'cache'",
        "default offering",
    ),
    Mutation(
        DAPR, "{ name: 'redisType', value: redisType }", "{ name: 'redisType', value: 'node' }", "redisType"
    ),
    Mutation(
        DAPR,
        "{ name: 'handlerTimeoutInSec', value: '60' }",
        "{ name: 'handlerTimeoutInSec', value: '60s' }",
        "is not a number",
    ),
    Mutation(
        DAPR,
        "{ name: 'enableTLS', value: 'true' }",
        "{ name: 'enableTLS', value: 'yes' }",
        "is not true or false",
    ),
    Mutation(DAPR, "{ name: 'redisType', value: redisType }\n", "", "redisType"),
    Mutation(
        DAPR, "{ name: 'vaultName', value: keyVaultName }\n", "", "required metadata 'vaultName' is missing"
    ),
    Mutation(
        DAPR,
        "'gateway=chat.requested,feedback.submitted,",
        "'gateway=chat.requested,kb.updated,feedback.submitted,",
        "publishingScopes",
    ),
    Mutation(DAPR, "  'gateway='\n", "", "leaves out gateway"),
    Mutation(
        DAPR,
        "'dialogue=live.kb.updated'",
        "'dialogue=live.kb.updated,live.chat.answered'",
        "subscriptionScopes",
    ),
    Mutation(DAPR, "  'live.kb.updated'\n]", "]", "allowedTopics"),
    Mutation(
        DAPR,
        "      { name: 'subscribePollInterval', value: flagsSentinelPollInterval }\n",
        "",
        "subscribePollInterval",
    ),
    Mutation(
        "main.bicep",
        "var flagsSentinelKey = 'helpdesk.sentinel'",
        "var flagsSentinelKey = 'helpdesk.flags.sentinel'",
        "not be a flag key",
    ),
    Mutation(
        "modules/container-app.bicep",
        "{ name: 'WHOAMI_PORT_NUMBER', value: string(targetPort) }",
        "{ name: 'WHOAMI_PORT_NUMBER', value: '80' }",
        "listen on targetPort",
    ),
    Mutation(
        "modules/container-app.bicep",
        "'docker.io/traefik/whoami:v1.11.0'",
        "'mcr.microsoft.com/k8se/quickstart:latest'",
        "pinned tag",
    ),
]


@pytest.mark.parametrize("mutation", MUTATIONS, ids=str)
def test_every_listed_mistake_fails_the_checks(mutation: Mutation) -> None:
    problems = all_problems(AzureFiles.load(mutation))
    assert any(mutation.finds in problem for problem in problems), problems
