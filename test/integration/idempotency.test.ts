import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import pg from 'pg'
import { startTestIssuer } from 'fastify-entra-id/testing'
import type { TestIssuer } from 'fastify-entra-id/testing'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { buildApp } from '../../src/app.js'
import { DEFAULT_IDEMPOTENCY_KEY_TTL } from '../../src/store/kysely-store.js'
import { openPostgresStore } from '../../src/store/postgres-store.js'
import { openSqliteStore } from '../../src/store/sqlite-store.js'
import { IdempotencyKeyInUseError, StoreUnavailableError } from '../../src/store/store.js'
import type { TodoStore } from '../../src/store/store.js'
import { parseIdempotencyKey } from '../../src/http/idempotency-key.js'
import { Callers, ENGINES, bearer, envFor, tempDir } from '../helpers/app.js'
import type { Engine } from '../helpers/app.js'
import { dropSchema, freshSchema, postgresUrl, skipWithoutPostgres, withHostPort } from '../helpers/postgres.js'
import { TcpProxy } from '../helpers/tcp-proxy.js'

interface TodoBody { id: string, title: string, done: boolean, owner: { tid: string, oid: string } }
interface PageBody { items: TodoBody[] }
interface ErrorBody { code?: string, message: string }

/** A clock the test moves: milliseconds since the epoch. */
class Clock {
  ms = Date.UTC(2026, 0, 1)
  readonly now = (): number => this.ms
}

/** A store of `engine` on the test's clock, and its disposal. */
async function openClockedStore(engine: Engine, dir: string, clock: Clock): Promise<{ store: TodoStore, dispose: () => Promise<void> }> {
  if (engine === 'sqlite') {
    const store = await openSqliteStore({ file: join(dir, `${freshSchema()}.sqlite`), now: clock.now })
    return { store, dispose: () => store.close() }
  }
  const url = postgresUrl() as string
  const schema = freshSchema()
  const store = await openPostgresStore({ connectionString: url, schema, now: clock.now })
  return { store, dispose: async () => { await store.close(); await dropSchema(url, schema) } }
}

for (const engine of ENGINES) {
  describe(`Idempotency-Key on POST /api/todos (${engine})`, { skip: engine === 'postgres' ? skipWithoutPostgres() : false }, () => {
    const dir = tempDir()
    const clock = new Clock()
    let issuer: TestIssuer
    let callers: Callers
    let store: TodoStore
    let dispose: () => Promise<void>
    let app: FastifyInstance
    before(async () => {
      issuer = await startTestIssuer()
      callers = new Callers(issuer)
      ;({ store, dispose } = await openClockedStore(engine, dir.path, clock))
      app = await buildApp({ env: envFor(issuer, dir.path), store })
    })
    after(async () => {
      await app.close()
      await dispose()
      await issuer.close()
      dir.remove()
    })

    async function post(user: string, body: object, key?: string): Promise<LightMyRequestResponse> {
      return app.inject({
        method: 'POST', url: '/api/todos',
        headers: { ...bearer(await callers.user(user, ['Todo.Write'])), ...(key === undefined ? {} : { 'idempotency-key': key }) },
        payload: body
      })
    }

    async function titled(user: string, title: string): Promise<TodoBody[]> {
      const res = await app.inject({ url: '/api/todos?limit=100', headers: bearer(await callers.user(user, ['Todo.Read'])) })
      return res.json<PageBody>().items.filter((t) => t.title === title)
    }

    test('a repeat with the same key and body returns the first answer (201, same todo and Location) and creates nothing', async () => {
      const first = await post(callers.alice, { title: 'Pay rent' }, '"rent-2026-01"')
      assert.equal(first.statusCode, 201, first.body)
      assert.equal(first.headers['idempotent-replayed'], undefined)
      const again = await post(callers.alice, { title: 'Pay rent' }, '"rent-2026-01"')
      assert.equal(again.statusCode, 201, again.body)
      assert.equal(again.headers['idempotent-replayed'], 'true')
      assert.deepEqual(again.json(), first.json())
      assert.equal(again.headers.location, first.headers.location)
      // The bare form of the same key is the same key.
      const bare = await post(callers.alice, { title: 'Pay rent' }, 'rent-2026-01')
      assert.deepEqual([bare.statusCode, bare.json()], [201, first.json()])
      assert.equal((await titled(callers.alice, 'Pay rent')).length, 1)
    })

    test('the body is compared by meaning: an omitted done is done: false', async () => {
      const first = await post(callers.alice, { title: 'Defaults' }, 'k-defaults')
      const explicit = await post(callers.alice, { done: false, title: 'Defaults' }, 'k-defaults')
      assert.deepEqual([explicit.statusCode, explicit.headers['idempotent-replayed'], explicit.json()], [201, 'true', first.json()])
    })

    test('a replay returns the first answer even after the todo changed', async () => {
      const first = await post(callers.alice, { title: 'Will change' }, 'k-change')
      const { id } = first.json<TodoBody>()
      const patch = await app.inject({ method: 'PATCH', url: `/api/todos/${id}`, headers: bearer(await callers.user(callers.alice, ['Todo.Write'])), payload: { done: true } })
      assert.equal(patch.statusCode, 200)
      const again = await post(callers.alice, { title: 'Will change' }, 'k-change')
      assert.deepEqual([again.statusCode, again.json<TodoBody>().done, again.json<TodoBody>().id], [201, false, id])
    })

    test('the same key with another body is a 422, and creates nothing', async () => {
      assert.equal((await post(callers.alice, { title: 'Original' }, 'k-reused')).statusCode, 201)
      const other = await post(callers.alice, { title: 'Something else' }, 'k-reused')
      assert.equal(other.statusCode, 422, other.body)
      assert.equal(other.json<ErrorBody>().code, 'TODO_IDEMPOTENCY_KEY_REUSED')
      const flipped = await post(callers.alice, { title: 'Original', done: true }, 'k-reused')
      assert.equal(flipped.statusCode, 422)
      assert.deepEqual(await titled(callers.alice, 'Something else'), [])
      assert.equal((await titled(callers.alice, 'Original')).length, 1)
    })

    test('keys belong to their caller: another user with the same key gets their own todo', async () => {
      const alices = await post(callers.alice, { title: 'Shared key' }, 'k-shared')
      const bobs = await post(callers.bob, { title: 'Shared key' }, 'k-shared')
      assert.equal(bobs.statusCode, 201)
      assert.equal(bobs.headers['idempotent-replayed'], undefined)
      assert.notEqual(bobs.json<TodoBody>().id, alices.json<TodoBody>().id)
      assert.equal(bobs.json<TodoBody>().owner.oid, callers.bob)
      // An application's key is its own too.
      const daemon = await app.inject({
        method: 'POST', url: '/api/todos', headers: { ...bearer(await callers.app(['Todo.Write.All'])), 'idempotency-key': 'k-shared' }, payload: { title: 'Shared key' }
      })
      assert.deepEqual([daemon.statusCode, daemon.json<TodoBody>().owner.oid], [201, callers.daemon])
    })

    test('a key is remembered for 24 hours of the store\'s clock, then a repeat creates a new todo', async () => {
      const first = await post(callers.alice, { title: 'Daily' }, 'k-expiry')
      clock.ms += DEFAULT_IDEMPOTENCY_KEY_TTL - 1
      const within = await post(callers.alice, { title: 'Daily' }, 'k-expiry')
      assert.deepEqual([within.headers['idempotent-replayed'], within.json<TodoBody>().id], ['true', first.json<TodoBody>().id])
      clock.ms += 1
      const expired = await post(callers.alice, { title: 'Daily' }, 'k-expiry')
      assert.equal(expired.statusCode, 201)
      assert.equal(expired.headers['idempotent-replayed'], undefined)
      assert.notEqual(expired.json<TodoBody>().id, first.json<TodoBody>().id)
      // Expired, the key is free for another body too; and it is now the new todo's.
      const replay = await post(callers.alice, { title: 'Daily' }, 'k-expiry')
      assert.equal(replay.json<TodoBody>().id, expired.json<TodoBody>().id)
      assert.equal((await titled(callers.alice, 'Daily')).length, 2)
    })

    test('without the header, behaviour is unchanged: two identical POSTs create two todos', async () => {
      await post(callers.alice, { title: 'No key' })
      await post(callers.alice, { title: 'No key' })
      assert.equal((await titled(callers.alice, 'No key')).length, 2)
    })

    test('a duplicate while the first is in progress is refused (IdempotencyKeyInUseError: 409), then replays', async () => {
      const owner = { tenantId: 't-store', objectId: 'o-store' }
      const first = store.create(owner, { title: 'Concurrent', done: false }, { idempotencyKey: 'k-concurrent' })
      const second = store.create(owner, { title: 'Concurrent', done: false }, { idempotencyKey: 'k-concurrent' })
      await assert.rejects(second, IdempotencyKeyInUseError)
      const created = await first
      assert.equal(created.replayed, false)
      const third = await store.create(owner, { title: 'Concurrent', done: false }, { idempotencyKey: 'k-concurrent' })
      assert.deepEqual(third, { todo: created.todo, replayed: true })
    })

    const malformed: [string, string][] = [
      ['an empty key', ''],
      ['an empty quoted key', '""'],
      ['a key of 256 characters', 'k'.repeat(256)],
      ['a key with a control character', 'a\u0001b'],
      ['a key with a tab', '"a\tb"'],
      ['a key that is not ASCII', 'clé'],
      ['an unterminated quoted key', '"abc'],
      ['two keys (a repeated header)', '"a", "b"'],
      ['a bare key with a space', 'a b'],
      ['a key with parameters', '"abc";x=1']
    ]
    for (const [name, key] of malformed) {
      test(`refuses ${name}: 400 naming headers/idempotency-key, nothing created`, async () => {
        const res = await post(callers.alice, { title: `Malformed ${name}` }, key)
        assert.equal(res.statusCode, 400, res.body)
        assert.match(res.json<ErrorBody>().message, /^headers\/idempotency-key must be 1 to 255 printable ASCII characters/)
        assert.deepEqual(await titled(callers.alice, `Malformed ${name}`), [])
      })
    }

    test('accepts the longest key (255 characters), bare or quoted with escapes', async () => {
      const long = await post(callers.alice, { title: 'Long key' }, 'k'.repeat(255))
      assert.equal(long.statusCode, 201, long.body)
      const escaped = await post(callers.alice, { title: 'Escaped key' }, '"say \\"hi\\" \\\\ bye"')
      assert.equal(escaped.statusCode, 201, escaped.body)
      assert.equal(parseIdempotencyKey('"say \\"hi\\" \\\\ bye"'), 'say "hi" \\ bye')
    })
  })
}

describe('Idempotency-Key in OpenAPI', () => {
  test('POST /api/todos declares the optional idempotency-key header and its 409 and 422 answers', async () => {
    const dir = tempDir()
    const issuer = await startTestIssuer()
    const app = await buildApp({ env: envFor(issuer, dir.path) })
    try {
      const doc = (await app.inject({ url: '/docs/json' })).json<{ paths: Record<string, Record<string, { parameters?: { in: string, name: string, required: boolean, description?: string }[], responses: Record<string, { description?: string }> }>> }>()
      const post = doc.paths['/api/todos']?.post
      const header = post?.parameters?.find((p) => p.in === 'header' && p.name === 'idempotency-key')
      assert.equal(header?.required, false)
      assert.match(header?.description ?? '', /draft-ietf-httpapi-idempotency-key-header/)
      assert.match(post?.responses['409']?.description ?? '', /TODO_IDEMPOTENCY_KEY_IN_USE/)
      assert.match(post?.responses['422']?.description ?? '', /TODO_IDEMPOTENCY_KEY_REUSED/)
    } finally {
      await app.close()
      await issuer.close()
      dir.remove()
    }
  })
})

describe('Idempotency-Key across instances (PostgreSQL)', { skip: skipWithoutPostgres() }, () => {
  const url = postgresUrl() ?? ''
  const schema = freshSchema()
  const owner = { tenantId: 't-instances', objectId: 'o-instances' }
  // The first instance reaches the database through a proxy, which tells the test when a statement was sent.
  const target = new URL(url || 'postgres://127.0.0.1')
  const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
  let one: TodoStore
  let two: TodoStore
  let admin: pg.Client
  before(async () => {
    await proxy.start()
    // Two service instances on one database: the in-process guard cannot see the other one. The first waits for
    // locks longer than the second, so the second gives up while the first still holds the key.
    one = await openPostgresStore({ connectionString: withHostPort(url, '127.0.0.1', proxy.port), schema, statementTimeout: 8000, lockTimeout: 8000 })
    two = await openPostgresStore({ connectionString: url, schema, statementTimeout: 2000, lockTimeout: 300 })
    admin = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` })
    await admin.connect()
  })
  after(async () => {
    await admin.end()
    await one.close()
    await two.close()
    await proxy.stop()
    await dropSchema(url, schema)
  })

  async function rows(key: string): Promise<{ todos: number, keys: number }> {
    const keys = await admin.query<{ todo_id: string }>('SELECT todo_id FROM idempotency_keys WHERE key = $1', [key])
    const todos = await admin.query('SELECT 1 FROM todos WHERE id = ANY($1)', [keys.rows.map((r) => r.todo_id)])
    return { todos: todos.rowCount ?? 0, keys: keys.rowCount ?? 0 }
  }

  test('while one instance holds a key in an open transaction, the other answers 409, then replays its todo', async () => {
    // The first instance's todo insert waits on a table lock after it claimed the key.
    await admin.query('BEGIN')
    await admin.query('LOCK TABLE todos IN EXCLUSIVE MODE')
    // The create claims the key, then inserts the todo, in one transaction: once its INSERT was sent, the key is
    // claimed (uncommitted), and the INSERT waits on our lock.
    const inserting = proxy.forwarded('insert into "todos"')
    const first = one.create(owner, { title: 'Across', done: false }, { idempotencyKey: 'k-across' })
    await inserting
    await assert.rejects(two.create(owner, { title: 'Across', done: false }, { idempotencyKey: 'k-across' }), (error: unknown) => {
      assert.ok(error instanceof IdempotencyKeyInUseError)
      assert.equal((error.cause as { code?: string }).code, '55P03')
      return true
    })
    await admin.query('COMMIT')
    const created = await first
    const replay = await two.create(owner, { title: 'Across', done: false }, { idempotencyKey: 'k-across' })
    assert.deepEqual(replay, { todo: created.todo, replayed: true })
    assert.deepEqual(await rows('k-across'), { todos: 1, keys: 1 })
  })

  test('over HTTP, a repeat while the first request is in progress is a 409 with Retry-After, then a replay', async () => {
    const dir = tempDir()
    const issuer = await startTestIssuer()
    const app = await buildApp({ env: envFor(issuer, dir.path), store: one })
    try {
      const callers = new Callers(issuer)
      const send = async () => app.inject({
        method: 'POST', url: '/api/todos', payload: { title: 'Slow' },
        headers: { ...bearer(await callers.user(callers.alice, ['Todo.Write'])), 'idempotency-key': 'k-http' }
      })
      await admin.query('BEGIN')
      await admin.query('LOCK TABLE todos IN EXCLUSIVE MODE')
      // The first request is in progress once its INSERT was sent (the key claimed): the INSERT waits on our lock.
      const inserting = proxy.forwarded('insert into "todos"')
      const first = send()
      await inserting
      const busy = await send()
      await admin.query('COMMIT')
      assert.equal(busy.statusCode, 409, busy.body)
      assert.equal(busy.json<ErrorBody>().code, 'TODO_IDEMPOTENCY_KEY_IN_USE')
      assert.equal(busy.headers['retry-after'], '1')
      const created = await first
      assert.equal(created.statusCode, 201, created.body)
      const replay = await send()
      assert.deepEqual([replay.statusCode, replay.headers['idempotent-replayed'], replay.json()], [201, 'true', created.json()])
    } finally {
      await app.close()
      await issuer.close()
      dir.remove()
    }
  })

  test('a create that fails stores neither the todo nor the key: the key stays free', async () => {
    await admin.query('BEGIN')
    await admin.query('LOCK TABLE todos IN EXCLUSIVE MODE')
    try {
      await assert.rejects(two.create(owner, { title: 'Failed', done: false }, { idempotencyKey: 'k-failed' }), StoreUnavailableError)
    } finally {
      await admin.query('COMMIT')
    }
    assert.deepEqual(await rows('k-failed'), { todos: 0, keys: 0 })
    // Another body with that key is a new request, not a 422.
    const other = await two.create(owner, { title: 'Other', done: true }, { idempotencyKey: 'k-failed' })
    assert.equal(other.replayed, false)
    assert.deepEqual(await rows('k-failed'), { todos: 1, keys: 1 })
  })
})
