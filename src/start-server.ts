/**
 * The service: builds the app, listens, and shuts down gracefully. Imported by src/server.ts once telemetry (if
 * any) is in place, since its imports load Fastify, pg and the rest of the service.
 */
import { createRequire } from 'node:module'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Server } from 'node:http'
import { Server as NetServer } from 'node:net'
import { performance } from 'node:perf_hooks'
import closeWithGrace from 'close-with-grace'
import { authorizationRedactPaths, requestSerializer } from 'fastify-entra-id/log'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { buildApp } from './app.js'
import { addonLoadFailure } from './config/addon-load-failure.js'
import { ConfigError } from './config/config-error.js'
import { reportStartFailure } from './config/start-failure.js'
import { listenHost, shutdownDrain } from '../plugins/config.js'
import { stopTelemetry } from './telemetry/stop-telemetry.js'
import type { Telemetry } from './telemetry/telemetry.js'

/**
 * After the drain, how long refusing the last clients (at most 5 s) and finishing the requests in progress may
 * take before the process exits anyway (exit 1), in milliseconds.
 */
const SHUTDOWN_CLOSE = 10_000

const production = process.env.NODE_ENV === 'production'

/** Pretty logs in development when pino-pretty (a development dependency) is installed; JSON otherwise. */
function loggerOptions(): NonNullable<FastifyServerOptions['logger']> {
  const base = {
    level: 'info',
    // Fastify's request fields with credential-bearing query parameters redacted; headers (and so the
    // Authorization header) are never logged, and redacted should anything log them.
    serializers: { req: requestSerializer },
    redact: { paths: [...authorizationRedactPaths], censor: '[REDACTED]' }
  }
  if (production) return base
  try {
    createRequire(import.meta.url).resolve('pino-pretty')
  } catch {
    return base
  }
  return { ...base, transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } }
}

/** Configuration problems, one per variable: one line in production, a list in development. */
function reportConfigProblems(problems: readonly string[]): void {
  reportStartFailure(production ? `The service could not start: ${problems.join('; ')}` : new ConfigError(problems).message, { problems })
}

/** One line for an error we did not foresee: its message and code, never its frames (unless LOG_LEVEL=debug). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' ? `${error.message} (${code})` : error.message
}

/**
 * Starts the service; on a failure to start, reports it (exit code 1) and stops `telemetry`. Once listening, the
 * shutdown on SIGTERM or SIGINT stops `telemetry` last, after the server has closed, so that the last requests'
 * spans and the metrics since the last export leave before the process exits.
 */
export async function startServer(telemetry: Telemetry | null): Promise<void> {
  let app: FastifyInstance
  try {
    app = await buildApp({
      fastify: {
        logger: loggerOptions(),
        // Behind App Service's front end or an ingress: the client's address is in X-Forwarded-For.
        trustProxy: true
      }
    })
  } catch (error) {
    const addon = addonLoadFailure(error)
    if (error instanceof ConfigError) reportConfigProblems(error.problems)
    // The SQLite driver built for another Node.js (a switch of line after `npm ci`): what to run, not Node's
    // five-line advice.
    else if (addon !== undefined) reportStartFailure(`The service could not start: ${addon}`, { code: 'ERR_DLOPEN_FAILED' }, error)
    else reportStartFailure(`The service could not start: ${describe(error)}`, {}, error)
    await stopTelemetry(telemetry)
    return
  }
  const drain = shutdownDrain(app.config)
  const lastActivity = trackActivity(app.server)
  const { PORT } = app.config
  const host = listenHost(app.config)
  try {
    await app.listen({ port: PORT, host })
  } catch (error) {
    await app.close()
    const code = (error as NodeJS.ErrnoException).code
    const message = code === 'EADDRINUSE'
      ? `The service could not start: ${host}:${PORT} is already in use; stop the other process or set PORT to a free port`
      : code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND'
        ? `The service could not start: cannot listen on HOST ${host}; set HOST to an address of this machine`
        : `The service could not start: listening on ${host}:${PORT} failed: ${describe(error)}`
    app.log.fatal({ code }, message)
    process.exitCode = 1
    await stopTelemetry(telemetry, app.log)
    return
  }
  // SIGTERM (Kubernetes, App Service) and SIGINT (Ctrl-C), in order: readiness turns 503 and every response
  // closes its connection, while requests are still served (the drain, `drain` ms); then new requests are
  // answered 503 with Retry-After until no client has connected for 100 ms (at most 5 s), the listener closes,
  // the requests in progress finish and idle connections close; then the database and the development issuer
  // close (onClose hooks), telemetry exports what it still holds (at most 5 s), and the process exits 0. Past
  // `drain + SHUTDOWN_CLOSE` ms it exits 1; so does a second signal. After an uncaught error there is no drain, and the exit code is 1.
  // Installed only once listening: close-with-grace also handles `beforeExit`, where it exits 0, which would
  // hide a failed start.
  closeWithGrace({ delay: drain + SHUTDOWN_CLOSE, logger: app.log }, async ({ signal, err }) => {
    if (err !== undefined) {
      app.log.error({ err }, 'shutting down after an error')
    } else if (signal !== undefined) {
      app.log.info({ signal, drainMs: drain }, `shutting down: not ready, draining for ${drain} ms`)
      app.shutdown.begin()
      await sleep(drain)
      app.log.info('shutting down: refusing new requests (503), then closing the listener and finishing the requests in progress')
      await stopAccepting(app, lastActivity)
    }
    await app.close()
    await stopTelemetry(telemetry, app.log)
    app.log.info('shut down')
  })
  if (app.authSettings.devIssuer !== null) {
    if (host !== '127.0.0.1' && host !== '::1' && host !== 'localhost') {
      app.log.warn({ host }, 'DEVELOPMENT MODE on a non-loopback address: anyone who can reach this port can call the API with development tokens')
    }
    await printDevelopmentBanner(app)
  }
}

/**
 * When the server last accepted a connection or began a request (`performance.now()`, in milliseconds): quiet
 * for a while, no client is still sending here, and the listener can close without resetting anyone.
 */
function trackActivity(server: Server): () => number {
  let last = performance.now()
  const seen = () => { last = performance.now() }
  server.on('connection', seen)
  server.on('request', seen)
  return () => last
}

/** How long without a new connection or request makes the listener safe to close, in milliseconds. */
const QUIET = 100
/** The longest wait for that quiet, in milliseconds: past it, clients that ignore 503 see the listener close. */
const MAX_QUIET_WAIT = 5000

/**
 * Refuses new requests (503 with `Retry-After`), waits until no connection or request arrived for {@link QUIET}
 * ms (at most {@link MAX_QUIET_WAIT}), then closes the listener: later connections are refused by the system.
 *
 * Why wait: closing a listening socket resets the connections the system completed but Node had not accepted
 * yet, and `server.close()` destroys accepted connections whose first request has not been read, as idle; their
 * clients may have sent a request already, and could not tell whether it ran. A client answered 503 knows it did
 * not, and goes elsewhere.
 */
async function stopAccepting(app: FastifyInstance, lastActivity: () => number): Promise<void> {
  app.shutdown.refuse()
  const deadline = performance.now() + MAX_QUIET_WAIT
  while (performance.now() < deadline) {
    const quiet = performance.now() - lastActivity()
    if (quiet < QUIET) {
      await sleep(QUIET - quiet)
      continue
    }
    // Connections waiting to be accepted are accepted in the event loop's poll phase, which runs before
    // setImmediate callbacks: check again after it.
    await new Promise((resolve) => setImmediate(resolve))
    if (performance.now() - lastActivity() >= QUIET) break
  }
  // net.Server's close: stops listening without http.Server's closing of idle connections, which `app.close()`
  // does next.
  NetServer.prototype.close.call(app.server)
}

/** Development mode: ready-to-paste commands with a read token and a read-write token. */
async function printDevelopmentBanner(app: FastifyInstance): Promise<void> {
  const issuer = app.authSettings.devIssuer
  if (issuer === null) return
  const { read, write } = app.authSettings.scopes
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : app.config.PORT
  const base = `http://localhost:${port}`
  const lifetime = 8 * 3600
  const readToken = await issuer.mint({ scopes: [read], expiresIn: lifetime })
  const writeToken = await issuer.mint({ scopes: [read, write], expiresIn: lifetime })
  const line = '-'.repeat(100)
  process.stdout.write(`
${line}
DEVELOPMENT MODE: tokens come from a local issuer at ${issuer.url} (tenant ${issuer.tenantId},
API client ID ${issuer.clientId}), not from Entra ID. Set AZURE_TENANT_ID and AZURE_CLIENT_ID to use Entra ID.

Tokens for the development user (valid 8 hours; more with: npm run -s token -- --scope ${read} --scope ${write}):

export READ_TOKEN='${readToken}'
export WRITE_TOKEN='${writeToken}'

curl -s ${base}/api/me -H "Authorization: Bearer $READ_TOKEN"
curl -s ${base}/api/todos -H "Authorization: Bearer $READ_TOKEN"
curl -s ${base}/api/todos -H "Authorization: Bearer $WRITE_TOKEN" -H 'Content-Type: application/json' -d '{"title":"Try fastify-entra-id"}'

Swagger UI: ${base}/docs (Authorize, bearerToken: paste a token)
${line}

`)
}

