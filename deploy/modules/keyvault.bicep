// Key Vault: the secret store (component `secretstore`). RBAC only; the apps may read secrets, the
// person running azd may write them. The secrets themselves are set after provisioning
// (docs/deploy.md): none of them is known to the template, so none passes through a deployment.
param location string
param tags object
param name string
param appsPrincipalId string

@description('Object id of the person or pipeline running azd; gets Secrets Officer to set the secrets. Empty: none.')
param operatorPrincipalId string = ''
param operatorPrincipalType string = 'User'

@description('Purge protection keeps deleted secrets for the retention period even from the owner; turn it on for production (it cannot be turned off again).')
param enablePurgeProtection bool = false

var roles = {
  secretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  secretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_189: a Consumption Container Apps environment reaches Key Vault over its public endpoint (no fixed outbound address, no private endpoint); RBAC and Entra ID guard every read.
  // checkov:skip=CKV_AZURE_109: a deny-by-default firewall would need fixed outbound addresses (NAT gateway, VNet-integrated environment); see docs/deploy.md, "Hardening".
  // checkov:skip=CKV_AZURE_110: purge protection is the parameter enablePurgeProtection: on, `azd down --purge` cannot purge and the same environment name cannot be provisioned again for the retention period; turn it on for production.
  // checkov:skip=CKV_AZURE_42: soft delete is always on; recoverability beyond it is purge protection, see CKV_AZURE_110.
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    enablePurgeProtection: enablePurgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource appsRead 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appsPrincipalId, roles.secretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.secretsUser)
    principalId: appsPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource operatorWrites 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(vault.id, operatorPrincipalId, roles.secretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.secretsOfficer)
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
