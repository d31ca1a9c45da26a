import type { IncomingMessage } from 'node:http'
import type { HttpInstrumentationConfig } from '@opentelemetry/instrumentation-http'
import type { FastifyOtelInstrumentationOpts } from '@fastify/otel'

/** The probes' routes (routes/health.ts): Kubernetes and App Service call them every few seconds. */
const PROBES = '/health/'

/**
 * The HTTP instrumentation's settings, for both backends: incoming probe requests are not traced (one request
 * every 10 s per probe per instance would outnumber the API's own traffic in Application Insights and cost as
 * much), and no header is captured (the instrumentation captures none unless told to: `Authorization` stays out).
 */
export const httpInstrumentationConfig: HttpInstrumentationConfig = {
  ignoreIncomingRequestHook: (request: IncomingMessage) => request.url?.startsWith(PROBES) === true
}

/**
 * `@fastify/otel`'s settings: it hooks every Fastify instance created from now on (Fastify's
 * `fastify.initialization` diagnostics channel), so the application registers nothing; each request gets a span
 * named after its route, with the hooks and the handler as child spans. The probes are left out, as above.
 */
export const fastifyInstrumentationConfig: FastifyOtelInstrumentationOpts = {
  registerOnInitialization: true,
  ignorePaths: (route) => route.url.startsWith(PROBES)
}
