// The Dapr components of the environment: the same names and scopes as components/*.yaml, Azure
// services behind them, every one authenticated with the apps' managed identity (azureClientId), and
// the resiliency policies of components/resiliency.yaml. tests/contract/test_deploy_parity.py compares
// the two sides: names, type mapping, scopes, the metadata that carries the same intent, resiliency.
//
//   name         local (components/)         here
//   pubsub       pubsub.redis                pubsub.azure.servicebus.topics (entities from servicebus.bicep)
//   broadcast    pubsub.redis, {uuid}        pubsub.azure.servicebus.topics, {uuid}, idle subscriptions deleted
//   statestore   state.redis                 state.redis on Azure (Managed) Cache for Redis, TLS, Entra ID
//   configstore  configuration.redis         configuration.azure.appconfig
//   secretstore  secretstores.local.file     secretstores.azure.keyvault
param environmentName string
param identityClientId string
param serviceBusHostName string
param redisHost string
param redisPort int
param appConfigurationEndpoint string
param keyVaultName string

@description('Seconds before Service Bus deletes the subscription of a broadcast replica that is gone (minimum 300).')
@minValue(300)
param broadcastIdleSeconds int = 900

resource environment 'Microsoft.App/managedEnvironments@2024-10-02-preview' existing = {
  name: environmentName
}

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
      // Same intent as pubsub.yaml: queueDepth 100, concurrency 32, processingTimeout 60s.
      { name: 'maxActiveMessages', value: '100' }
      { name: 'maxConcurrentHandlers', value: '32' }
      { name: 'handlerTimeoutInSec', value: '60' }
      { name: 'lockRenewalInSec', value: '20' }
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
      { name: 'redisHost', value: '${redisHost}:${redisPort}' }
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
