// Optional Azure OpenAI: an account with explicit model deployments and capacity. The dialogue and
// evaluator services call it with the apps' managed identity (HELPDESK_GENERATION__AZURE_AUTH=
// managed_identity), so no key exists: local auth is off.
param location string
param tags object
param name string
param appsPrincipalId string

@description('Model deployments: name (the deployment, referenced by the `model` flag), model, version, sku (GlobalStandard or Standard) and capacity (thousands of tokens per minute).')
param deployments array

var openAiUserRole = '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  // checkov:skip=CKV_AZURE_134: a Consumption Container Apps environment reaches Azure OpenAI over its public endpoint; local auth is off, so only Entra ID principals with a role may call it.
  name: name
  location: location
  tags: tags
  kind: 'OpenAI'
  identity: {
    type: 'SystemAssigned'
  }
  sku: {
    name: 'S0'
  }
  properties: {
    customSubDomainName: name
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
  }
}

// One at a time: the service rejects concurrent deployment changes on one account.
@batchSize(1)
resource modelDeployments 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = [for d in deployments: {
  parent: account
  name: d.name
  sku: {
    name: d.sku
    capacity: d.capacity
  }
  properties: {
    model: {
      format: 'OpenAI'
      name: d.model
      version: d.version
    }
    versionUpgradeOption: 'NoAutoUpgrade'
  }
}]

resource appsUse 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appsPrincipalId, openAiUserRole)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', openAiUserRole)
    principalId: appsPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output endpoint string = account.properties.endpoint
output name string = account.name
