// User-assigned managed identities. Role assignments are made next to the resource they grant access
// to (registry.bicep, servicebus.bicep, redis.bicep, appconfig.bicep, keyvault.bicep, openai.bicep),
// each at the narrowest scope that works.
//
// - apps: what the four container apps and their Dapr sidecars authenticate as (image pulls, Service
//   Bus send/receive, Redis data access, App Configuration read, Key Vault secret read, Azure OpenAI).
// - scaler: what the KEDA azure-servicebus rules authenticate as. Reading a subscription's message
//   count needs the Manage right (Service Bus Data Owner), which the apps themselves never need on the
//   durable topics; a separate identity keeps that grant visible and limited to the topics scaled on.
//   It is attached to the apps (a scale rule can only use an identity of its app), so this separates
//   the purpose and the audit trail, not the trust boundary.
param location string
param tags object
param appsIdentityName string
param scalerIdentityName string

resource apps 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: appsIdentityName
  location: location
  tags: tags
}

resource scaler 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: scalerIdentityName
  location: location
  tags: tags
}

output appsId string = apps.id
output appsClientId string = apps.properties.clientId
output appsPrincipalId string = apps.properties.principalId
output scalerId string = scaler.id
output scalerPrincipalId string = scaler.properties.principalId
