import Fastify from 'fastify'
import { STATUS_CODES } from 'node:http'
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify'
import { TypeBoxValidatorCompiler, registerAjvFormats } from '@fastify/type-provider-typebox'
import type { FastifySchemaValidationError } from 'fastify/types/schema.js'
import { EntraAuthError } from 'fastify-entra-id'
import authPlugin from '../plugins/auth.js'
import configPlugin from '../plugins/config.js'
import connectionsPlugin from '../plugins/connections.js'
import storePlugin from '../plugins/store.js'
import downstreamPlugin from '../plugins/downstream.js'
import type { DownstreamPluginOptions } from '../plugins/downstream.js'
import openapiPlugin from '../plugins/openapi.js'
import apiRootRoutes from '../routes/api-root.js'
import healthRoutes from '../routes/health.js'
import mcpRoutes from '../routes/mcp.js'
import meRoutes from '../routes/me.js'
import rootRoutes from '../routes/root.js'
import todoRoutes from '../routes/todos.js'
import type { TodoStore } from './store/store.js'
import type { StorePluginOptions } from '../plugins/store.js'
import { StoreError } from './store/store.js'
import { HttpError } from './http/http-errors.js'

/** Options of {@link buildApp}. */
export interface AppOptions {
  /** The environment variables to read. Default: `process.env`. */
  env?: Readonly<Record<string, string | undefined>>
  /** A store to use instead of the configured one; the caller closes it. */
  store?: TodoStore
  /**
   * Backoff of the wait for PostgreSQL when it is unreachable at start-up, in milliseconds: the first retry's
   * delay, doubling up to the maximum. Default 1000 doubling to 30000 (tests shorten it).
   */
  storeRetry?: Pick<StorePluginOptions, 'retryDelay' | 'maxRetryDelay'>
  /** The HTTP server's timeouts; each one left out takes its {@link DEFAULT_TIMEOUTS} value (tests shorten them). */
  timeouts?: Partial<ServerTimeouts>
  /**
   * Where and how calls on the caller's behalf reach Entra's token endpoint. Default: the authority host and
   * Node's agent (tests: a loopback https token endpoint, and an agent trusting its CA).
   */
  downstream?: DownstreamPluginOptions
  /** Fastify's options (logger, proxy trust). Default: no logger. The timeouts are {@link AppOptions.timeouts}. */
  fastify?: FastifyServerOptions
}

/** Timeouts of the HTTP server, in milliseconds. */
export interface ServerTimeouts {
  /**
   * The whole request, headers and body, must arrive within this time, or the server answers 408 and closes the
   * connection. A slowly trickled body cannot hold a connection longer.
   */
  requestTimeout: number
  /** The request's headers must arrive within this time (408 and closed otherwise). At most `requestTimeout`. */
  headersTimeout: number
  /**
   * An idle keep-alive connection is closed after this time. Longer than the idle timeout of Azure's and most
   * Kubernetes load balancers (60 s or less), so they close idle connections first and never send a request onto a
   * connection Node is closing.
   */
  keepAliveTimeout: number
  /**
   * How often Node checks `requestTimeout` and `headersTimeout`: a request is cut at most this much after its
   * timeout. Node's default, 30 s, would let a 30 s `requestTimeout` run to a minute.
   */
  connectionsCheckingInterval: number
}

/** The production timeouts: request 30 s, headers 10 s, keep-alive 72 s, checked every second. */
export const DEFAULT_TIMEOUTS: Readonly<ServerTimeouts> = Object.freeze({
  requestTimeout: 30_000,
  headersTimeout: 10_000,
  keepAliveTimeout: 72_000,
  connectionsCheckingInterval: 1000
})

/** The timeouts with defaults filled in, checked: positive integers, headers within the request's time. */
function serverTimeouts(given: Partial<ServerTimeouts> = {}): ServerTimeouts {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...given }
  for (const [name, value] of Object.entries(timeouts)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`"timeouts.${name}" option must be a positive integer (milliseconds)`)
  }
  if (timeouts.headersTimeout > timeouts.requestTimeout) throw new TypeError('"timeouts.headersTimeout" option must not exceed "timeouts.requestTimeout"')
  return timeouts
}

// TypeBox checks `format: "uuid"` and `"date-time"` with ajv-formats' validators.
registerAjvFormats()

/**
 * Builds the todo API, ready to `listen` or to `inject` into. Rejects with a `ConfigError` naming every bad
 * environment variable.
 */
export async function buildApp(options: AppOptions = {}): Promise<FastifyInstance> {
  const timeouts = serverTimeouts(options.timeouts)
  const app = Fastify({
    ...options.fastify,
    // Node enforces requestTimeout and headersTimeout by a check every connectionsCheckingInterval, which only
    // http.createServer's options set (Fastify passes them `http`); at its default, 30 s, a trickled body outlives
    // a 30 s requestTimeout by up to 30 s more. Fastify then sets `server.requestTimeout` and `keepAliveTimeout`
    // from its own options (requestTimeout 0, no limit, unless given), so both are given to Fastify as well.
    http: {
      requestTimeout: timeouts.requestTimeout,
      headersTimeout: timeouts.headersTimeout,
      keepAliveTimeout: timeouts.keepAliveTimeout,
      connectionsCheckingInterval: timeouts.connectionsCheckingInterval
    },
    requestTimeout: timeouts.requestTimeout,
    keepAliveTimeout: timeouts.keepAliveTimeout,
    // No connectionTimeout (socket inactivity): requestTimeout already bounds receiving a request, keepAliveTimeout
    // an idle connection, and an inactivity limit would also cut a response whose handler waits on the database.
    //
    // During `close()`, a request that reaches a connection still open gets the connections plugin's 503, which
    // has `Retry-After` and the service's error body, rather than Fastify's bare one.
    return503OnClosing: false,
    // Requests carry small JSON bodies: refuse anything large before parsing it.
    bodyLimit: 64 * 1024,
    // `/api/todos` and `/api/todos/` are the same resource.
    routerOptions: { ignoreTrailingSlash: true },
    schemaErrorFormatter
  })
  // Bodies are checked as sent (no type coercion: `"true"` is not a boolean); query strings and params are
  // converted from text first.
  app.setValidatorCompiler(TypeBoxValidatorCompiler)
  app.setErrorHandler(errorHandler)
  // A JSON API: a text/plain body (which Fastify parses by default) is a 415, like any other media type.
  app.removeContentTypeParser('text/plain')

  try {
    await app.register(connectionsPlugin)
    await app.register(configPlugin, options.env === undefined ? {} : { env: options.env })
    // The logger exists before the configuration is read; its level follows LOG_LEVEL from here on.
    app.log.level = app.config.LOG_LEVEL
    await app.register(authPlugin)
    await app.register(downstreamPlugin, options.downstream ?? {})
    await app.register(storePlugin, { ...options.storeRetry, ...(options.store === undefined ? {} : { store: options.store }) })
    await app.register(openapiPlugin)
    await app.register(healthRoutes, { prefix: '/health' })
    await app.register(todoRoutes, { prefix: '/api/todos' })
    await app.register(meRoutes, { prefix: '/api/me' })
    await app.register(apiRootRoutes, { prefix: '/api' })
    await app.register(mcpRoutes, { prefix: '/mcp' })
    await app.register(rootRoutes)
    await app.ready()
  } catch (error) {
    // Release what did start (the development issuer, the database) before reporting.
    await app.close().catch(() => undefined)
    throw error
  }
  return app
}

/** Validation messages that name the field at fault, e.g. `body has an unknown property "color"`. */
function schemaErrorFormatter(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const messages: string[] = []
  for (const e of errors) {
    const path = `${dataVar}${e.instancePath}`
    const unknown = (e.params as { additionalProperties?: unknown }).additionalProperties
    let message: string
    if (e.keyword === 'additionalProperties' && Array.isArray(unknown)) {
      message = `${path} has unknown ${unknown.length === 1 ? 'property' : 'properties'} ${unknown.map((p) => `"${shortName(String(p))}"`).join(', ')}`
    } else if (e.keyword === 'additionalProperties' || e.keyword === 'boolean') {
      // TypeBox reports each unknown property twice: as `additionalProperties` and as the `false` schema it meets.
      continue
    } else {
      message = `${path} ${e.message ?? 'is invalid'}`
    }
    if (!messages.includes(message)) messages.push(message)
  }
  return new Error(messages.join('; '))
}

/**
 * A property name as an answer and its log line repeat it: at most 32 characters. A name is the client's own
 * text, and a client that sends a token as one (`?eyJ...`) must not find it echoed, or logged, whole.
 */
function shortName(name: string): string {
  return name.length <= 32 ? name : `${name.slice(0, 16)}...`
}

/** An error's cause as one line for a log (its message and code, no frames). */
function causeOf(error: Error): string | undefined {
  const cause: unknown = error.cause
  if (cause === undefined) return undefined
  if (!(cause instanceof Error)) return typeof cause === 'string' ? cause : 'unknown cause'
  const code = (cause as Error & { code?: unknown }).code
  return typeof code === 'string' ? `${cause.message} (${code})` : cause.message
}

/**
 * Fastify's answer for every known error (auth, validation, 404, 503), with the error's `headers` (the
 * `WWW-Authenticate` challenge, `Retry-After`). An unexpected error becomes a bare 500: its message may carry
 * internals (SQL, host names) and is only logged.
 *
 * Each error is logged once: a refusal (4xx) at `info` with its code and no stack, since it is the caller's
 * mistake and an expected outcome; a known outage (503) at `warn` with its cause; an unexpected error at `error`
 * with its stack.
 */
function errorHandler(error: Error & { statusCode?: number, code?: string, headers?: Record<string, string> }, request: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode ?? 500
  const known = error instanceof EntraAuthError || error instanceof StoreError || error instanceof HttpError
  if (status < 500 || known) {
    // An outage (503) is logged with what caused it, in one line: its message and code, not a stack per request.
    if (status >= 500) request.log.warn({ statusCode: status, code: error.code, cause: causeOf(error) }, error.message)
    // An audience, issuer or tenant refusal also says what the token carried and what the API accepts.
    else request.log.info({ statusCode: status, code: error.code, ...(error instanceof EntraAuthError ? error.details : undefined) }, error.message)
    if (error.headers !== undefined) void reply.headers(error.headers)
    void reply.code(status).send({ statusCode: status, code: error.code, error: STATUS_CODES[status] ?? 'Error', message: error.message })
    return
  }
  request.log.error({ err: error }, 'unexpected error')
  void reply.code(500).send({ statusCode: 500, error: 'Internal Server Error', message: 'Internal Server Error' })
}
