// OpenTelemetry for the plugin, when the application has it. Metrics are the process's (the channels are), so
// every registration shares one set of instruments; span attributes are each registration's own.

import { openTelemetryInUse } from './api.js'
import { VerificationMetrics } from './metrics.js'
import type { ResolvedTelemetryOptions } from '../core/options/telemetry-options.js'
import { SpanMarker } from './spans.js'
import type { RequestSpans } from './spans.js'

// Declared beside its implementation, so that spans.ts needs nothing from this module (no import cycle).
export type { RequestSpans } from './spans.js'

/** The plugin's telemetry for one registration. */
export interface Telemetry {
  /** The request spans' marker; null when no TracerProvider is registered. */
  readonly spans: RequestSpans | null
  /** Stops this registration's telemetry; the metrics stop with the last one. */
  close(): void
}

let shared: { metrics: VerificationMetrics, users: number } | null = null

/**
 * Starts the plugin's telemetry, or answers null when `@opentelemetry/api` is not installed or has no provider
 * registered: then nothing subscribes to the channels, and verifications make no message.
 */
export async function startTelemetry(options: ResolvedTelemetryOptions | null): Promise<Telemetry | null> {
  if (options === null) return null
  const inUse = await openTelemetryInUse()
  if (inUse === null) return null
  const { api } = inUse
  let open = inUse.metrics
  if (open) {
    shared ??= { metrics: new VerificationMetrics(api.metrics.getMeter('fastify-entra-id'), options), users: 0 }
    shared.users++
  }
  return {
    spans: inUse.traces ? new SpanMarker(api, options.enduserId) : null,
    close() {
      if (!open || shared === null) return
      open = false
      if (--shared.users === 0) {
        shared.metrics.close()
        shared = null
      }
    }
  }
}
