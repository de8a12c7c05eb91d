// The helpdesk on Azure Container Apps, from an empty subscription (`azd up`, docs/deploy.md).
//
// One resource group; one module per concern (modules/). The four services run as container apps with
// Dapr, talking only through the Dapr components of modules/dapr-components.bicep, which carry the
// names and scopes of the local components/. tests/contract/test_deploy_parity.py and
// tests/contract/test_bicep_static.py keep this side in step with the code and the local run.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; part of every resource name and the azd-env-name tag.')
param environmentName string

@minLength(1)
@description('Azure region of every resource (except Azure OpenAI, see openAiLocation).')
param location string

@description('Object id of the person or pipeline running azd (AZURE_PRINCIPAL_ID): may set Key Vault secrets and App Configuration flags. Empty: nobody.')
param principalId string = ''

@allowed(['User', 'ServicePrincipal'])
param principalType string = 'User'

@description('Images pushed by `azd deploy` (SERVICE_<NAME>_IMAGE_NAME); empty on the first provision.')
param gatewayImage string = ''
param nlpImage string = ''
param dialogueImage string = ''
param evaluatorImage string = ''

@description('managed: Azure Managed Redis (the default); cache: Azure Cache for Redis, retiring, and offered to new caches only in tenants that already had one.')
@allowed(['managed', 'cache'])
param redisOffering string = 'managed'

@description('Create an Azure OpenAI account with the deployments below (off: answers come from the FAQ only, or from an OpenAI key in Key Vault).')
param deployOpenAi bool = false

@description('Region of the Azure OpenAI account: model availability and quota differ by region.')
param openAiLocation string = location

@description('Model deployments: deployment name (the `model` flag\'s value), model, version, sku and capacity in thousands of tokens per minute.')
param openAiDeployments array = [
  {
    name: 'gpt-4o-mini'
    model: 'gpt-4o-mini'
    version: '2024-07-18'
    sku: 'GlobalStandard'
    capacity: 30
  }
]

@description('CIDR ranges allowed to reach the evaluator\'s operator API (empty: any address; operator keys are required either way).')
param operatorAllowedIpRanges array = []

// ---- Scaling knobs (docs/deploy.md, "Scaling") ----------------------------------------------------
// The defaults of gatewayCpuUtilization and <app>MessagesPerReplica are what bench.sizing derives from the
// kept measurement (bench/data/sizing-measured.json: CPU per chat, replica sizes, 60 % utilisation, a
// 2 s backlog); tests/contract/test_sizing_defaults.py fails while they differ.
@description('Average CPU use, in percent of a gateway replica\'s vCPU, above which another replica starts (the sizing\'s target utilisation). Every gateway replica pays for every live answer, so CPU, not requests, is what fills one.')
@minValue(1)
@maxValue(100)
param gatewayCpuUtilization int = 60
@description('At least 1: a CPU rule cannot scale to zero, nor start a replica from none.')
@minValue(1)
param gatewayMinReplicas int = 1
param gatewayMaxReplicas int = 10

@description('Active messages (waiting, or held by a sidecar) per replica on a service\'s subscription before another replica starts: what one replica works off in 2 s. At least 32, the messages a sidecar hands its app at once (maxConcurrentHandlers), since a sidecar may hold the smallest of these (maxActiveMessages).')
@minValue(32)
param nlpMessagesPerReplica int = 138
param nlpMinReplicas int = 1
param nlpMaxReplicas int = 10

@description('As nlpMessagesPerReplica, for dialogue on chat.analyzed.')
@minValue(32)
param dialogueMessagesPerReplica int = 63
param dialogueMinReplicas int = 1
param dialogueMaxReplicas int = 10

@description('As nlpMessagesPerReplica, for the evaluator on each of its subscriptions.')
@minValue(32)
param evaluatorMessagesPerReplica int = 197
param evaluatorMinReplicas int = 1
param evaluatorMaxReplicas int = 5

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  application: 'helpdesk'
}
var appPort = 8000

// The App Configuration key whose change makes every sidecar send the whole store to its service (the
// flags follower reads the store whole; docs/deploy.md, "Feature flags"). Not a flag: the services ignore
// keys outside helpdesk.flags.*. scripts/azd-hooks/postprovision.sh creates it.
var flagsSentinelKey = 'helpdesk.sentinel'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    location: location
    tags: tags
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
  }
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    location: location
    tags: tags
    appsIdentityName: '${abbrs.managedIdentityUserAssignedIdentities}apps-${resourceToken}'
    scalerIdentityName: '${abbrs.managedIdentityUserAssignedIdentities}scaler-${resourceToken}'
  }
}

module registry 'modules/registry.bicep' = {
  name: 'registry'
  scope: rg
  params: {
    location: location
    tags: tags
    name: '${abbrs.containerRegistryRegistries}${resourceToken}'
    appsPrincipalId: identity.outputs.appsPrincipalId
  }
}

// The subscriptions the KEDA rules below read; the scaler identity may read exactly their topics.
var scaledTopics = [
  'chat.requested'
  'chat.analyzed'
  'chat.answered'
  'chat.escalated'
  'handoff.replied'
  'feedback.submitted'
]

module messaging 'modules/servicebus.bicep' = {
  name: 'messaging'
  scope: rg
  params: {
    location: location
    tags: tags
    name: '${abbrs.serviceBusNamespaces}${resourceToken}'
    appsPrincipalId: identity.outputs.appsPrincipalId
    scalerPrincipalId: identity.outputs.scalerPrincipalId
    scaledTopics: scaledTopics
  }
}

module redis 'modules/redis.bicep' = {
  name: 'redis'
  scope: rg
  params: {
    location: location
    tags: tags
    name: '${redisOffering == 'managed' ? abbrs.cacheRedisEnterprise : abbrs.cacheRedis}${resourceToken}'
    appsPrincipalId: identity.outputs.appsPrincipalId
    offering: redisOffering
  }
}

module appConfig 'modules/appconfig.bicep' = {
  name: 'appconfig'
  scope: rg
  params: {
    location: location
    tags: tags
    name: '${abbrs.appConfigurationStores}${resourceToken}'
    appsPrincipalId: identity.outputs.appsPrincipalId
    operatorPrincipalId: principalId
    operatorPrincipalType: principalType
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    location: location
    tags: tags
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    appsPrincipalId: identity.outputs.appsPrincipalId
    operatorPrincipalId: principalId
    operatorPrincipalType: principalType
  }
}

module openAi 'modules/openai.bicep' = if (deployOpenAi) {
  name: 'openai'
  scope: rg
  params: {
    location: openAiLocation
    tags: tags
    name: '${abbrs.cognitiveServicesAccounts}${resourceToken}'
    appsPrincipalId: identity.outputs.appsPrincipalId
    deployments: openAiDeployments
  }
}

module environment 'modules/environment.bicep' = {
  name: 'environment'
  scope: rg
  params: {
    location: location
    tags: tags
    name: '${abbrs.appManagedEnvironments}${resourceToken}'
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
  }
}

module daprComponents 'modules/dapr-components.bicep' = {
  name: 'dapr-components'
  scope: rg
  params: {
    environmentName: environment.outputs.name
    identityClientId: identity.outputs.appsClientId
    serviceBusHostName: messaging.outputs.hostName
    redisHost: redis.outputs.hostName
    redisPort: redis.outputs.port
    redisType: redis.outputs.redisType
    appConfigurationEndpoint: appConfig.outputs.endpoint
    keyVaultName: keyVault.outputs.name
    // KEDA counts the messages a sidecar holds locked as active: holding no more than the smallest
    // messageCount, a replica's own held messages never ask for another replica.
    pubsubMaxActiveMessages: min(nlpMessagesPerReplica, dialogueMessagesPerReplica, evaluatorMessagesPerReplica)
  }
}

// ---- The four services -----------------------------------------------------------------------------

var commonEnv = [
  { name: 'HELPDESK_ENVIRONMENT', value: 'azure' }
  { name: 'HELPDESK_LOG_LEVEL', value: 'INFO' }
  // App Configuration bills and throttles per request: poll flags every 30 s, not every 2 s as locally.
  { name: 'HELPDESK_FLAGS_REFRESH_SECONDS', value: '30' }
  { name: 'HELPDESK_FLAGS_SENTINEL_KEY', value: flagsSentinelKey }
  { name: 'AZURE_CLIENT_ID', value: identity.outputs.appsClientId }
]
var modelEnv = deployOpenAi ? [
  { name: 'AZURE_OPENAI_ENDPOINT', value: openAi.outputs.endpoint }
  { name: 'HELPDESK_GENERATION__AZURE_AUTH', value: 'managed_identity' }
] : []

// Backlog scaling: one KEDA azure-servicebus rule per subscription that carries the service's work.
// subscriptionName is the app-id (Dapr's consumerID), topicName one of helpdesk.topics.SUBSCRIPTIONS.
var sbNamespace = messaging.outputs.name
var scalerId = identity.outputs.scalerId

module gateway 'modules/container-app.bicep' = {
  name: 'app-gateway'
  scope: rg
  params: {
    location: location
    tags: tags
    name: '${abbrs.appContainerApps}gateway-${resourceToken}'
    serviceName: 'gateway'
    environmentId: environment.outputs.id
    registryServer: registry.outputs.loginServer
    appsIdentityId: identity.outputs.appsId
    image: gatewayImage
    targetPort: appPort
    external: true
    cpu: '0.25'
    memory: '0.5Gi'
    minReplicas: gatewayMinReplicas
    maxReplicas: gatewayMaxReplicas
    // CPU, not HTTP concurrency: Container Apps counts a rule's "concurrent requests" as the requests of
    // the past 15 s over 15 (a rate), and a gateway replica's CPU per chat grows with the replica count
    // (the live fan-out), so no fixed request figure marks a full replica; its CPU does.
    scaleRules: [
      {
        name: 'cpu-utilisation'
        custom: {
          type: 'cpu'
          metadata: {
            type: 'Utilization'
            value: string(gatewayCpuUtilization)
          }
        }
      }
    ]
    env: commonEnv
  }
  dependsOn: [
    daprComponents
  ]
}

module nlp 'modules/container-app.bicep' = {
  name: 'app-nlp'
  scope: rg
  params: {
    location: location
    tags: tags
    name: '${abbrs.appContainerApps}nlp-${resourceToken}'
    serviceName: 'nlp'
    environmentId: environment.outputs.id
    registryServer: registry.outputs.loginServer
    appsIdentityId: identity.outputs.appsId
    scalerIdentityId: scalerId
    image: nlpImage
    targetPort: appPort
    cpu: '0.5'
    memory: '1Gi'
    minReplicas: nlpMinReplicas
    maxReplicas: nlpMaxReplicas
    scaleRules: [
      {
        name: 'backlog-chat-requested'
        custom: {
          type: 'azure-servicebus'
          identity: scalerId
          metadata: {
            namespace: sbNamespace
            topicName: 'chat.requested'
            subscriptionName: 'nlp'
            messageCount: string(nlpMessagesPerReplica)
          }
        }
      }
    ]
    env: commonEnv
  }
  dependsOn: [
    daprComponents
  ]
}

module dialogue 'modules/container-app.bicep' = {
  name: 'app-dialogue'
  scope: rg
  params: {
    location: location
    tags: tags
    name: '${abbrs.appContainerApps}dialogue-${resourceToken}'
    serviceName: 'dialogue'
    environmentId: environment.outputs.id
    registryServer: registry.outputs.loginServer
    appsIdentityId: identity.outputs.appsId
    scalerIdentityId: scalerId
    image: dialogueImage
    targetPort: appPort
    cpu: '0.5'
    memory: '1Gi'
    minReplicas: dialogueMinReplicas
    maxReplicas: dialogueMaxReplicas
    scaleRules: [
      {
        name: 'backlog-chat-analyzed'
        custom: {
          type: 'azure-servicebus'
          identity: scalerId
          metadata: {
            namespace: sbNamespace
            topicName: 'chat.analyzed'
            subscriptionName: 'dialogue'
            messageCount: string(dialogueMessagesPerReplica)
          }
        }
      }
    ]
    env: concat(commonEnv, modelEnv)
  }
  dependsOn: [
    daprComponents
  ]
}

module evaluator 'modules/container-app.bicep' = {
  name: 'app-evaluator'
  scope: rg
  params: {
    location: location
    tags: tags
    name: '${abbrs.appContainerApps}evaluator-${resourceToken}'
    serviceName: 'evaluator'
    environmentId: environment.outputs.id
    registryServer: registry.outputs.loginServer
    appsIdentityId: identity.outputs.appsId
    scalerIdentityId: scalerId
    image: evaluatorImage
    targetPort: appPort
    external: true
    allowedIpRanges: operatorAllowedIpRanges
    cpu: '0.5'
    memory: '1Gi'
    minReplicas: evaluatorMinReplicas
    maxReplicas: evaluatorMaxReplicas
    scaleRules: [
      {
        name: 'backlog-chat-answered'
        custom: {
          type: 'azure-servicebus'
          identity: scalerId
          metadata: {
            namespace: sbNamespace
            topicName: 'chat.answered'
            subscriptionName: 'evaluator'
            messageCount: string(evaluatorMessagesPerReplica)
          }
        }
      }
      {
        name: 'backlog-chat-escalated'
        custom: {
          type: 'azure-servicebus'
          identity: scalerId
          metadata: {
            namespace: sbNamespace
            topicName: 'chat.escalated'
            subscriptionName: 'evaluator'
            messageCount: string(evaluatorMessagesPerReplica)
          }
        }
      }
      {
        name: 'backlog-handoff-replied'
        custom: {
          type: 'azure-servicebus'
          identity: scalerId
          metadata: {
            namespace: sbNamespace
            topicName: 'handoff.replied'
            subscriptionName: 'evaluator'
            messageCount: string(evaluatorMessagesPerReplica)
          }
        }
      }
      {
        name: 'backlog-feedback-submitted'
        custom: {
          type: 'azure-servicebus'
          identity: scalerId
          metadata: {
            namespace: sbNamespace
            topicName: 'feedback.submitted'
            subscriptionName: 'evaluator'
            messageCount: string(evaluatorMessagesPerReplica)
          }
        }
      }
    ]
    env: concat(commonEnv, modelEnv)
  }
  dependsOn: [
    daprComponents
  ]
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = registry.outputs.loginServer
output AZURE_CONTAINER_REGISTRY_NAME string = registry.outputs.name
output AZURE_CONTAINER_APPS_ENVIRONMENT_NAME string = environment.outputs.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_APP_CONFIGURATION_NAME string = appConfig.outputs.name
output AZURE_APP_CONFIGURATION_ENDPOINT string = appConfig.outputs.endpoint
output HELPDESK_FLAGS_SENTINEL_KEY string = flagsSentinelKey
output HELPDESK_REDIS_OFFERING string = redisOffering
output AZURE_SERVICE_BUS_NAMESPACE string = messaging.outputs.name
output AZURE_OPENAI_ENDPOINT string = deployOpenAi ? openAi.outputs.endpoint : ''
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output SERVICE_GATEWAY_NAME string = gateway.outputs.name
output SERVICE_GATEWAY_URI string = 'https://${gateway.outputs.fqdn}'
output SERVICE_NLP_NAME string = nlp.outputs.name
output SERVICE_DIALOGUE_NAME string = dialogue.outputs.name
output SERVICE_EVALUATOR_NAME string = evaluator.outputs.name
output SERVICE_EVALUATOR_URI string = 'https://${evaluator.outputs.fqdn}'
