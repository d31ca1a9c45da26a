import assert from 'node:assert/strict'
import { request as httpRequest, Agent } from 'node:http'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import type { TestContext } from 'node:test'
import Database from 'better-sqlite3'
import { startTestIssuer } from 'fastify-entra-id/testing'
import pg from 'pg'
import { ENGINES, bearer, startHarness, tempDir } from '../helpers/app.js'
import type { Engine } from '../helpers/app.js'
import { dropSchema, freshSchema, postgresUrl, skipWithoutPostgres } from '../helpers/postgres.js'
import { Child, serviceEnv } from '../helpers/process.js'
import { Signal } from '@fastify-entra-id/test-kit'
import { REPO_ROOT, SERVER_ENTRY } from '../helpers/paths.js'

/** Concurrent writers, each with requests one after another on keep-alive connections. */
const WRITERS = 16
/** Load before SIGTERM: every writer has had this many writes answered 201 (so its connection was reused). */
const LOAD_BEFORE_SIGTERM = 5
/** The service's drain, in milliseconds (SHUTDOWN_DRAIN_MS). */
const DRAIN = 1000
/** Every wait of this test ends by then, in milliseconds after SIGTERM. */
const DEADLINE = 12_000

/** What became of one request. */
interface Outcome {
  /** When it was sent, in milliseconds since SIGTERM (negative: before). */
  sentAt: number
  /** When it ended, in milliseconds since SIGTERM (negative: before). */
  at: number
  status?: number
  id?: string
  connection?: string
  retryAfter?: string
  /** The client's error code (ECONNRESET, ECONNREFUSED) or message ("socket hang up"). */
  error?: string
  /** Whether it was sent on a connection that had carried an earlier request. */
  reused: boolean
}

function send(options: { port: number, path: string, method: string, agent: Agent, headers: Record<string, string>, body?: string }, since: () => number): Promise<Outcome> {
  const sentAt = since()
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port: options.port, path: options.path, method: options.method, agent: options.agent, headers: options.headers })
    req.on('response', (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { text += chunk })
      res.on('end', () => {
        let id: string | undefined
        try { id = (JSON.parse(text) as { id?: string }).id } catch { id = undefined }
        resolve({ sentAt, at: since(), status: res.statusCode ?? 0, ...(id === undefined ? {} : { id }), ...(res.headers.connection === undefined ? {} : { connection: res.headers.connection }), ...(res.headers['retry-after'] === undefined ? {} : { retryAfter: res.headers['retry-after'] }), reused: req.reusedSocket })
      })
      res.on('error', (error: NodeJS.ErrnoException) => { resolve({ sentAt, at: since(), error: error.code ?? error.message, reused: req.reusedSocket }) })
    })
    req.on('error', (error: NodeJS.ErrnoException) => { resolve({ sentAt, at: since(), error: error.code ?? error.message, reused: req.reusedSocket }) })
    req.end(options.body)
  })
}

describe('the shutdown states', () => {
  test('once shutdown has begun: readiness answers 503 saying so, and every response closes its connection, while requests are served', async () => {
    const harness = await startHarness('sqlite')
    try {
      const { app, callers } = harness
      const before = await app.inject({ url: '/health/ready' })
      assert.equal(before.statusCode, 200)
      assert.notEqual(before.headers.connection, 'close')

      app.shutdown.begin()
      const ready = await app.inject({ url: '/health/ready' })
      assert.equal(ready.statusCode, 503)
      assert.equal(ready.headers.connection, 'close')
      assert.deepEqual(ready.json(), {
        status: 'not ready',
        checks: { signingKeys: true, database: true },
        reasons: ['shutting down: finishing the requests in progress; send new requests to another instance']
      })
      const created = await app.inject({ method: 'POST', url: '/api/todos', headers: bearer(await callers.user(callers.alice, ['Todo.Write'])), payload: { title: 'During the drain' } })
      assert.equal(created.statusCode, 201)
      assert.equal(created.headers.connection, 'close')
    } finally {
      await harness.close()
    }
  })

  test('once refusing: a new request is answered 503 with Retry-After before anything runs, and nothing is written', async () => {
    const harness = await startHarness('sqlite')
    try {
      const { app, callers, store } = harness
      app.shutdown.refuse()
      const token = await callers.user(callers.alice, ['Todo.Read', 'Todo.Write'])
      const refused = await app.inject({ method: 'POST', url: '/api/todos', headers: bearer(token), payload: { title: 'Too late' } })
      assert.equal(refused.statusCode, 503)
      assert.equal(refused.headers['retry-after'], '1')
      assert.equal(refused.headers.connection, 'close')
      assert.equal(refused.json<{ code: string }>().code, 'SHUTTING_DOWN')
      // Before authentication: no token needed to learn that the service is going away, and no 401 instead.
      assert.equal((await app.inject({ url: '/api/todos' })).statusCode, 503)
      // The probes still answer, and say why.
      const ready = await app.inject({ url: '/health/ready' })
      assert.equal(ready.statusCode, 503)
      assert.match(ready.json<{ reasons: string[] }>().reasons[0] ?? '', /^shutting down/)
      assert.equal((await app.inject({ url: '/health/live' })).statusCode, 200)
      assert.deepEqual((await store.list({ filter: {}, limit: 10 })).items, [])
    } finally {
      await harness.close()
    }
  })
})

/** The service's database: SQLite in `dataDir`, or a fresh schema of TEST_DATABASE_URL; the stored ids, read after the exit. */
async function serviceDatabase(engine: Engine, dataDir: string): Promise<{ env: Record<string, string>, ids: () => Promise<Set<string>>, dispose: () => Promise<void> }> {
  if (engine === 'sqlite') {
    return {
      env: {},
      ids: () => {
        const database = new Database(join(dataDir, 'todos.sqlite'), { readonly: true })
        try {
          return Promise.resolve(new Set(database.prepare('SELECT id FROM todos').pluck().all() as string[]))
        } finally {
          database.close()
        }
      },
      dispose: () => Promise.resolve()
    }
  }
  const url = postgresUrl()
  if (url === undefined) throw new Error('TEST_DATABASE_URL is not set')
  const schema = freshSchema()
  const query = async <T extends pg.QueryResultRow>(sql: string): Promise<T[]> => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      return (await client.query<T>(sql)).rows
    } finally {
      await client.end()
    }
  }
  await query(`CREATE SCHEMA "${schema}"`)
  // The service migrates into, and writes to, the first schema of its search_path.
  const service = new URL(url)
  service.searchParams.set('options', `-c search_path=${schema}`)
  return {
    env: { DATABASE_URL: service.toString() },
    ids: async () => new Set((await query<{ id: string }>(`SELECT id FROM "${schema}".todos`)).map((r) => r.id)),
    dispose: () => dropSchema(url, schema)
  }
}

for (const engine of ENGINES) {
  test(`SIGTERM under a keep-alive write load (${engine}): not ready at once, no request reset, every 201 stored, exit 0`, {
    timeout: 60_000, skip: engine === 'postgres' ? skipWithoutPostgres() : false
  }, (t) => loadThenSigterm(t, engine))
}

async function loadThenSigterm(t: TestContext, engine: Engine): Promise<void> {
  const dir = tempDir()
  const issuer = await startTestIssuer()
  const database = await serviceDatabase(engine, dir.path)
  const env = serviceEnv({
    NODE_ENV: 'production', DATA_DIR: dir.path, PORT: '0', HOST: '127.0.0.1', SHUTDOWN_DRAIN_MS: String(DRAIN),
    AZURE_TENANT_ID: issuer.tenantId, AZURE_CLIENT_ID: issuer.clientId, AZURE_AUTHORITY_HOST: issuer.url,
    ...database.env
  })
  const server = new Child(process.execPath, ['--import', 'tsx', SERVER_ENTRY], { cwd: REPO_ROOT, env })
  const writers = new Agent({ keepAlive: true, maxSockets: WRITERS })
  const probes = new Agent({ keepAlive: false })
  try {
    const [, portText] = await server.waitFor(/"msg":"Server listening at http:\/\/127\.0\.0\.1:(\d+)"/)
    const port = Number(portText)
    const token = await issuer.mint({ scopes: ['Todo.Write'] })
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }

    let sigtermAt = Number.POSITIVE_INFINITY
    const since = () => Date.now() - sigtermAt
    let exitedAt: number | undefined
    void server.exited.then(() => { exitedAt = since() })
    const running = () => exitedAt === undefined && since() < DEADLINE

    const outcomes: Outcome[] = []
    // Writes answered 201, per writer; `answered` is notified after each outcome.
    const createdBy = Array.from({ length: WRITERS }, () => 0)
    const answered = new Signal()
    const writer = async (w: number) => {
      for (let n = 0; running(); n++) {
        const body = JSON.stringify({ title: `writer ${w}, request ${n}` })
        const outcome = await send({ port, path: '/api/todos', method: 'POST', agent: writers, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, body }, since)
        outcomes.push(outcome)
        if (outcome.status === 201) createdBy[w] = (createdBy[w] ?? 0) + 1
        answered.notify()
        // Refused, unprocessed (503 with Retry-After, or the listener closed): a client sends it to another
        // instance. This one has none, so the writer stops.
        if (outcome.status === 503 || outcome.error === 'ECONNREFUSED') return
      }
    }
    const readiness: Outcome[] = []
    const prober = async () => {
      while (running()) {
        readiness.push(await send({ port, path: '/health/ready', method: 'GET', agent: probes, headers: {} }, since))
        // Slower than the service's 100 ms quiet before it closes the listener (a kubelet probes every few seconds).
        await new Promise((resolve) => setTimeout(resolve, 250))
      }
    }

    const load = Promise.all([...Array.from({ length: WRITERS }, (_, w) => writer(w)), prober()])
    // SIGTERM lands under load: once every writer is writing on its kept-alive connection, not after a fixed time.
    await answered.until(() => createdBy.every((n) => n >= LOAD_BEFORE_SIGTERM), 20_000,
      () => `${String(LOAD_BEFORE_SIGTERM)} writes answered 201 per writer (so far ${createdBy.join(', ')}; ${JSON.stringify(outcomes.filter((o) => o.status !== 201).slice(0, 5))})`)
    sigtermAt = Date.now()
    server.process.kill('SIGTERM')
    const code = await server.exited
    await load

    const created = outcomes.filter((o) => o.status === 201)
    const unavailable = outcomes.filter((o) => o.status === 503)
    const refused = outcomes.filter((o) => o.error === 'ECONNREFUSED')
    const failed = outcomes.filter((o) => !(o.status === 201 || o.status === 503 || o.error === 'ECONNREFUSED'))
    const afterSigterm = created.filter((o) => o.at > 0)
    const notReady = readiness.filter((o) => o.at > 0 && o.status === 503)
    // Once readiness said 503, the drain has begun: every later request is answered with Connection: close.
    const drainSeen = notReady[0]?.at ?? Number.POSITIVE_INFINITY
    const readyAgain = readiness.filter((o) => o.sentAt > drainSeen && o.status !== undefined && o.status !== 503)
    const keptOpen = outcomes.filter((o) => o.sentAt > drainSeen && o.status !== undefined && o.connection !== 'close')

    const ids = await database.ids()
    const missing = created.filter((o) => o.id === undefined || !ids.has(o.id))

    t.diagnostic(`${outcomes.length} requests from ${WRITERS} keep-alive writers: ${created.length} answered 201 (${afterSigterm.length} after SIGTERM), ` +
      `${unavailable.length} answered 503, ${refused.length} refused on a new connection once the listener closed, ${failed.length} failed otherwise`)
    t.diagnostic(`rows in the database: ${ids.size}, 201s checked: ${created.length}, missing: ${missing.length}`)
    t.diagnostic(`readiness: first 503 ${notReady[0]?.at ?? 'never'} ms after SIGTERM; exit ${exitedAt ?? 'not seen'} ms after SIGTERM (drain ${DRAIN} ms), code ${String(code)}`)

    assert.deepEqual(failed.map((o) => `${o.error ?? `status ${String(o.status)}`} at ${o.at} ms${o.reused ? ' on a reused connection' : ''}`), [], 'no request reset or failed')
    assert.equal(code, 0, server.stderr)
    assert.deepEqual(unavailable.filter((o) => o.retryAfter === undefined || o.connection !== 'close'), [], 'a 503 has Retry-After and closes its connection')
    assert.ok(created.length > WRITERS, 'the load ran')
    assert.ok(created.some((o) => o.at < 0 && o.reused), 'writes before SIGTERM were sent on kept-alive connections')
    assert.ok(afterSigterm.length > 0, 'requests were served during the drain')
    assert.deepEqual(missing, [], 'every 201 is in the database')
    assert.equal(ids.size, created.length, 'every row stored was answered 201')
    assert.ok(notReady.length > 0, 'readiness answered 503 during the drain')
    assert.deepEqual(readyAgain.map((o) => o.status), [], 'readiness answered 503 from then on')
    assert.deepEqual(keptOpen.map((o) => o.status), [], 'every response of the drain closes its connection')
    assert.ok(exitedAt !== undefined && exitedAt >= DRAIN, 'the process served through the drain before exiting')
    const messages = server.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { msg?: string }).msg ?? '')
    assert.ok(messages.includes('shut down'), 'the shutdown completed')
  } finally {
    writers.destroy()
    probes.destroy()
    await server.stop('SIGKILL')
    await issuer.close()
    await database.dispose()
    dir.remove()
  }
}
