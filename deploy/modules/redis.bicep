// The state store's Redis: TLS only, access keys off, the apps' identity signs in with Entra ID.
//
// Two offerings, one interface (host, port, redisType for the Dapr component):
// - `managed` (the default): Azure Managed Redis (Microsoft.Cache/redisEnterprise), TLS on port 10000.
// - `cache`: Azure Cache for Redis, which Microsoft is retiring; new caches are only for tenants that
//   already had one, so an empty subscription cannot create it (docs/deploy.md, "Redis").
//
// Whatever the offering, the apps' identity must be allowed every command Dapr's state.redis runs,
// including `INFO replication` at start-up: INFO is in @dangerous, so the built-in "Data Contributor"
// policy (+@all -@dangerous ...) makes every sidecar with the state store exit.
// tests/integration/test_redis_acl.py runs the real daprd against a Redis user holding exactly the
// policy assigned here.
param location string
param tags object
param name string
param appsPrincipalId string

@allowed(['managed', 'cache'])
param offering string = 'managed'

@description('Azure Managed Redis SKU. Balanced_B0 is the smallest; non-clustered databases are offered up to 25 GB.')
param managedSku string = 'Balanced_B0'

@description('Azure Managed Redis clustering: NoCluster (one shard, every command), EnterpriseCluster (a proxy; multi-key commands only within one hash slot) or OSSCluster (clients must speak Redis Cluster).')
@allowed(['NoCluster', 'EnterpriseCluster', 'OSSCluster'])
param managedClustering string = 'NoCluster'

@description('Azure Cache for Redis: Basic C0 (no SLA, no replica) is the low-traffic choice; Standard adds a replica.')
@allowed(['Basic', 'Standard', 'Premium'])
param cacheSku string = 'Basic'
param cacheCapacity int = 0

// Azure Cache for Redis: Data Contributor plus INFO (state.redis reads `INFO replication` when it starts).
// Dangerous commands other than INFO (FLUSHALL, KEYS, CONFIG, ...) stay refused.
var statePolicyName = 'helpdesk-state'
var statePolicyPermissions = '+@all -@dangerous +info +cluster|info +cluster|nodes +cluster|slots allkeys'

// Azure Managed Redis assigns the `default` access policy: every command and key (`+@all ~*`). API versions
// before 2026-05-01-preview offer no other; custom access strings are a preview there.
var managedPolicyName = 'default'

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

resource cacheStatePolicy 'Microsoft.Cache/redis/accessPolicies@2024-11-01' = if (offering == 'cache') {
  parent: cache
  name: statePolicyName
  properties: {
    permissions: statePolicyPermissions
  }
}

resource cacheAccess 'Microsoft.Cache/redis/accessPolicyAssignments@2024-11-01' = if (offering == 'cache') {
  parent: cache
  name: 'helpdesk-apps'
  properties: {
    accessPolicyName: cacheStatePolicy.name
    objectId: appsPrincipalId
    objectIdAlias: 'helpdesk-apps'
  }
}

resource managed 'Microsoft.Cache/redisEnterprise@2025-07-01' = if (offering == 'managed') {
  name: name
  location: location
  tags: tags
  sku: {
    name: managedSku
  }
  properties: {
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

resource managedDatabase 'Microsoft.Cache/redisEnterprise/databases@2025-07-01' = if (offering == 'managed') {
  parent: managed
  name: 'default'
  properties: {
    clientProtocol: 'Encrypted'
    port: 10000
    clusteringPolicy: managedClustering
    evictionPolicy: 'NoEviction'
    accessKeysAuthentication: 'Disabled'
  }
}

resource managedAccess 'Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments@2025-07-01' = if (offering == 'managed') {
  parent: managedDatabase
  name: 'helpdeskapps'
  properties: {
    accessPolicyName: managedPolicyName
    user: {
      objectId: appsPrincipalId
    }
  }
}

output hostName string = offering == 'cache' ? cache.properties.hostName : managed.properties.hostName
output port int = offering == 'cache' ? cache.properties.sslPort : managedDatabase.properties.port
@description('Dapr state.redis `redisType`: only OSS clustering makes the client speak Redis Cluster; the other policies present one Redis.')
output redisType string = offering == 'managed' && managedClustering == 'OSSCluster' ? 'cluster' : 'node'
