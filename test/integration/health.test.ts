import assert from 'node:assert/strict'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import Sqlite from 'better-sqlite3'
import { startTestIssuer } from 'fastify-entra-id/testing'
import { buildApp } from '../../src/app.js'
import { openPostgresStore } from '../../src/store/postgres-store.js'
import { openSqliteStore } from '../../src/store/sqlite-store.js'
import { Callers, bearer, envFor, tempDir } from '../helpers/app.js'
import { dropSchema, freshSchema, postgresUrl, skipWithoutPostgres, withHostPort } from '../helpers/postgres.js'
import { TcpProxy } from '../helpers/tcp-proxy.js'

interface TodoBody { id: string, title: string }

describe('health', () => {
  test('live and ready answer 200 when keys are loaded and the database answers', async () => {
    const dir = tempDir()
    const issuer = await startTestIssuer()
    const app = await buildApp({ env: envFor(issuer, dir.path) })
    try {
      const live = await app.inject({ url: '/health/live' })
      assert.deepEqual([live.statusCode, live.json()], [200, { status: 'ok' }])
      const ready = await app.inject({ url: '/health/ready' })
      assert.deepEqual([ready.statusCode, ready.json()], [200, { status: 'ready', checks: { signingKeys: true, database: true }, reasons: [] }])
    } finally {
      await app.close()
      await issuer.close()
      dir.remove()
    }
  })

  test('not ready (503) while the identity provider has never answered; data routes answer 503 too', async () => {
    const dir = tempDir()
    const issuer = await startTestIssuer()
    issuer.setBehaviour('down')
    const app = await buildApp({ env: envFor(issuer, dir.path) })
    try {
      const ready = await app.inject({ url: '/health/ready' })
      assert.deepEqual([ready.statusCode, ready.json()], [503, {
        status: 'not ready',
        checks: { signingKeys: false, database: true },
        reasons: ['signing keys: not loaded yet (the identity provider has not answered); retrying in the background']
      }])
      assert.equal((await app.inject({ url: '/health/live' })).statusCode, 200)
      const res = await app.inject({ url: '/api/todos', headers: bearer(await issuer.mint({ scopes: ['Todo.Read'] })) })
      assert.equal(res.statusCode, 503)
    } finally {
      await app.close()
      await issuer.close()
      dir.remove()
    }
  })
})

describe('database down', () => {
  test('SQLite: data routes answer 503 with Retry-After, readiness reports it, nothing is half-written', async () => {
    const dir = tempDir()
    const file = join(dir.path, 'down.sqlite')
    const issuer = await startTestIssuer()
    const callers = new Callers(issuer)
    const database = new Sqlite(file)
    const store = await openSqliteStore({ database })
    const app = await buildApp({ env: envFor(issuer, dir.path), store })
    try {
      const write = bearer(await callers.user(callers.alice, ['Todo.Read', 'Todo.Write']))
      const kept = await app.inject({ method: 'POST', url: '/api/todos', headers: write, payload: { title: 'Before' } })
      assert.equal(kept.statusCode, 201)
      database.close()

      const post = await app.inject({ method: 'POST', url: '/api/todos', headers: write, payload: { title: 'During' } })
      assert.equal(post.statusCode, 503)
      assert.equal(post.headers['retry-after'], '5')
      assert.deepEqual(post.json(), { statusCode: 503, code: 'TODO_STORE_UNAVAILABLE', error: 'Service Unavailable', message: 'The database is unavailable; retry later' })
      for (const [method, url] of [['GET', '/api/todos'], ['GET', `/api/todos/${kept.json<TodoBody>().id}`], ['PATCH', `/api/todos/${kept.json<TodoBody>().id}`], ['DELETE', `/api/todos/${kept.json<TodoBody>().id}`]] as const) {
        const res = await app.inject({ method, url, headers: write, ...(method === 'PATCH' ? { payload: { done: true } } : {}) })
        assert.equal(res.statusCode, 503, `${method} ${url}`)
      }
      const ready = await app.inject({ url: '/health/ready' })
      assert.deepEqual([ready.statusCode, ready.json()], [503, { status: 'not ready', checks: { signingKeys: true, database: false }, reasons: ['database: does not answer'] }])
      // Caller mistakes stay 4xx while the database is down.
      assert.equal((await app.inject({ method: 'POST', url: '/api/todos', headers: write, payload: { title: '' } })).statusCode, 400)
      const unauthenticated = await app.inject({ url: '/api/todos' })
      assert.equal(unauthenticated.statusCode, 401)
      assert.equal(unauthenticated.headers['www-authenticate'], 'Bearer realm="api"')

      const reopened = await openSqliteStore({ file })
      const page = await reopened.list({ filter: { tenantId: issuer.tenantId, objectId: callers.alice }, limit: 10 })
      assert.deepEqual(page.items.map((t) => [t.title, t.done]), [['Before', false]])
      await reopened.close()
    } finally {
      await app.close()
      await issuer.close()
      dir.remove()
    }
  })

  test('PostgreSQL: 503 while the server is unreachable, not ready, and back to normal after', { skip: skipWithoutPostgres() }, async () => {
    const url = postgresUrl() as string
    const target = new URL(url)
    const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
    await proxy.start()
    const schema = freshSchema()
    const dir = tempDir()
    const issuer = await startTestIssuer()
    const callers = new Callers(issuer)
    const store = await openPostgresStore({ connectionString: withHostPort(url, '127.0.0.1', proxy.port), schema, connectTimeout: 2000 })
    const app = await buildApp({ env: envFor(issuer, dir.path), store })
    try {
      const write = bearer(await callers.user(callers.alice, ['Todo.Read', 'Todo.Write']))
      assert.equal((await app.inject({ method: 'POST', url: '/api/todos', headers: write, payload: { title: 'Before' } })).statusCode, 201)
      await proxy.stop()
      const post = await app.inject({ method: 'POST', url: '/api/todos', headers: write, payload: { title: 'During' } })
      assert.equal(post.statusCode, 503)
      assert.equal(post.headers['retry-after'], '5')
      assert.equal((await app.inject({ url: '/api/todos', headers: write })).statusCode, 503)
      assert.equal((await app.inject({ url: '/health/ready' })).statusCode, 503)

      await proxy.start()
      assert.equal((await app.inject({ url: '/health/ready' })).statusCode, 200)
      const list = await app.inject({ url: '/api/todos', headers: write })
      assert.deepEqual(list.json<{ items: TodoBody[] }>().items.map((t) => t.title), ['Before'])
    } finally {
      await app.close()
      await proxy.stop()
      await store.close()
      await dropSchema(url, schema)
      await issuer.close()
      dir.remove()
    }
  })
})
