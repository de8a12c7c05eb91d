// The Dapr components of the environment: the same names and scopes as components/*.yaml, Azure
// services behind them, every one authenticated with the apps' managed identity (azureClientId), and
// the resiliency policies of components/resiliency.yaml. tests/contract/test_deploy_parity.py compares
// the two sides: names, type mapping, scopes, the metadata that carries the same intent, resiliency.
//
//   name         local (components/)         here
//   pubsub       pubsub.redis                pubsub.azure.servicebus.topics (entities from servicebus.bicep)
//   broadcast    pubsub.redis, {uuid}        pubsub.azure.servicebus.topics, {uuid}, idle subscriptions deleted
//   statestore   state.redis                 state.redis on Azure Managed Redis (or Azure Cache for Redis), TLS, Entra ID
//   knowledgestore state.redis, keyPrefix name  the same Redis as statestore; keys shared by dialogue and the evaluator
//   configstore  configuration.redis         configuration.azure.appconfig (an alpha component), sentinel key
//   secretstore  secretstores.local.file     secretstores.azure.keyvault
//
// Every metadata name is one that components-contrib's metadata.yaml of the runtime declares for the
// component (or one the Dapr runtime reads itself: topic scopes, keyPrefix);
// tests/contract/test_azure_components.py checks names, required fields and values against them.
param environmentName string
param identityClientId string

@description('The namespace\'s fully qualified host name (<namespace>.servicebus.windows.net), as namespaceName expects.')
param serviceBusHostName string

@description('Host name of the Redis endpoint, without the port.')
param redisHost string

@description('The TLS port: 10000 on Azure Managed Redis, 6380 on Azure Cache for Redis.')
param redisPort int

@description('Dapr state.redis redisType for the offering\'s clustering (redis.bicep).')
@allowed(['node', 'cluster'])
param redisType string = 'node'

param appConfigurationEndpoint string
param keyVaultName string

@description('How often each sidecar polls the App Configuration sentinel key for a change (the component\'s default is 24 hours).')
param flagsSentinelPollInterval string = '15s'

@description('Seconds before Service Bus deletes the subscription of a broadcast replica that is gone (minimum 300).')
@minValue(300)
param broadcastIdleSeconds int = 900

@description('Messages of one subscription a sidecar may hold locked, handed out or buffered (pubsub\'s maxActiveMessages). KEDA\'s azure-servicebus rules count them among the active messages, so main.bicep passes the smallest messageCount: a replica\'s own held messages then never ask for another replica. At least maxConcurrentHandlers (32), as the component asks.')
@minValue(32)
param pubsubMaxActiveMessages int

resource environment 'Microsoft.App/managedEnvironments@2024-10-02-preview' existing = {
  name: environmentName
}

// Topic scopes (Dapr's publishingScopes, subscriptionScopes and allowedTopics), from helpdesk/topics.py:
// each app may publish only the topics it owns (PUBLICATIONS) and the dead-letter topics of its own
// subscriptions (its sidecar publishes those for it, under the same check), and subscribe only to what
// it consumes (SUBSCRIPTIONS; the dead-letter recorder to every dead-letter topic). An app listed with
// no topics may publish none: an app left out of publishingScopes could publish anything.
var pubsubPublishingScopes = [
  'gateway=chat.requested,feedback.submitted,handoff.replied,deadletter.gateway.chat.answered,deadletter.gateway.chat.escalated,deadletter.gateway.handoff.replied'
  'nlp=chat.analyzed,deadletter.nlp.chat.requested'
  'dialogue=chat.answered,chat.escalated,deadletter.dialogue.chat.analyzed,deadletter.dialogue.kb.updated'
  'evaluator=kb.updated,deadletter.evaluator.chat.answered,deadletter.evaluator.chat.escalated,deadletter.evaluator.handoff.replied,deadletter.evaluator.feedback.submitted'
]
var pubsubSubscriptionScopes = [
  'gateway=chat.answered,chat.escalated,handoff.replied'
  'nlp=chat.requested'
  'dialogue=chat.analyzed,kb.updated'
  'evaluator=chat.answered,chat.escalated,handoff.replied,feedback.submitted,deadletter.gateway.chat.answered,deadletter.gateway.chat.escalated,deadletter.gateway.handoff.replied,deadletter.nlp.chat.requested,deadletter.dialogue.chat.analyzed,deadletter.dialogue.kb.updated,deadletter.evaluator.chat.answered,deadletter.evaluator.chat.escalated,deadletter.evaluator.handoff.replied,deadletter.evaluator.feedback.submitted'
]
var pubsubTopics = [
  'chat.requested'
  'chat.analyzed'
  'chat.answered'
  'chat.escalated'
  'handoff.replied'
  'feedback.submitted'
  'kb.updated'
  'deadletter.gateway.chat.answered'
  'deadletter.gateway.chat.escalated'
  'deadletter.gateway.handoff.replied'
  'deadletter.nlp.chat.requested'
  'deadletter.dialogue.chat.analyzed'
  'deadletter.dialogue.kb.updated'
  'deadletter.evaluator.chat.answered'
  'deadletter.evaluator.chat.escalated'
  'deadletter.evaluator.handoff.replied'
  'deadletter.evaluator.feedback.submitted'
]
var broadcastPublishingScopes = [
  'gateway='
  'dialogue=live.chat.answered,live.chat.escalated'
  'evaluator=live.kb.updated'
]
var broadcastSubscriptionScopes = [
  'gateway=live.chat.answered,live.chat.escalated'
  'dialogue=live.kb.updated'
  'evaluator=live.kb.updated'
]
var broadcastTopics = [
  'live.chat.answered'
  'live.chat.escalated'
  'live.kb.updated'
]

resource pubsub 'Microsoft.App/managedEnvironments/daprComponents@2024-10-02-preview' = {
  parent: environment
  name: 'pubsub'
  properties: {
    componentType: 'pubsub.azure.servicebus.topics'
    version: 'v1'
    ignoreErrors: false
    initTimeout: '30s'
    metadata: [
      { name: 'namespaceName', value: serviceBusHostName }
      { name: 'azureClientId', value: identityClientId }
      // Topics and subscriptions come from servicebus.bicep; the sidecars need no Manage right.
      { name: 'disableEntityManagement', value: 'true' }
      // Same intent as pubsub.yaml: concurrency 32, processingTimeout 60s. The messages held (queueDepth
      // 100 locally) follow the KEDA thresholds here instead: see pubsubMaxActiveMessages.
      { name: 'maxActiveMessages', value: string(pubsubMaxActiveMessages) }
      { name: 'maxConcurrentHandlers', value: '32' }
      { name: 'handlerTimeoutInSec', value: '60' }
      { name: 'lockRenewalInSec', value: '20' }
      { name: 'publishingScopes', value: join(pubsubPublishingScopes, ';') }
      { name: 'subscriptionScopes', value: join(pubsubSubscriptionScopes, ';') }
      { name: 'allowedTopics', value: join(pubsubTopics, ',') }
    ]
    scopes: [
      'gateway'
      'nlp'
      'dialogue'
      'evaluator'
    ]
  }
}

resource broadcast 'Microsoft.App/managedEnvironments/daprComponents@2024-10-02-preview' = {
  parent: environment
  name: 'broadcast'
  properties: {
    componentType: 'pubsub.azure.servicebus.topics'
    version: 'v1'
    ignoreErrors: false
    initTimeout: '30s'
    metadata: [
      { name: 'namespaceName', value: serviceBusHostName }
      { name: 'azureClientId', value: identityClientId }
      // One subscription per replica, created by the sidecar (Data Owner on the live.* topics only) and
      // deleted by Service Bus once its replica has been gone for broadcastIdleSeconds.
      { name: 'consumerID', value: '{uuid}' }
      { name: 'autoDeleteOnIdleInSec', value: string(broadcastIdleSeconds) }
      { name: 'defaultMessageTimeToLiveInSec', value: '300' }
      { name: 'maxDeliveryCount', value: '3' }
      // Same intent as broadcast.yaml: concurrency 32, processingTimeout 30s.
      { name: 'maxConcurrentHandlers', value: '32' }
      { name: 'handlerTimeoutInSec', value: '30' }
      { name: 'publishingScopes', value: join(broadcastPublishingScopes, ';') }
      { name: 'subscriptionScopes', value: join(broadcastSubscriptionScopes, ';') }
      { name: 'allowedTopics', value: join(broadcastTopics, ',') }
    ]
    scopes: [
      'gateway'
      'dialogue'
      'evaluator'
    ]
  }
}

resource statestore 'Microsoft.App/managedEnvironments/daprComponents@2024-10-02-preview' = {
  parent: environment
  name: 'statestore'
  properties: {
    componentType: 'state.redis'
    version: 'v1'
    ignoreErrors: false
    initTimeout: '30s'
    metadata: [
      // The port belongs in redisHost: without it state.redis dials 6379, where neither offering listens.
      { name: 'redisHost', value: '${redisHost}:${redisPort}' }
      { name: 'redisType', value: redisType }
      { name: 'enableTLS', value: 'true' }
      { name: 'useEntraID', value: 'true' }
      { name: 'azureClientId', value: identityClientId }
      { name: 'keyPrefix', value: 'appid' }
    ]
    scopes: [
      'gateway'
      'dialogue'
      'evaluator'
    ]
  }
}

// The published knowledge base (claim check, helpdesk/knowledge/store.py): the evaluator writes it,
// dialogue reads it. Same Redis and sign-in as statestore; keys prefixed with the component's name so
// both apps see the same keys (components/knowledgestore.yaml).
resource knowledgestore 'Microsoft.App/managedEnvironments/daprComponents@2024-10-02-preview' = {
  parent: environment
  name: 'knowledgestore'
  properties: {
    componentType: 'state.redis'
    version: 'v1'
    ignoreErrors: false
    initTimeout: '30s'
    metadata: [
      { name: 'redisHost', value: '${redisHost}:${redisPort}' }
      { name: 'redisType', value: redisType }
      { name: 'enableTLS', value: 'true' }
      { name: 'useEntraID', value: 'true' }
      { name: 'azureClientId', value: identityClientId }
      { name: 'keyPrefix', value: 'name' }
    ]
    scopes: [
      'dialogue'
      'evaluator'
    ]
  }
}

resource configstore 'Microsoft.App/managedEnvironments/daprComponents@2024-10-02-preview' = {
  parent: environment
  name: 'configstore'
  properties: {
    componentType: 'configuration.azure.appconfig'
    version: 'v1'
    ignoreErrors: false
    initTimeout: '30s'
    metadata: [
      { name: 'host', value: appConfigurationEndpoint }
      { name: 'azureClientId', value: identityClientId }
      // The services subscribe with the sentinel key (HELPDESK_FLAGS_SENTINEL_KEY); the component polls
      // it this often and sends the whole store when it changes.
      { name: 'subscribePollInterval', value: flagsSentinelPollInterval }
    ]
    scopes: [
      'gateway'
      'nlp'
      'dialogue'
      'evaluator'
    ]
  }
}

resource secretstore 'Microsoft.App/managedEnvironments/daprComponents@2024-10-02-preview' = {
  parent: environment
  name: 'secretstore'
  properties: {
    componentType: 'secretstores.azure.keyvault'
    version: 'v1'
    ignoreErrors: false
    initTimeout: '30s'
    metadata: [
      { name: 'vaultName', value: keyVaultName }
      { name: 'azureClientId', value: identityClientId }
    ]
    scopes: [
      'gateway'
      'dialogue'
      'evaluator'
    ]
  }
}

// components/resiliency.yaml, per component. Inbound = sidecar to app (deliveries), outbound = sidecar
// to the Azure service (publish, state).
resource pubsubResiliency 'Microsoft.App/managedEnvironments/daprComponents/resiliencyPolicies@2024-10-02-preview' = {
  parent: pubsub
  name: 'helpdesk'
  properties: {
    inboundPolicy: {
      timeoutPolicy: { responseTimeoutInSeconds: 30 }
      httpRetryPolicy: {
        maxRetries: 10
        retryBackOff: { initialDelayInMilliseconds: 200, maxIntervalInMilliseconds: 5000 }
      }
    }
    outboundPolicy: {
      timeoutPolicy: { responseTimeoutInSeconds: 5 }
      httpRetryPolicy: {
        maxRetries: 3
        retryBackOff: { initialDelayInMilliseconds: 100, maxIntervalInMilliseconds: 1000 }
      }
      circuitBreakerPolicy: { consecutiveErrors: 5, intervalInSeconds: 10, timeoutInSeconds: 15 }
    }
  }
}

resource broadcastResiliency 'Microsoft.App/managedEnvironments/daprComponents/resiliencyPolicies@2024-10-02-preview' = {
  parent: broadcast
  name: 'helpdesk'
  properties: {
    outboundPolicy: {
      timeoutPolicy: { responseTimeoutInSeconds: 5 }
      circuitBreakerPolicy: { consecutiveErrors: 5, intervalInSeconds: 10, timeoutInSeconds: 15 }
    }
  }
}

// A timeout only: etag mismatches and first-write refusals are normal answers for the services'
// optimistic concurrency, which they retry themselves; Dapr must neither retry them nor count them
// towards a breaker.
resource statestoreResiliency 'Microsoft.App/managedEnvironments/daprComponents/resiliencyPolicies@2024-10-02-preview' = {
  parent: statestore
  name: 'helpdesk'
  properties: {
    outboundPolicy: {
      timeoutPolicy: { responseTimeoutInSeconds: 2 }
    }
  }
}

// Bulk reads and writes of items take longer than a single key: a longer timeout, still no retries.
resource knowledgestoreResiliency 'Microsoft.App/managedEnvironments/daprComponents/resiliencyPolicies@2024-10-02-preview' = {
  parent: knowledgestore
  name: 'helpdesk'
  properties: {
    outboundPolicy: {
      timeoutPolicy: { responseTimeoutInSeconds: 10 }
    }
  }
}
