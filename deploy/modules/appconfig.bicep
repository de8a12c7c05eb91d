// App Configuration: the configuration store behind the feature flags (component `configstore`).
//
// It starts empty on purpose: every image carries flags/defaults.json, which applies to any flag the
// store does not hold, so a provision never overwrites a flag an operator has changed. A flag is
// changed live by writing key `helpdesk.flags.<name>` (docs/deploy.md).
param location string
param tags object
param name string
param appsPrincipalId string

@description('Object id of the person or pipeline running azd; gets Data Owner to change flags. Empty: none.')
param operatorPrincipalId string = ''
param operatorPrincipalType string = 'User'

@description('The free tier allows 1,000 requests a day, fewer than the sidecars\' flag reads; standard is needed.')
@allowed(['standard', 'premium'])
param sku string = 'standard'

var roles = {
  dataReader: '516239f1-63e1-4d78-a4de-a74fb236a071'
  dataOwner: '5ae67dd6-50cb-40e7-96ff-dc2bfa4b606b'
}

resource store 'Microsoft.AppConfiguration/configurationStores@2024-05-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: sku
  }
  properties: {
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
    softDeleteRetentionInDays: 7
    enablePurgeProtection: false
  }
}

resource appsRead 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(store.id, appsPrincipalId, roles.dataReader)
  scope: store
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.dataReader)
    principalId: appsPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource operatorOwns 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(store.id, operatorPrincipalId, roles.dataOwner)
  scope: store
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.dataOwner)
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
  }
}

output name string = store.name
output endpoint string = store.properties.endpoint
