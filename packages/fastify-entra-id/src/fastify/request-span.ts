import type { Span } from '@opentelemetry/api'
import type { FastifyRequest } from 'fastify'

/** What @fastify/otel decorates each request with: its `request` span, when the route is instrumented. */
interface FastifyOtelRequest {
  opentelemetry?: (this: FastifyRequest) => { span?: Span | null }
}

/**
 * The request span @fastify/otel made for `request`, if it is registered: the plugin's outcome goes on it, and
 * on the HTTP server span, as hook spans (the active span in a hook) are not where anyone looks.
 */
export function requestSpanOf(request: FastifyRequest): Span | undefined {
  const instrumented = request as FastifyRequest & FastifyOtelRequest
  return typeof instrumented.opentelemetry === 'function' ? instrumented.opentelemetry().span ?? undefined : undefined
}
