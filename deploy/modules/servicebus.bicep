// Service Bus: every topic and every subscription of the helpdesk, declared here rather than created by
// the Dapr sidecars at run time.
//
// Why declare them: the durable `pubsub` component runs with disableEntityManagement, so the apps need
// only Send and Listen (never Manage) on the namespace, the entities are reviewable and deleted with the
// resource group, and tests/contract/test_deploy_parity.py compares these lists with helpdesk/topics.py:
// a topic or subscription added in code without Bicep fails the build.
//
// The exception is `broadcast`: its subscriptions are one per replica (consumerID {uuid}) and cannot
// be known ahead, so Dapr creates them (autoDeleteOnIdle removes those of replicas that are gone). For
// that the apps hold Data Owner on the live.* topics only, never on the namespace.
param location string
param tags object
param name string
param appsPrincipalId string
param scalerPrincipalId string

@description('Topics whose subscription backlog a KEDA rule reads (Data Owner for the scaler identity).')
param scaledTopics array

@description('Deliveries before Service Bus moves a message to the subscription\'s own dead-letter queue. Dapr gives up earlier (resiliency retries, then the deadletter.* topic), so this catches only messages no sidecar could hand over at all.')
param maxDeliveryCount int = 10

@description('How long an undelivered message waits on a durable topic.')
param messageTimeToLive string = 'P14D'

// helpdesk.topics.Topic: every event, on the `pubsub` component.
var topics = [
  'chat.requested'
  'chat.analyzed'
  'chat.answered'
  'chat.escalated'
  'handoff.replied'
  'feedback.submitted'
  'kb.updated'
]

// helpdesk.topics.live_topic(t) for t in LIVE_TOPICS: best-effort copies on `broadcast`, short-lived.
var liveTopics = [
  'live.chat.answered'
  'live.chat.escalated'
  'live.kb.updated'
]

// helpdesk.topics.all_dead_letter_topics(): one per (subscriber, topic).
var deadLetterTopics = [
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

// helpdesk.topics.SUBSCRIPTIONS. The subscription name is the app-id: Dapr's default consumerID.
var subscriptions = [
  { topic: 'chat.answered', subscriber: 'gateway' }
  { topic: 'chat.escalated', subscriber: 'gateway' }
  { topic: 'handoff.replied', subscriber: 'gateway' }
  { topic: 'chat.requested', subscriber: 'nlp' }
  { topic: 'chat.analyzed', subscriber: 'dialogue' }
  { topic: 'kb.updated', subscriber: 'dialogue' }
  { topic: 'chat.answered', subscriber: 'evaluator' }
  { topic: 'chat.escalated', subscriber: 'evaluator' }
  { topic: 'handoff.replied', subscriber: 'evaluator' }
  { topic: 'feedback.submitted', subscriber: 'evaluator' }
]

// helpdesk.topics.DEAD_LETTER_RECORDER keeps the operators' listing of every dead-letter topic.
var deadLetterSubscriber = 'evaluator'
var deadLetterSubscriptions = [for t in deadLetterTopics: {
  topic: t
  subscriber: deadLetterSubscriber
}]
var allSubscriptions = concat(subscriptions, deadLetterSubscriptions)

var roles = {
  sender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
  receiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
  owner: '090c5cfd-751d-490a-894a-3ce6f1109419'
}

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: name
  location: location
  tags: tags
  // Standard: topics need it; Premium (about 20x the price) adds private endpoints and isolation.
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

resource durableTopics 'Microsoft.ServiceBus/namespaces/topics@2024-01-01' = [for topic in concat(topics, deadLetterTopics): {
  parent: namespace
  name: topic
  properties: {
    defaultMessageTimeToLive: messageTimeToLive
    maxSizeInMegabytes: 1024
    enableBatchedOperations: true
  }
}]

resource broadcastTopics 'Microsoft.ServiceBus/namespaces/topics@2024-01-01' = [for topic in liveTopics: {
  parent: namespace
  name: topic
  properties: {
    // A live copy only wakes replicas; minutes later it is useless.
    defaultMessageTimeToLive: 'PT5M'
    maxSizeInMegabytes: 1024
    enableBatchedOperations: true
  }
}]

resource durableSubscriptions 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2024-01-01' = [for s in allSubscriptions: {
  name: '${namespace.name}/${s.topic}/${s.subscriber}'
  properties: {
    // Dapr renews the lock while the app works (lockRenewalInSec) and times the handler out at
    // handlerTimeoutInSec (dapr-components.bicep), so one minute only bounds a crashed sidecar's hold.
    lockDuration: 'PT1M'
    maxDeliveryCount: maxDeliveryCount
    deadLetteringOnMessageExpiration: true
    defaultMessageTimeToLive: messageTimeToLive
    enableBatchedOperations: true
  }
  dependsOn: [
    durableTopics
  ]
}]

resource appsSend 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(namespace.id, appsPrincipalId, roles.sender)
  scope: namespace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.sender)
    principalId: appsPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appsReceive 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(namespace.id, appsPrincipalId, roles.receiver)
  scope: namespace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.receiver)
    principalId: appsPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appsManageBroadcast 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (topic, i) in liveTopics: {
  name: guid(broadcastTopics[i].id, appsPrincipalId, roles.owner)
  scope: broadcastTopics[i]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.owner)
    principalId: appsPrincipalId
    principalType: 'ServicePrincipal'
  }
}]

resource scaledTopicRefs 'Microsoft.ServiceBus/namespaces/topics@2024-01-01' existing = [for topic in scaledTopics: {
  parent: namespace
  name: topic
}]

resource scalerReadsBacklog 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (topic, i) in scaledTopics: {
  name: guid(namespace.id, topic, scalerPrincipalId, roles.owner)
  scope: scaledTopicRefs[i]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.owner)
    principalId: scalerPrincipalId
    principalType: 'ServicePrincipal'
  }
  dependsOn: [
    durableTopics
  ]
}]

output name string = namespace.name
output hostName string = '${namespace.name}.servicebus.windows.net'
