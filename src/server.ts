// First: refuses an unsupported Node.js before any other module is evaluated (imports run in order).
import './config/refuse-unsupported-node.js'
import { reportStartFailure } from './config/start-failure.js'
import { startTelemetry } from './telemetry/start-telemetry.js'
import { telemetryBackend } from './telemetry/telemetry.js'
import type { Telemetry } from './telemetry/telemetry.js'

// Second: telemetry (docs/how-to/telemetry.md), when APPLICATIONINSIGHTS_CONNECTION_STRING or
// OTEL_EXPORTER_OTLP_ENDPOINT is set. OpenTelemetry's instrumentations patch Fastify, pg and node:http(s) as they
// are loaded, so the service (start-server.ts, whose imports load them) is imported only once they are in place,
// as the Azure Monitor distro requires. Nothing of OpenTelemetry is loaded when neither variable is set.
let telemetry: Telemetry | null = null
let started = true
try {
  telemetry = await startTelemetry(process.env)
} catch (error) {
  // A connection string the distro refuses (no valid instrumentation key): a configuration error, named, not
  // a service running blind. The value itself is not repeated.
  const variable = telemetryBackend(process.env) === 'azure-monitor' ? 'APPLICATIONINSIGHTS_CONNECTION_STRING' : 'OTEL_EXPORTER_OTLP_ENDPOINT'
  reportStartFailure(`The service could not start: telemetry could not start with ${variable}: ${error instanceof Error ? error.message : String(error)}`, { variable }, error)
  started = false
}
if (started) {
  const { startServer } = await import('./start-server.js')
  await startServer(telemetry)
}
