import { createRequire } from 'node:module'
import closeWithGrace from 'close-with-grace'
import { authorizationRedactPaths, requestSerializer } from 'fastify-entra-id'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { buildApp } from './app.js'
import { ConfigError } from './lib/config-error.js'

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
      process.stderr.write(`${error.message}\n`)
    } else {
      process.stderr.write(`The service could not start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    }
    process.exitCode = 1
    return
  }

  // SIGTERM (Kubernetes, App Service) and SIGINT (Ctrl-C): stop accepting, finish in-flight requests, close
  // the database and the development issuer (onClose hooks), then exit. A second signal exits at once.
  closeWithGrace({ delay: SHUTDOWN_DELAY, logger: app.log }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'shutting down after an error')
    else app.log.info({ signal }, 'shutting down')
    await app.close()
  })

  const { PORT, HOST } = app.config
  await app.listen({ port: PORT, host: HOST })
  if (app.authSettings.devIssuer !== null) await printDevelopmentBanner(app)
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
