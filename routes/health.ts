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
  })
})

/** `/health/live` (the process answers) and `/health/ready` (keys loaded and the database reachable). */
export default function health(fastify: FastifyInstance, _options: unknown, done: (error?: Error) => void): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  app.get('/live', {
    logLevel: 'warn',
    schema: { tags: ['health'], summary: 'Liveness', response: { 200: Type.Object({ status: Type.Literal('ok') }) } }
  }, () => ({ status: 'ok' as const }))

  app.get('/ready', {
    logLevel: 'warn',
    schema: { tags: ['health'], summary: 'Readiness: signing keys loaded and database reachable', response: { 200: Readiness, 503: Readiness } }
  }, async (_request, reply) => {
    const signingKeys = app.entraId.isReady()
    const database = await databaseAnswers(app)
    const ready = signingKeys && database
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks: { signingKeys, database } })
  })
  done()
}

async function databaseAnswers(app: FastifyInstance): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>((resolve) => { timer = setTimeout(() => { resolve(false) }, DATABASE_CHECK_TIMEOUT) })
  try {
    return await Promise.race([app.store.ping().then(() => true, (error: unknown) => {
      app.log.warn({ err: error }, 'readiness: the database does not answer')
      return false
    }), timeout])
  } finally {
    clearTimeout(timer)
  }
}
