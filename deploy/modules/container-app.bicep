// One helpdesk service as a container app with its Dapr sidecar (app-id = service name), probes on
// the service's /healthz and /readyz, resources, replica bounds and scale rules. Called once per
// service from main.bicep.
param location string
param tags object
param name string

@description('The service, its Dapr app-id and its azd service name.')
@allowed(['gateway', 'nlp', 'dialogue', 'evaluator'])
param serviceName string

param environmentId string
param registryServer string
param appsIdentityId string

@description('The scaler identity, attached only to apps whose scale rules use it. Empty: none.')
param scalerIdentityId string = ''

@description('The image; empty until `azd deploy` has pushed one (a public placeholder runs until then).')
param image string = ''

@description('The port the service listens on (services/<name>/Dockerfile).')
param targetPort int = 8000

@description('External HTTPS ingress. Only the gateway and the evaluator (operator API) have it; nlp and dialogue have no ingress at all.')
param external bool = false

@description('CIDR ranges allowed through the ingress (empty: everyone). The operator API behind it requires operator keys in any case.')
param allowedIpRanges array = []

param cpu string = '0.5'
param memory string = '1Gi'
param minReplicas int = 1
param maxReplicas int = 10

@description('KEDA rules (http or custom azure-servicebus), built in main.bicep.')
param scaleRules array

@description('Environment variables: [{name, value}]. No secrets: those come from the Dapr secret store.')
param env array = []

// Until `azd deploy` pushes the service's image, a placeholder runs in its place. `azd deploy` then
// changes the image only (it copies the latest revision's template), so the placeholder must fit the
// app's template as it is: listen on targetPort and answer the probes' /healthz and /readyz with 200.
// traefik/whoami does, on the port named by WHOAMI_PORT_NUMBER (any path answers 200); the variable is
// harmless to the services afterwards. Its echo of the request and, on ?env=true, of its environment
// exposes nothing secret: the services' settings carry no secret, and APP_API_TOKEN is per revision.
var placeholderImage = 'docker.io/traefik/whoami:v1.11.0'
var placeholderEnv = [
  { name: 'WHOAMI_PORT_NUMBER', value: string(targetPort) }
]
var appsIdentity = {
  '${appsIdentityId}': {}
}
var scalerIdentity = empty(scalerIdentityId) ? {} : {
  '${scalerIdentityId}': {}
}
var identities = union(appsIdentity, scalerIdentity)
var ipRules = [for (range, i) in allowedIpRanges: {
  name: 'allowed-${i}'
  action: 'Allow'
  ipAddressRange: range
}]

resource app 'Microsoft.App/containerApps@2024-10-02-preview' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: identities
  }
  properties: {
    environmentId: environmentId
    workloadProfileName: 'Consumption'
    configuration: {
      // One active revision; a rollback re-activates an earlier one (docs/deploy.md).
      activeRevisionsMode: 'Single'
      maxInactiveRevisions: 10
      ingress: external ? {
        external: true
        targetPort: targetPort
        transport: 'http'
        allowInsecure: false
        ipSecurityRestrictions: empty(ipRules) ? null : ipRules
        traffic: [
          {
            latestRevision: true
            weight: 100
          }
        ]
      } : null
      registries: [
        {
          server: registryServer
          identity: appsIdentityId
        }
      ]
      dapr: {
        enabled: true
        appId: serviceName
        appPort: targetPort
        appProtocol: 'http'
        enableApiLogging: false
        logLevel: 'warn'
      }
    }
    template: {
      containers: [
        {
          name: serviceName
          image: empty(image) ? placeholderImage : image
          resources: {
            cpu: json(cpu)
            memory: memory
          }
          env: empty(image) ? concat(env, placeholderEnv) : env
          probes: [
            {
              type: 'Startup'
              httpGet: { path: '/healthz', port: targetPort }
              periodSeconds: 5
              failureThreshold: 24
            }
            {
              type: 'Liveness'
              httpGet: { path: '/healthz', port: targetPort }
              periodSeconds: 15
              failureThreshold: 3
            }
            {
              type: 'Readiness'
              httpGet: { path: '/readyz', port: targetPort }
              periodSeconds: 10
              failureThreshold: 3
            }
          ]
        }
      ]
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
        rules: scaleRules
      }
    }
  }
}

output name string = app.name
output fqdn string = external ? app.properties.configuration.ingress.fqdn : ''
