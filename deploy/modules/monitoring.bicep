// Log Analytics (container and Dapr logs, via the environment) and Application Insights (traces).
param location string
param tags object
param logAnalyticsName string
param applicationInsightsName string

@description('Days the logs are kept; 30 is included in the Log Analytics price.')
param retentionInDays int = 30

@description('Daily ingestion cap in GB (-1: none). Bounds the bill when something logs in a loop.')
param dailyQuotaGb int = 1

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    workspaceCapping: {
      dailyQuotaGb: dailyQuotaGb
    }
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    // Connection-string ingestion stays on: the environment's managed OpenTelemetry agent and Dapr's
    // own tracing both send with the connection string, neither with an Entra ID token.
    DisableLocalAuth: false
  }
}

output logAnalyticsWorkspaceId string = logAnalytics.id
output logAnalyticsName string = logAnalytics.name
output applicationInsightsName string = applicationInsights.name
output applicationInsightsConnectionString string = applicationInsights.properties.ConnectionString
