// Container Registry for the four images (`azd deploy` builds and pushes them). Pulls use the apps'
// managed identity (AcrPull); the admin user stays off.
param location string
param tags object
param name string
param appsPrincipalId string

@description('Basic is enough for four small images; Premium adds private endpoints and geo-replication.')
@allowed(['Basic', 'Standard', 'Premium'])
param sku string = 'Basic'

var acrPullRole = '7f951dda-4ed3-4680-a7ca-43fe172d538d'

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  // checkov:skip=CKV_AZURE_139: azd builds in the registry (ACR Tasks) and a Consumption environment pulls over the public endpoint; a private registry needs Premium and a VNet-integrated environment (docs/deploy.md, "Hardening").
  // checkov:skip=CKV_AZURE_166: quarantine is a Premium feature; images are built from pinned bases and linted (hadolint) in CI.
  // checkov:skip=CKV_AZURE_163: vulnerability scanning is Microsoft Defender for Containers, enabled per subscription, not in this template (docs/deploy.md, "Hardening").
  name: name
  location: location
  tags: tags
  sku: {
    name: sku
  }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
    publicNetworkAccess: 'Enabled'
  }
}

resource appsPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, appsPrincipalId, acrPullRole)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPullRole)
    principalId: appsPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output name string = registry.name
output loginServer string = registry.properties.loginServer
