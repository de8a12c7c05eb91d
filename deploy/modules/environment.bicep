// The Container Apps environment: Consumption workload profile, logs to Log Analytics through Azure
// Monitor diagnostic settings (no workspace key passes through the deployment), Dapr's own traces to
// Application Insights, and the managed OpenTelemetry agent forwarding the apps' OTLP traces and logs
// to Application Insights (docs/deploy.md, "Telemetry").
param location string
param tags object
param name string
param logAnalyticsWorkspaceId string

@secure()
param applicationInsightsConnectionString string

resource environment 'Microsoft.App/managedEnvironments@2024-10-02-preview' = {
  name: name
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'azure-monitor'
    }
    daprAIConnectionString: applicationInsightsConnectionString
    appInsightsConfiguration: {
      connectionString: applicationInsightsConnectionString
    }
    openTelemetryConfiguration: {
      tracesConfiguration: {
        destinations: [
          'appInsights'
        ]
      }
      logsConfiguration: {
        destinations: [
          'appInsights'
        ]
      }
    }
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
    ]
    zoneRedundant: false
  }
}

resource logs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'logs-to-log-analytics'
  scope: environment
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
  }
}

output id string = environment.id
output name string = environment.name
output defaultDomain string = environment.properties.defaultDomain
