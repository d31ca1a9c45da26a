/**
 * The service's telemetry, started by src/server.ts before anything it instruments is loaded. Everything
 * OpenTelemetry is imported dynamically, here and below: with neither variable set, none of it is loaded.
 */
import { telemetryBackend } from './telemetry.js'
import type { Telemetry } from './telemetry.js'

/**
 * Starts the telemetry `env` asks for ({@link telemetryBackend}), or nothing, and resolves once the
 * instrumentations are in place: import Fastify, `pg` and the application only after. Rejects when the backend
 * refuses its configuration (the distro throws on a connection string without a valid instrumentation key).
 */
export async function startTelemetry(env: Readonly<Record<string, string | undefined>> = process.env): Promise<Telemetry | null> {
  const backend = telemetryBackend(env)
  if (backend === null) return null
  const instrumentationsKnown = (await import('./instrumentation-hooks.js')).registerInstrumentationHooks()
  const telemetry = backend === 'azure-monitor'
    ? (await import('./azure-monitor.js')).startAzureMonitor()
    : (await import('./otlp.js')).startOtlp(env)
  await instrumentationsKnown()
  return telemetry
}
