import { shutdownAzureMonitor, useAzureMonitor } from '@azure/monitor-opentelemetry'
import { FastifyOtelInstrumentation } from '@fastify/otel'
import { fastifyInstrumentationConfig, httpInstrumentationConfig } from './instrumentations.js'
import { RedactingSpanProcessor } from './redacting-span-processor.js'
import type { Telemetry } from './telemetry.js'

/**
 * Starts the Azure Monitor OpenTelemetry distro: traces (Application Insights' requests and dependencies) and
 * metrics (the plugin's, and the distro's standard and performance metrics), sent to the resource that
 * `APPLICATIONINSIGHTS_CONNECTION_STRING` names. The distro's defaults hold, except:
 *
 * - Live metrics are off (on in the distro): they stream request and exception documents to a second endpoint,
 *   which an operator turns on knowingly, with `APPLICATIONINSIGHTS_CONFIGURATION_CONTENT={"enableLiveMetrics":true}`
 *   (the distro's JSON configuration, which overrides these options).
 * - Of the distro's instrumentations, HTTP and PostgreSQL only: the service uses no MongoDB, MySQL, Redis or Azure
 *   SDK client.
 * - {@link RedactingSpanProcessor} first, so no URL token, credential header or JWT reaches a span that leaves.
 *
 * Kept as the distro has them: trace sampling (rate-limited, 5 traces per second per instance; metrics are not
 * sampled), statsbeat (the SDK's own health counters, sent to Microsoft), offline storage (failed exports are
 * kept under the temporary directory and retried), the 60 s metric export interval, and the Azure resource
 * detectors (App Service, AKS, and on a plain VM the instance-metadata service). docs/how-to/telemetry.md lists
 * the variables that change each.
 */
export function startAzureMonitor(): Telemetry {
  useAzureMonitor({
    enableLiveMetrics: false,
    instrumentationOptions: {
      http: { enabled: true, ...httpInstrumentationConfig },
      postgreSql: { enabled: true },
      azureSdk: { enabled: false },
      mongoDb: { enabled: false },
      mySql: { enabled: false },
      redis: { enabled: false },
      redis4: { enabled: false }
    },
    spanProcessors: [new RedactingSpanProcessor()]
  })
  // The distro takes no extra instrumentation: this one enables itself when made, with the global tracer and
  // meter providers the distro has just registered.
  new FastifyOtelInstrumentation(fastifyInstrumentationConfig)
  return { backend: 'azure-monitor', shutdown: shutdownAzureMonitor }
}
