// The state store's Redis: TLS only, access keys off, the apps' identity signs in with Entra ID.
//
// Two offerings, one interface (host, port): Azure Cache for Redis (`cache`), which the design names,
// and Azure Managed Redis (`managed`), its successor, for subscriptions where new Azure Cache for Redis
// instances can no longer be created (see docs/deploy.md).
param location string
param tags object
param name string
param appsPrincipalId string

@allowed(['cache', 'managed'])
param offering string = 'cache'

@description('Azure Cache for Redis: Basic C0 (no SLA, no replica) is the low-traffic default; Standard adds a replica.')
@allowed(['Basic', 'Standard', 'Premium'])
param cacheSku string = 'Basic'
param cacheCapacity int = 0

@description('Azure Managed Redis SKU.')
param managedSku string = 'Balanced_B0'

resource cache 'Microsoft.Cache/redis@2024-11-01' = if (offering == 'cache') {
  // checkov:skip=CKV_AZURE_89: a Consumption Container Apps environment reaches Redis over its public endpoint; TLS 1.2, no access keys and Entra ID data access policies guard it. Private endpoints need a VNet-integrated environment (docs/deploy.md, "Hardening").
  name: name
  location: location
  tags: tags
  properties: {
    sku: {
      name: cacheSku
      family: cacheSku == 'Premium' ? 'P' : 'C'
      capacity: cacheCapacity
    }
    enableNonSslPort: false
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    disableAccessKeyAuthentication: true
    redisConfiguration: {
      'aad-enabled': 'true'
      'maxmemory-policy': 'noeviction'
    }
  }
}

resource cacheAccess 'Microsoft.Cache/redis/accessPolicyAssignments@2024-11-01' = if (offering == 'cache') {
  parent: cache
  name: 'helpdesk-apps'
  properties: {
    accessPolicyName: 'Data Contributor'
    objectId: appsPrincipalId
    objectIdAlias: 'helpdesk-apps'
  }
}

resource managed 'Microsoft.Cache/redisEnterprise@2025-04-01' = if (offering == 'managed') {
  name: name
  location: location
  tags: tags
  sku: {
    name: managedSku
  }
  properties: {
    minimumTlsVersion: '1.2'
  }
}

resource managedDatabase 'Microsoft.Cache/redisEnterprise/databases@2025-04-01' = if (offering == 'managed') {
  parent: managed
  name: 'default'
  properties: {
    clientProtocol: 'Encrypted'
    port: 10000
    clusteringPolicy: 'EnterpriseCluster'
    evictionPolicy: 'NoEviction'
    accessKeysAuthentication: 'Disabled'
  }
}

resource managedAccess 'Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments@2025-04-01' = if (offering == 'managed') {
  parent: managedDatabase
  name: 'helpdeskapps'
  properties: {
    accessPolicyName: 'default'
    user: {
      objectId: appsPrincipalId
    }
  }
}

output hostName string = offering == 'cache' ? cache.properties.hostName : managed.properties.hostName
output port int = offering == 'cache' ? cache.properties.sslPort : 10000
