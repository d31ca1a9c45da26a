import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'

/** How long readiness waits for the database before calling it unreachable, in milliseconds. */
const DATABASE_CHECK_TIMEOUT = 3000

const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not ready')]),
  checks: Type.Object({
    signingKeys: Type.Boolean({ description: 'The tenant\'s signing keys are loaded' }),
    database: Type.Boolean({ description: 'The database answers' })
  }),
  reasons: Type.Array(Type.String(), { description: 'Why the service is not ready, one line per failing check; empty when ready' })
})

/**
 * `/health/live` (the process answers) and `/health/ready` (keys loaded, the database reachable and not shutting
 * down; `reasons` says what is missing).
 */
export default function health(fastify: FastifyInstance, _options: unknown, done: (error?: Error) => void): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  app.get('/live', {
    logLevel: 'warn',
    // The process still answers while it shuts down.
    config: { servedDuringShutdown: true },
    schema: { tags: ['health'], summary: 'Liveness', response: { 200: Type.Object({ status: Type.Literal('ok') }) } }
  }, () => ({ status: 'ok' as const }))

  app.get('/ready', {
    logLevel: 'warn',
    // It says why it is not ready, shutting down included.
    config: { servedDuringShutdown: true },
    schema: { tags: ['health'], summary: 'Readiness: signing keys loaded, database reachable, not shutting down', response: { 200: Readiness, 503: Readiness } }
  }, async (_request, reply) => {
    const signingKeys = app.entraId.isReady()
    const database = await databaseCheck(app)
    // From SIGTERM on, so that load balancers stop sending requests while the in-flight ones finish.
    const shuttingDown = app.shutdown.begun
    const ready = signingKeys && database === null && !shuttingDown
    // Anyone may call this route: the reasons name what is missing, never a host, tenant or setting's value.
    const reasons = [
      ...(shuttingDown ? ['shutting down: finishing the requests in progress; send new requests to another instance'] : []),
      ...(signingKeys ? [] : ['signing keys: not loaded yet (the identity provider has not answered); retrying in the background']),
      ...(database === null ? [] : [database])
    ]
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks: { signingKeys, database: database === null }, reasons })
  })
  done()
}

/** `null` when the database answers, else why not. */
async function databaseCheck(app: FastifyInstance): Promise<string | null> {
  // The store plugin logs each failed attempt already; a probe every few seconds would only repeat it.
  if (!app.storeConnected) return 'database: not connected yet (unreachable at start-up); retrying in the background'
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => { resolve('database: does not answer (timed out)') }, DATABASE_CHECK_TIMEOUT)
  })
  try {
    return await Promise.race([app.store.ping().then(() => null, (error: unknown) => {
      app.log.warn({ err: error }, 'readiness: the database does not answer')
      return 'database: does not answer'
    }), timeout])
  } finally {
    clearTimeout(timer)
  }
}
