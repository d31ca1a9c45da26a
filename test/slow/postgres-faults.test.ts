import assert from 'node:assert/strict'
import { connect, createServer } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'
import { after, before, describe, test } from 'node:test'
import type { TestContext } from 'node:test'
import pg from 'pg'
import { startTestIssuer } from 'fastify-entra-id/testing'
import type { TestIssuer } from 'fastify-entra-id/testing'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { openPostgresStore } from '../../src/store/postgres-store.js'
import type { PostgresStoreOptions } from '../../src/store/postgres-store.js'
import { StoreUnavailableError } from '../../src/store/store.js'
import type { TodoStore } from '../../src/store/store.js'
import { Callers, bearer, envFor, tempDir } from '../helpers/app.js'
import { dropSchema, freshSchema, postgresUrl, skipWithoutPostgres, withHostPort } from '../helpers/postgres.js'
import { Signal } from '@fastify-entra-id/test-kit'
import { TcpProxy } from '../helpers/tcp-proxy.js'

/*
 * PostgreSQL failing under the service: a lock that never comes, answers that never arrive, the server gone for a
 * while under load. What must hold: a write answered 503 is not in the table, every 201 is, and a client that
 * retries with its Idempotency-Key gets one todo per write. Short timeouts keep each case to a few seconds.
 */

const TIMEOUTS = { connectTimeout: 1000, statementTimeout: 1000, lockTimeout: 400, idleInTransactionTimeout: 2000, queryTimeout: 2000 } satisfies Partial<PostgresStoreOptions>

interface TodoBody { id: string, title: string }

/** The database, a fresh schema, a direct connection to inspect it, and the app over a store of `options`. */
class Setup {
  readonly url = postgresUrl() ?? ''
  readonly schema = freshSchema()
  readonly dir = tempDir()
  admin!: pg.Client
  issuer!: TestIssuer
  callers!: Callers
  store!: TodoStore
  app!: FastifyInstance

  async start(storeOptions: Partial<PostgresStoreOptions> & { connectionString?: string }): Promise<void> {
    this.admin = new pg.Client({ connectionString: this.url, options: `-c search_path=${this.schema}` })
    await this.admin.connect()
    this.issuer = await startTestIssuer()
    this.callers = new Callers(this.issuer)
    this.store = await openPostgresStore({ connectionString: this.url, ...storeOptions, schema: this.schema })
    this.app = await buildApp({ env: envFor(this.issuer, this.dir.path), store: this.store })
  }

  async stop(): Promise<void> {
    await this.app.close()
    await this.store.close()
    await this.issuer.close()
    await this.admin.end()
    await dropSchema(this.url, this.schema)
    this.dir.remove()
  }

  /** The rows titled `title`, read directly. */
  async rows(title: string): Promise<string[]> {
    return (await this.admin.query<{ id: string }>('SELECT id FROM todos WHERE title = $1', [title])).rows.map((r) => r.id)
  }

  async post(title: string, key?: string) {
    return this.app.inject({
      method: 'POST', url: '/api/todos', payload: { title },
      headers: { ...bearer(await this.callers.user(this.callers.alice, ['Todo.Write'])), ...(key === undefined ? {} : { 'idempotency-key': key }) }
    })
  }
}

/**
 * A TCP proxy on loopback that can hold the server's answers: once armed with {@link freezeAnswersAfter}, the
 * client's bytes keep flowing to the server, but from the chunk that contains `text` on, nothing flows back until
 * {@link thaw}. The server runs the statement; the client never hears of it (a server that hangs after running
 * it, or a network that loses the answer).
 */
class FreezingProxy {
  readonly #target: { host: string, port: number }
  readonly #sockets = new Set<Socket>()
  readonly #held: [Socket, Buffer][] = []
  #server: Server | null = null
  #trigger: string | null = null
  #frozen = false
  #port = 0

  constructor(target: { host: string, port: number }) {
    this.#target = target
  }

  get port(): number {
    return this.#port
  }

  /** Whether answers are being held. */
  get frozen(): boolean {
    return this.#frozen
  }

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.#target.port, this.#target.host)
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket)
        socket.on('close', () => { this.#sockets.delete(socket); client.destroy(); upstream.destroy() })
        socket.on('error', () => { client.destroy(); upstream.destroy() })
      }
      client.on('data', (chunk: Buffer) => {
        upstream.write(chunk)
        if (this.#trigger !== null && chunk.includes(this.#trigger)) {
          this.#trigger = null
          this.#frozen = true
        }
      })
      upstream.on('data', (chunk: Buffer) => {
        if (this.#frozen) this.#held.push([client, chunk])
        else client.write(chunk)
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    this.#port = (server.address() as AddressInfo).port
    this.#server = server
  }

  freezeAnswersAfter(text: string): void {
    this.#trigger = text
  }

  /** Lets answers flow again, the held ones first (to whichever client is still there). */
  thaw(): void {
    this.#frozen = false
    this.#trigger = null
    for (const [socket, chunk] of this.#held.splice(0)) if (!socket.destroyed) socket.write(chunk)
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    const server = this.#server
    this.#server = null
    if (server !== null) await new Promise<void>((resolve) => server.close(() => { resolve() }))
  }
}

describe('PostgreSQL faults', { skip: skipWithoutPostgres() }, () => {
  describe('a statement the server aborts', () => {
    const s = new Setup()
    before(async () => { await s.start(TIMEOUTS) })
    after(async () => { await s.stop() })

    test('a write waiting on a lock is aborted by the server (lock_timeout): 503 with Retry-After, and not in the table once the lock is gone', async () => {
      await s.admin.query('BEGIN')
      await s.admin.query('LOCK TABLE todos IN EXCLUSIVE MODE')
      let res
      try {
        res = await s.post('Blocked by a lock')
        await assert.rejects(s.store.create({ tenantId: 't', objectId: 'o' }, { title: 'Blocked by a lock', done: false }), (error: unknown) => {
          assert.ok(error instanceof StoreUnavailableError)
          // The server's own abort, not our giving up on its answer: nothing can commit it later.
          assert.equal((error.cause as { code?: string }).code, '55P03')
          return true
        })
      } finally {
        await s.admin.query('COMMIT')
      }
      assert.equal(res.statusCode, 503, res.body)
      assert.equal(res.headers['retry-after'], '5')
      assert.deepEqual(await s.rows('Blocked by a lock'), [])
      assert.equal((await s.post('After the lock')).statusCode, 201)
    })

    test('without lock_timeout, statement_timeout aborts it (57014)', async () => {
      const store = await openPostgresStore({ connectionString: s.url, schema: s.schema, ...TIMEOUTS, lockTimeout: 0 })
      await s.admin.query('BEGIN')
      await s.admin.query('LOCK TABLE todos IN EXCLUSIVE MODE')
      try {
        await assert.rejects(store.create({ tenantId: 't', objectId: 'o' }, { title: 'Too slow', done: false }), (error: unknown) => {
          assert.ok(error instanceof StoreUnavailableError)
          assert.equal((error.cause as { code?: string }).code, '57014')
          return true
        })
      } finally {
        await s.admin.query('COMMIT')
        await store.close()
      }
      assert.deepEqual(await s.rows('Too slow'), [])
    })
  })

  describe('answers that never arrive', () => {
    const s = new Setup()
    const target = new URL(s.url)
    const proxy = new FreezingProxy({ host: target.hostname, port: Number(target.port || 5432) })
    before(async () => {
      await proxy.start()
      await s.start({ ...TIMEOUTS, connectionString: withHostPort(s.url, '127.0.0.1', proxy.port) })
    })
    after(async () => { proxy.thaw(); await s.stop(); await proxy.close() })

    test('a write whose answer is held answers 503, and is not committed when the server\'s answers flow again', async () => {
      // The server receives and runs the INSERT, but its answer is held: as if it hung right after running it.
      proxy.freezeAnswersAfter('insert into "todos"')
      const res = await s.post('Answer lost')
      assert.equal(res.statusCode, 503, res.body)
      assert.ok(proxy.frozen, 'the INSERT reached the server')
      proxy.thaw()
      // In its own transaction, the INSERT cannot commit without our COMMIT, which was never sent: the connection
      // was closed instead. Autocommitted, it would be in the table now.
      assert.deepEqual(await s.rows('Answer lost'), [])
      const next = await s.post('After the freeze')
      assert.equal(next.statusCode, 201, next.body)
      assert.deepEqual(await s.rows('Answer lost'), [])
    })
  })

  describe('the server gone under a write load', () => {
    const s = new Setup()
    const target = new URL(s.url)
    const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
    let base = ''
    before(async () => {
      await proxy.start()
      await s.start({ ...TIMEOUTS, connectionString: withHostPort(s.url, '127.0.0.1', proxy.port) })
      base = await s.app.listen({ host: '127.0.0.1', port: 0 })
    })
    after(async () => { await proxy.start().catch(() => undefined); await s.stop(); await proxy.stop() })

    test('8 writers, the database cut under load until every writer was refused twice: every 201 is in the table once, retries with the key make no duplicates, no 500', async (t: TestContext) => {
      const WRITERS = 8
      // The outage is driven by what the writers see, not by the clock: the database is cut once this many writes
      // were accepted, comes back once every writer was refused this many times while it was down, and the load
      // ends once every writer had this many writes accepted after it came back.
      const ACCEPTED_BEFORE_CUT = 40
      const REFUSED_DURING_CUT = 2
      const ACCEPTED_AFTER_RESTORE = 5
      // The writers' own backoff after a 503 or 409, as a client's: shorter than the advised Retry-After (5 s), to
      // keep the test short. It paces the writers; the test never waits on it.
      const RETRY_MS = 50
      // A failure deadline: a phase not reached, or a write still unanswered, by then fails the test.
      const DEADLINE_MS = 30_000
      const tally = { requests: 0, created: 0, replayed: 0, unavailable: 0, inUse: 0, other: 0, withoutRetryAfter: 0, errors: 0 }
      const accepted = new Map<string, string>()
      const unresolved: string[] = []
      const started = Date.now()
      const deadline = started + DEADLINE_MS
      let phase: 'before the cut' | 'cut' | 'restored' | 'done' = 'before the cut'
      const refusedDuringCut = Array.from({ length: WRITERS }, () => 0)
      const acceptedAfterRestore = Array.from({ length: WRITERS }, () => 0)
      // Notified after every answer a writer gets.
      const answered = new Signal()
      const remaining = () => Math.max(0, deadline - Date.now())

      const outage = (async () => {
        try {
          await answered.until(() => accepted.size >= ACCEPTED_BEFORE_CUT, remaining(), `${String(ACCEPTED_BEFORE_CUT)} writes accepted before the cut`)
          phase = 'cut'
          await proxy.stop()
          await answered.until(() => refusedDuringCut.every((n) => n >= REFUSED_DURING_CUT), remaining(),
            () => `every writer refused ${String(REFUSED_DURING_CUT)} times while the database is down (${refusedDuringCut.join(', ')})`)
          await proxy.start()
          phase = 'restored'
          await answered.until(() => acceptedAfterRestore.every((n) => n >= ACCEPTED_AFTER_RESTORE), remaining(),
            () => `${String(ACCEPTED_AFTER_RESTORE)} writes accepted per writer once the database is back (${acceptedAfterRestore.join(', ')})`)
        } finally {
          phase = 'done'
        }
      })()

      async function writer(w: number): Promise<void> {
        const token = await s.callers.user(w % 2 === 0 ? s.callers.alice : s.callers.bob, ['Todo.Write'])
        for (let n = 0; phase !== 'done'; n++) {
          const title = `w${String(w)}-n${String(n)}`
          const key = `"${title}-${String(started)}"`
          for (;;) {
            if (Date.now() > deadline) { unresolved.push(title); break }
            tally.requests += 1
            let res: Response
            try {
              res = await fetch(`${base}/api/todos`, {
                method: 'POST',
                headers: { ...bearer(token), 'content-type': 'application/json', 'idempotency-key': key },
                body: JSON.stringify({ title })
              })
            } catch {
              tally.errors += 1
              answered.notify()
              await sleep(RETRY_MS)
              continue
            }
            const body = await res.json() as TodoBody
            if (res.status === 201) {
              if (res.headers.get('idempotent-replayed') === 'true') tally.replayed += 1
              else tally.created += 1
              const first = accepted.get(title)
              assert.ok(first === undefined || first === body.id, `${title} was answered with two todos`)
              assert.equal(body.title, title)
              accepted.set(title, body.id)
              if (phase === 'restored') acceptedAfterRestore[w] = (acceptedAfterRestore[w] ?? 0) + 1
              answered.notify()
              break
            }
            if (res.status === 503 || res.status === 409) {
              if (res.status === 503) tally.unavailable += 1
              else tally.inUse += 1
              if (res.headers.get('retry-after') === null) tally.withoutRetryAfter += 1
              if (res.status === 503 && phase === 'cut') refusedDuringCut[w] = (refusedDuringCut[w] ?? 0) + 1
              answered.notify()
              await sleep(RETRY_MS)
              continue
            }
            tally.other += 1
            answered.notify()
            assert.fail(`unexpected ${String(res.status)}: ${JSON.stringify(body)}`)
          }
        }
      }

      await Promise.all([outage, ...Array.from({ length: WRITERS }, (_, w) => writer(w))])
      const rows = (await s.admin.query<{ id: string, title: string }>('SELECT id, title FROM todos')).rows
      t.diagnostic(`requests ${String(tally.requests)}: 201 created ${String(tally.created)}, 201 replayed ${String(tally.replayed)}, ` +
        `503 ${String(tally.unavailable)}, 409 ${String(tally.inUse)}, other ${String(tally.other)}, network errors ${String(tally.errors)}; ` +
        `writes accepted ${String(accepted.size)}, unresolved ${String(unresolved.length)}; rows checked ${String(rows.length)}`)

      assert.deepEqual(unresolved, [])
      assert.equal(tally.other, 0)
      assert.equal(tally.errors, 0)
      assert.equal(tally.withoutRetryAfter, 0)
      // The outage was felt (else this test proves nothing), and the service came back.
      assert.ok(tally.unavailable > 0, 'no write met the outage')
      const byId = new Map(rows.map((r) => [r.id, r.title]))
      for (const [title, id] of accepted) assert.equal(byId.get(id), title, `201 for ${title} (${id}) is not in the table`)
      // One row per accepted write: no retry made a duplicate, and nothing unacknowledged was stored.
      assert.equal(rows.length, accepted.size)
      assert.equal(new Set(rows.map((r) => r.title)).size, rows.length)
    })
  })
})

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
