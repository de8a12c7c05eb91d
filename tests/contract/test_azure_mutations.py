"""Each check of the Azure files runs on copies of the Bicep changed in memory: every listed mistake (a
wrong metadata name, role, policy, scope or wiring) must make the checks fail with the problem it is."""

from __future__ import annotations

import pytest

from tests.support.azure_checks import AzureFiles, Mutation, all_problems

DAPR = "modules/dapr-components.bicep"
KNOWLEDGE_STORE = (
    "  name: 'knowledgestore'\n  properties: {\n    componentType: 'state.redis'\n    version: 'v1'\n"
    "    ignoreErrors: false\n    initTimeout: '30s'\n    metadata: [\n"
)
"""The start of the knowledge store's component, so a mutation changes its metadata, not the state store's."""
KNOWLEDGE_STORE_HOST = "      { name: 'redisHost', value: '${redisHost}:${redisPort}' }\n"

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
        DAPR, "{ name: 'keyPrefix', value: 'name' }", "{ name: 'keyprefix_', value: 'name' }", "keyprefix_"
    ),
    Mutation(
        DAPR,
        KNOWLEDGE_STORE + KNOWLEDGE_STORE_HOST,
        KNOWLEDGE_STORE + "      { name: 'redisHost', value: redisHost }\n",
        "knowledgestore: redisHost must be host:port",
    ),
    Mutation(
        DAPR,
        KNOWLEDGE_STORE + KNOWLEDGE_STORE_HOST + "      { name: 'redisType', value: redisType }\n"
        "      { name: 'enableTLS', value: 'true' }",
        KNOWLEDGE_STORE + KNOWLEDGE_STORE_HOST + "      { name: 'redisType', value: redisType }\n"
        "      { name: 'enableTLS', value: 'false' }",
        "knowledgestore: enableTLS must be true",
    ),
    Mutation(
        DAPR,
        "      { name: 'keyPrefix', value: 'name' }\n",
        "      { name: 'keyPrefix', value: 'name' }\n      { name: 'useEntraID', value: 'true' }\n",
        "'useEntraID' appears twice",
    ),
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
