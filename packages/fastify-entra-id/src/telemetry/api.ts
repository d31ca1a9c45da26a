// `@opentelemetry/api` is an optional peer: loaded only when the application installed it, and used only when the
// application registered a provider, so an application without OpenTelemetry pays nothing, not even a subscriber.

import type * as OpenTelemetryApi from '@opentelemetry/api'

/** The `@opentelemetry/api` module. */
export type OpenTelemetry = typeof OpenTelemetryApi

/** What of the API is in use: its module, and whether metrics and traces have a provider. */
export interface OpenTelemetryInUse {
  readonly api: OpenTelemetry
  readonly metrics: boolean
  readonly traces: boolean
}

/**
 * The API and what it has registered, or null when it is not installed or has no provider registered (the
 * application does not use OpenTelemetry, or registers its providers too late: after the plugin).
 */
export async function openTelemetryInUse(): Promise<OpenTelemetryInUse | null> {
  if (!registeredAnything()) return null
  let api: OpenTelemetry
  try {
    api = await import('@opentelemetry/api')
  } catch (error) {
    if (isNotInstalled(error)) return null
    throw error
  }
  const metrics = api.metrics.getMeterProvider().getMeter('fastify-entra-id') !== api.createNoopMeter()
  const traces = tracerProviderRegistered(api)
  return metrics || traces ? { api, metrics, traces } : null
}

/**
 * Every copy of `@opentelemetry/api` 1.x keeps what is registered (providers, context manager, propagator) in one
 * object on `globalThis`, under this key, made by the first registration. Without it nothing was registered, and
 * the API is not even loaded: an application without OpenTelemetry loads none of it.
 */
const API_GLOBAL = Symbol.for('opentelemetry.js.api.1')

function registeredAnything(): boolean {
  return (globalThis as Record<symbol, unknown>)[API_GLOBAL] !== undefined
}

/**
 * The global tracer provider is a proxy that delegates to the registered one, or to the API's no-op provider
 * when there is none: the same no-op instance a new proxy delegates to.
 */
function tracerProviderRegistered(api: OpenTelemetry): boolean {
  // Deprecated for the API's next major version, which the peer range (^1.9.0) does not admit; nothing else tells.
  /* eslint-disable @typescript-eslint/no-deprecated */
  const provider = api.trace.getTracerProvider()
  if (!(provider instanceof api.ProxyTracerProvider)) return true
  return provider.getDelegate() !== new api.ProxyTracerProvider().getDelegate()
  /* eslint-enable @typescript-eslint/no-deprecated */
}

function isNotInstalled(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND'
}
