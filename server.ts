import { createRequire } from 'node:module'
import closeWithGrace from 'close-with-grace'
import { pino } from 'pino'
import { authorizationRedactPaths, requestSerializer } from 'fastify-entra-id'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { buildApp } from './app.js'
import { ConfigError } from './lib/config-error.js'
import { listenHost } from './plugins/config.js'

/** How long shutdown waits for in-flight requests before exiting anyway, in milliseconds. */
const SHUTDOWN_DELAY = 10_000

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

/**
 * A failure to start, as one line: JSON on stderr in production (what log collectors parse), plain text in
 * development. No stack: the cause is a setting or the environment, and the message names it; `LOG_LEVEL=debug`
 * adds the stack of an unexpected error.
 */
function reportStartFailure(message: string, details: Record<string, unknown> = {}, error?: unknown): void {
  const debug = ['debug', 'trace'].includes(process.env.LOG_LEVEL ?? '')
  const stack = debug && error instanceof Error ? error.stack : undefined
  if (production) {
    pino({ base: null }, pino.destination({ dest: 2, sync: true })).fatal({ ...details, ...(stack === undefined ? {} : { stack }) }, message)
  } else {
    process.stderr.write(`${message}\n${stack === undefined ? '' : `${stack}\n`}`)
  }
  process.exitCode = 1
}

/** One line for an error we did not foresee: its message and code, never its frames (unless LOG_LEVEL=debug). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' ? `${error.message} (${code})` : error.message
}

async function main(): Promise<void> {
  let app: FastifyInstance
  try {
    app = await buildApp({
      fastify: {
        logger: loggerOptions(),
        // Longer than the idle timeout of Azure's and most Kubernetes load balancers, so they close idle
        // connections first and never send a request onto a socket Node is closing.
        keepAliveTimeout: 72_000,
        requestTimeout: 30_000,
        // Behind App Service's front end or an ingress: the client's address is in X-Forwarded-For.
        trustProxy: true
      }
    })
  } catch (error) {
    if (error instanceof ConfigError) {
      reportStartFailure(production ? `The service could not start: ${error.problems.join('; ')}` : error.message, { problems: error.problems })
    } else {
      reportStartFailure(`The service could not start: ${describe(error)}`, {}, error)
    }
    return
  }

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
    return
  }
  // SIGTERM (Kubernetes, App Service) and SIGINT (Ctrl-C): stop accepting, finish in-flight requests, close
  // the database and the development issuer (onClose hooks), then exit. A second signal exits at once.
  // Installed only once listening: close-with-grace also handles `beforeExit`, where it exits 0, which would
  // hide a failed start.
  closeWithGrace({ delay: SHUTDOWN_DELAY, logger: app.log }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'shutting down after an error')
    else app.log.info({ signal }, 'shutting down')
    await app.close()
  })
  if (app.authSettings.devIssuer !== null) {
    if (host !== '127.0.0.1' && host !== '::1' && host !== 'localhost') {
      app.log.warn({ host }, 'DEVELOPMENT MODE on a non-loopback address: anyone who can reach this port can call the API with development tokens')
    }
    await printDevelopmentBanner(app)
  }
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

Tokens for the development user (valid 8 hours; more with: npm run token -- --scope ${write}):

export READ_TOKEN='${readToken}'
export WRITE_TOKEN='${writeToken}'

curl -s ${base}/api/me -H "Authorization: Bearer $READ_TOKEN"
curl -s ${base}/api/todos -H "Authorization: Bearer $READ_TOKEN"
curl -s ${base}/api/todos -H "Authorization: Bearer $WRITE_TOKEN" -H 'Content-Type: application/json' -d '{"title":"Try fastify-entra-id"}'

Swagger UI: ${base}/docs (Authorize, bearerToken: paste a token)
${line}

`)
}

await main()
