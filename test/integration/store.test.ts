import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import Sqlite from 'better-sqlite3'
import { join } from 'node:path'
import { classifyOpenFailure, openPostgresStore, postgresTarget, postgresTimeouts } from '../../src/store/postgres-store.js'
import { openSqliteStore } from '../../src/store/sqlite-store.js'
import { StoreUnavailableError } from '../../src/store/store.js'
import type { TodoStore } from '../../src/store/store.js'
import { ENGINES, openTestStore, tempDir } from '../helpers/app.js'
import { dropSchema, freshSchema, postgresUrl, skipWithoutPostgres, withHostPort } from '../helpers/postgres.js'
import { TcpProxy } from '../helpers/tcp-proxy.js'

const alice = { tenantId: 't1', objectId: 'alice' }
const bob = { tenantId: 't1', objectId: 'bob' }
const aliceElsewhere = { tenantId: 't2', objectId: 'alice' }

for (const engine of ENGINES) {
  describe(`store (${engine})`, { skip: engine === 'postgres' ? skipWithoutPostgres() : false }, () => {
    const dir = tempDir()
    let store: TodoStore
    let dispose: () => Promise<void>
    before(async () => { ({ store, dispose } = await openTestStore(engine, dir.path)) })
    after(async () => { await dispose(); dir.remove() })

    test('creates, reads back and lists a todo with its owner', async () => {
      const todo = (await store.create(alice, { title: 'One', done: false })).todo
      assert.equal(todo.title, 'One')
      assert.equal(todo.done, false)
      assert.deepEqual(todo.owner, alice)
      assert.match(todo.createdAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
      assert.deepEqual(await store.get(todo.id, alice), todo)
      assert.ok((await store.list({ filter: alice, limit: 100 })).items.some((t) => t.id === todo.id))
    })

    test('keeps owners apart: by object ID and by tenant', async () => {
      const todo = (await store.create(alice, { title: 'Mine', done: true })).todo
      assert.equal((await store.get(todo.id, bob)), null)
      assert.equal((await store.get(todo.id, aliceElsewhere)), null)
      assert.equal(await store.update(todo.id, bob, { title: 'No' }), null)
      assert.equal(await store.delete(todo.id, aliceElsewhere), false)
      assert.deepEqual(await store.get(todo.id, alice), todo)
      assert.ok((await store.list({ filter: bob, limit: 100 })).items.every((t) => t.owner.objectId === 'bob'))
    })

    test('an empty filter reaches every todo; objectId alone filters by owner', async () => {
      const b = (await store.create(bob, { title: 'Bob\'s', done: false })).todo
      const all = await store.list({ filter: {}, limit: 100 })
      assert.ok(all.items.some((t) => t.id === b.id))
      assert.ok(all.items.some((t) => t.owner.objectId === 'alice'))
      const bobs = await store.list({ filter: { objectId: 'bob' }, limit: 100 })
      assert.ok(bobs.items.length > 0 && bobs.items.every((t) => t.owner.objectId === 'bob'))
    })

    test('updates only the given fields and moves updatedAt', async () => {
      const todo = (await store.create(alice, { title: 'Before', done: false })).todo
      const done = await store.update(todo.id, alice, { done: true })
      assert.equal(done?.done, true)
      assert.equal(done?.title, 'Before')
      assert.ok((done?.updatedAt ?? '') >= todo.updatedAt)
      const renamed = await store.update(todo.id, alice, { title: 'After' })
      assert.deepEqual([renamed?.title, renamed?.done, renamed?.createdAt], ['After', true, todo.createdAt])
    })

    test('deletes once', async () => {
      const todo = (await store.create(alice, { title: 'Gone', done: false })).todo
      assert.equal(await store.delete(todo.id, alice), true)
      assert.equal(await store.delete(todo.id, alice), false)
      assert.equal(await store.get(todo.id, alice), null)
    })

    test('pages by cursor and by offset in the same order', async () => {
      const owner = { tenantId: 't3', objectId: 'pager' }
      for (let i = 0; i < 7; i++) await store.create(owner, { title: `P${i}`, done: false })
      const byCursor: string[] = []
      let page = await store.list({ filter: owner, limit: 3 })
      byCursor.push(...page.items.map((t) => t.id))
      while (page.next !== null) {
        page = await store.list({ filter: owner, limit: 3, cursor: page.next })
        byCursor.push(...page.items.map((t) => t.id))
      }
      const all = await store.list({ filter: owner, limit: 100 })
      assert.equal(all.next, null)
      assert.deepEqual(byCursor, all.items.map((t) => t.id))
      assert.equal(new Set(byCursor).size, 7)
      const skipped = await store.list({ filter: owner, limit: 3, offset: 5 })
      assert.deepEqual(skipped.items.map((t) => t.id), byCursor.slice(5))
      assert.equal(skipped.next, null)
    })

    test('keeps titles with quotes and non-ASCII characters intact', async () => {
      const title = 'It\'s "done"; DROP TABLE todos; -- ✓ 日本'
      const todo = (await store.create(alice, { title, done: false })).todo
      assert.equal((await store.get(todo.id, alice))?.title, title)
    })

    test('answers ping', async () => {
      await store.ping()
    })
  })
}

describe('store migrations', () => {
  test('run once: reopening a SQLite file keeps its todos', async () => {
    const dir = tempDir()
    const file = join(dir.path, 'todos.sqlite')
    const first = await openSqliteStore({ file })
    const todo = (await first.create(alice, { title: 'Persisted', done: false })).todo
    await first.close()
    const second = await openSqliteStore({ file })
    assert.deepEqual(await second.get(todo.id, alice), todo)
    await second.close()
    dir.remove()
  })

  test('run once: reopening a PostgreSQL schema keeps its todos', { skip: skipWithoutPostgres() }, async () => {
    const url = postgresUrl() as string
    const schema = freshSchema()
    try {
      const first = await openPostgresStore({ connectionString: url, schema })
      const todo = (await first.create(alice, { title: 'Persisted', done: false })).todo
      await first.close()
      const second = await openPostgresStore({ connectionString: url, schema })
      assert.deepEqual(await second.get(todo.id, alice), todo)
      await second.close()
    } finally {
      await dropSchema(url, schema)
    }
  })
})

describe('store unavailable', () => {
  test('SQLite: a closed database rejects with StoreUnavailableError', async () => {
    const dir = tempDir()
    const database = new Sqlite(join(dir.path, 'closed.sqlite'))
    const store = await openSqliteStore({ database })
    database.close()
    await assert.rejects(store.list({ filter: alice, limit: 10 }), StoreUnavailableError)
    await assert.rejects(store.create(alice, { title: 'x', done: false }), StoreUnavailableError)
    await assert.rejects(store.ping(), StoreUnavailableError)
    dir.remove()
  })

  test('PostgreSQL: a lost server rejects with StoreUnavailableError, and the pool recovers', { skip: skipWithoutPostgres() }, async () => {
    const url = postgresUrl() as string
    const target = new URL(url)
    const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
    await proxy.start()
    const schema = freshSchema()
    const store = await openPostgresStore({ connectionString: withHostPort(url, '127.0.0.1', proxy.port), schema, connectTimeout: 2000 })
    try {
      await store.create(alice, { title: 'Before the outage', done: false })
      await proxy.stop()
      await assert.rejects(store.list({ filter: alice, limit: 10 }), StoreUnavailableError)
      await assert.rejects(store.create(alice, { title: 'During the outage', done: false }), StoreUnavailableError)
      await proxy.start()
      const titles = (await store.list({ filter: alice, limit: 10 })).items.map((t) => t.title)
      assert.deepEqual(titles, ['Before the outage'])
    } finally {
      await proxy.stop()
      await store.close()
      await dropSchema(url, schema)
    }
  })

  test('PostgreSQL: opening an unreachable server rejects with the connection error, classified as unreachable', async () => {
    // A loopback port this test opened and closed: nothing listens there now, so the connection is refused at
    // once. The store plugin, not openPostgresStore, decides to wait for it (test/integration/database-startup.test.ts).
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const { port } = closed.address() as AddressInfo
    await new Promise<void>((resolve) => closed.close(() => { resolve() }))
    const error: unknown = await openPostgresStore({ connectionString: `postgres://u:p@127.0.0.1:${port}/db`, connectTimeout: 2000 }).then(() => null, (e: unknown) => e)
    assert.match(String(error), /ECONNREFUSED/)
    assert.equal(classifyOpenFailure(error), 'unreachable')
  })
})

describe('PostgreSQL start-up failures', () => {
  test('the target named in logs is host:port/database, without user name or password', () => {
    assert.equal(postgresTarget('postgres://todo:s3cret@db.example.com:6432/todos?sslmode=verify-full'), 'db.example.com:6432/todos')
    assert.equal(postgresTarget('postgresql://todo:s3cret@db.example.com/todos'), 'db.example.com:5432/todos')
    assert.equal(postgresTarget('postgres://todo:s3cret@[::1]:5433/todos'), '[::1]:5433/todos')
  })

  test('an unparsable connection string throws', () => {
    assert.throws(() => postgresTarget('postgres://u:p@[::1:5432/db'), TypeError)
  })

  test('classifies by code: connection errors wait, login and database name are flagged, the rest is fatal', () => {
    const coded = (code: string, message = 'x') => Object.assign(new Error(message), { code })
    assert.equal(classifyOpenFailure(coded('ECONNREFUSED')), 'unreachable')
    assert.equal(classifyOpenFailure(coded('ENOTFOUND')), 'unreachable')
    assert.equal(classifyOpenFailure(coded('57P03', 'the database system is starting up')), 'unreachable')
    assert.equal(classifyOpenFailure(new Error('timeout exceeded when trying to connect')), 'unreachable')
    assert.equal(classifyOpenFailure(coded('28P01', 'password authentication failed for user "todo"')), 'login')
    assert.equal(classifyOpenFailure(coded('28000', 'role "todo" does not exist')), 'login')
    assert.equal(classifyOpenFailure(coded('3D000', 'database "todo" does not exist')), 'unknown-database')
    assert.equal(classifyOpenFailure(coded('42501', 'permission denied for schema public')), 'fatal')
    assert.equal(classifyOpenFailure(new Error('The server does not support SSL connections')), 'fatal')
  })
})

describe('PostgreSQL session timeouts', () => {
  test('default to 5 s per statement, 3 s per lock wait, 10 s idle in a transaction, and 8 s for an answer', () => {
    assert.deepEqual(postgresTimeouts({}), { statementTimeout: 5000, lockTimeout: 3000, idleInTransactionTimeout: 10_000, queryTimeout: 8000 })
    // The server aborts a statement before we stop waiting for its answer, whatever statementTimeout is.
    const short = postgresTimeouts({ statementTimeout: 1000 })
    assert.deepEqual([short.lockTimeout, short.queryTimeout], [1000, 4000])
    assert.equal(postgresTimeouts({ lockTimeout: 0 }).lockTimeout, 0)
  })

  test('refuse values that are not whole milliseconds, or an order in which we could answer 503 for a statement still running', () => {
    assert.throws(() => postgresTimeouts({ statementTimeout: 0 }), /^TypeError: "statementTimeout" option must be a positive integer \(milliseconds\)$/)
    assert.throws(() => postgresTimeouts({ lockTimeout: -1 }), /"lockTimeout" option must be a non-negative integer/)
    assert.throws(() => postgresTimeouts({ idleInTransactionTimeout: 1.5 }), /"idleInTransactionTimeout" option must be a positive integer/)
    assert.throws(() => postgresTimeouts({ statementTimeout: 5000, queryTimeout: 5000 }), /"queryTimeout" option must be more than "statementTimeout"/)
    assert.throws(() => postgresTimeouts({ statementTimeout: 1000, lockTimeout: 2000 }), /"lockTimeout" option must not be more than "statementTimeout"/)
  })

  test('a bad option fails opening, before any connection', async () => {
    await assert.rejects(openPostgresStore({ connectionString: 'postgres://u:p@127.0.0.1:1/db', queryTimeout: 10 }), /"queryTimeout" option must be more than "statementTimeout"/)
  })

  test('idempotencyKeyTtl must be a positive integer of milliseconds', async () => {
    const dir = tempDir()
    await assert.rejects(openSqliteStore({ file: join(dir.path, 'ttl.sqlite'), idempotencyKeyTtl: 0 }), /"idempotencyKeyTtl" option must be a positive integer \(milliseconds\)/)
    dir.remove()
  })
})
