"""Values made in one module and used in another, followed through main.bicep to where they are made:
the Service Bus host name, the Redis host with its TLS port and clustering, the vault name, the App
Configuration endpoint, the namespace the KEDA rules read; and what the services and azd need wired:
the flags' sentinel key and the placeholder image."""

from __future__ import annotations

from helpdesk.flags import CONFIG_KEY_PREFIX
from tests.support.azure_checks.files import AzureFiles
from tests.support.deployfiles import render

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
    ("knowledgestore", "redisType", "redisType", "redis.outputs.redisType", None, None, None),
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

    # Redis: the host with its TLS port, TLS and Entra ID, the clustering the component speaks (the
    # knowledge store is on the same Redis as the state store).
    for store in ("statestore", "knowledgestore"):
        if files.value(store, "redisHost") != "${redisHost}:${redisPort}":
            problems.append(f"{store}: redisHost must be host:port (`${{redisHost}}:${{redisPort}}`)")
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
    for store in ("statestore", "knowledgestore"):
        for name in ("enableTLS", "useEntraID"):
            if files.value(store, name) != "true":
                problems.append(f"{store}: {name} must be true (Entra ID sign-in needs TLS)")

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
