import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify from 'fastify'
import pg from 'pg'
import { startTestIssuer } from 'fastify-entra-id/testing'
import { buildApp } from '../../src/app.js'
import { ConfigError } from '../../src/config/config-error.js'
import { StoreUnavailableError } from '../../src/store/store.js'
import configPlugin from '../../plugins/config.js'
import storePlugin from '../../plugins/store.js'
import type { StorePluginOptions } from '../../plugins/store.js'
import { Callers, bearer, envFor, tempDir } from '../helpers/app.js'
import { INFO, assertSafeLine, captureLogs, closedPort, warnings } from '../helpers/database-startup.js'
import { dropSchema, freshSchema, postgresUrl, skipWithoutPostgres, withHostPort } from '../helpers/postgres.js'
import { TcpProxy } from '../helpers/tcp-proxy.js'

/** The config and store plugins alone, with short backoff: the retry loop without the rest of the app. */
async function storeOnly(env: Record<string, string>, options: StorePluginOptions = {}) {
  const logs = captureLogs()
  const app = Fastify({ logger: { level: 'info', stream: logs.stream } })
  await app.register(configPlugin, { env: { NODE_ENV: 'test', ...env } })
  await app.register(storePlugin, { retryDelay: 10, maxRetryDelay: 40, ...options })
  await app.ready()
  return { app, logs }
}

describe('database unreachable at start-up', () => {
  test('PostgreSQL: the service starts, answers 503 and not ready, says why in one line per attempt, and serves once the database appears', { skip: skipWithoutPostgres() }, async (t) => {
    const url = postgresUrl() as string
    const real = new URL(url)
    const proxy = new TcpProxy({ host: real.hostname, port: Number(real.port || 5432) })
    // Listen once to own a port, then stop: the database is "down" from the service's first attempt.
    await proxy.start()
    await proxy.stop()
    const schema = freshSchema()
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    await admin.query(`CREATE SCHEMA "${schema}"`)
    const proxied = new URL(withHostPort(url, '127.0.0.1', proxy.port))
    // The tables of this test in a schema of their own; the service's own URL carries nothing test-specific.
    proxied.searchParams.set('options', `-c search_path=${schema}`)
    const target = `127.0.0.1:${String(proxy.port)}/${decodeURIComponent(proxied.pathname.slice(1))}`

    const dir = tempDir()
    const issuer = await startTestIssuer()
    const callers = new Callers(issuer)
    const logs = captureLogs()
    // The retry timer is the test's: each retry runs when the test moves time on by its delay, not after a wait.
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const app = await buildApp({
      env: envFor(issuer, dir.path, { DATABASE_URL: proxied.toString(), LOG_LEVEL: 'info' }),
      fastify: { logger: { stream: logs.stream } },
      storeRetry: { retryDelay: 50, maxRetryDelay: 100 }
    })
    try {
      const write = bearer(await callers.user(callers.alice, ['Todo.Read', 'Todo.Write']))
      const ready = await app.inject({ url: '/health/ready' })
      assert.deepEqual([ready.statusCode, ready.json()], [503, {
        status: 'not ready',
        checks: { signingKeys: true, database: false },
        reasons: ['database: not connected yet (unreachable at start-up); retrying in the background']
      }])
      const refused = await app.inject({ method: 'POST', url: '/api/todos', headers: write, payload: { title: 'While waiting' } })
      assert.equal(refused.statusCode, 503)
      assert.equal(refused.headers['retry-after'], '5')
      assert.equal(refused.json<{ code: string }>().code, 'TODO_STORE_UNAVAILABLE')
      assert.equal((await app.inject({ url: '/api/todos', headers: write })).statusCode, 503)

      // One warning per failed attempt: the one made during start-up, then the first background retry, 50 ms on.
      assert.equal(warnings(logs.lines).length, 1)
      t.mock.timers.tick(50)
      await logs.written.until(() => warnings(logs.lines).length >= 2, 5000, 'a second failed attempt')
      const [first, second] = warnings(logs.lines)
      for (const line of [first, second]) {
        assert.ok(line !== undefined)
        assertSafeLine(line.msg, target, [`${real.username}:${real.password}@`])
        assert.match(line.msg, /ECONNREFUSED/)
        assert.equal(line.err, undefined, 'no error object, so no stack')
      }
      assert.match(first?.msg ?? '', /attempt 1, retrying in 50 ms$/)
      assert.match(second?.msg ?? '', /attempt 2, retrying in 100 ms$/)

      // The database appears; the third attempt, 100 ms on, reaches it.
      await proxy.start()
      t.mock.timers.tick(100)
      // The store plugin logs this line once the store it opened is in place: from then on the service is ready.
      const connected = () => logs.lines.filter((l) => l.level === INFO && l.msg.startsWith('database: connected, schema migrated'))
      await logs.written.until(() => connected().length > 0, 10_000, 'the database: connected line')
      const readyNow = await app.inject({ url: '/health/ready' })
      assert.deepEqual([readyNow.statusCode, readyNow.json()], [200, { status: 'ready', checks: { signingKeys: true, database: true }, reasons: [] }])
      assert.equal(connected().length, 1)
      assert.equal(warnings(logs.lines).length, 2, 'no attempt but the ones the test let run')
      assert.match(connected()[0]?.msg ?? '', new RegExp(`\\(PostgreSQL, ${target.replace(/[.]/g, '\\.')}, after 3 attempts\\)$`))

      const created = await app.inject({ method: 'POST', url: '/api/todos', headers: write, payload: { title: 'After' } })
      assert.equal(created.statusCode, 201)
      // Nothing accepted is lost, nothing refused was stored: the database holds exactly the 201 write.
      const rows = await admin.query<{ title: string }>(`SELECT title FROM "${schema}".todos`)
      assert.deepEqual(rows.rows.map((r) => r.title), ['After'])
    } finally {
      await app.close()
      await proxy.stop()
      await admin.end()
      await dropSchema(url, schema)
      await issuer.close()
      dir.remove()
    }
  })

  test('backoff doubles up to its cap, one warning per attempt, never the password, and stops when the app closes', async (t) => {
    const port = await closedPort()
    // The retry timer is the test's: each attempt runs when the test moves time on by the delay the last warning
    // announced, so the announced delay is the one the timer was set for, and no attempt runs unbidden.
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const { app, logs } = await storeOnly({ DATABASE_URL: `postgres://todo:pw-never-logged@127.0.0.1:${String(port)}/todos` })
    try {
      assert.equal(app.storeConnected, false)
      await assert.rejects(app.store.create({ tenantId: 't', objectId: 'o' }, { title: 'x', done: false }), StoreUnavailableError)
      for (let attempt = 2; attempt <= 5; attempt++) {
        assert.equal(warnings(logs.lines).length, attempt - 1, 'one warning per attempt')
        const announced = /retrying in (\d+) ms$/.exec(warnings(logs.lines).at(-1)?.msg ?? '')?.[1]
        assert.ok(announced !== undefined, 'each warning says when the next attempt is')
        t.mock.timers.tick(Number(announced))
        await logs.written.until(() => warnings(logs.lines).length >= attempt, 5000, `the warning of attempt ${String(attempt)}`)
      }
      const lines = warnings(logs.lines)
      assert.equal(lines.length, 5)
      for (const line of lines) assertSafeLine(line.msg, `127.0.0.1:${String(port)}/todos`, ['pw-never-logged', 'todo:'])
      assert.deepEqual(lines.map((l) => /attempt (\d+), retrying in (\d+) ms$/.exec(l.msg)?.slice(1)), [
        ['1', '10'], ['2', '20'], ['3', '40'], ['4', '40'], ['5', '40']
      ])
    } finally {
      await app.close()
    }
    const count = warnings(logs.lines).length
    // A retry timer close() left behind would fire now; then time runs again.
    t.mock.timers.tick(60_000)
    t.mock.timers.reset()
    // An absence has no event to wait for: a bounded window, for an attempt started by such a timer (a refused
    // connection on loopback, a few milliseconds) to have logged its failure.
    await sleep(150)
    assert.equal(warnings(logs.lines).length, count, 'no attempt after close')
  })

  test('PostgreSQL: an unknown database keeps the service waiting and says to check the name in DATABASE_URL', { skip: skipWithoutPostgres() }, async () => {
    const url = new URL(postgresUrl() as string)
    url.pathname = '/no_such_database_for_todo_tests'
    const { app, logs } = await storeOnly({ DATABASE_URL: url.toString() })
    try {
      assert.equal(app.storeConnected, false)
      const [line] = warnings(logs.lines)
      assert.match(line?.msg ?? '', /database "no_such_database_for_todo_tests" does not exist \(3D000\); check the database name in DATABASE_URL;/)
    } finally {
      await app.close()
    }
  })

  test('PostgreSQL: a refused login keeps the service waiting and says to check the credentials in DATABASE_URL', { skip: skipWithoutPostgres() }, async () => {
    const url = new URL(postgresUrl() as string)
    url.username = 'no_such_role_for_todo_tests'
    url.password = 'pw-never-logged'
    const { app, logs } = await storeOnly({ DATABASE_URL: url.toString() })
    try {
      assert.equal(app.storeConnected, false)
      const [line] = warnings(logs.lines)
      assert.match(line?.msg ?? '', /\((?:28000|28P01)\); check the user name and password in DATABASE_URL;/)
      assert.ok(!(line?.msg ?? '').includes('pw-never-logged'))
    } finally {
      await app.close()
    }
  })

  test('PostgreSQL: a failure that waiting cannot fix (TLS refused by the server) fails start-up with one ConfigError line', { skip: skipWithoutPostgres() }, async () => {
    const url = new URL(postgresUrl() as string)
    url.searchParams.set('ssl', 'true')
    await assert.rejects(storeOnly({ DATABASE_URL: url.toString() }), (error: unknown) => {
      assert.ok(error instanceof ConfigError)
      assert.equal(error.problems.length, 1)
      assert.match(error.problems[0] ?? '', /^DATABASE_URL: the database .+ could not be opened: .*SSL/)
      assert.ok(!(error.problems[0] ?? '').includes('postgres://'))
      return true
    })
  })

  test('a DATABASE_URL that cannot be parsed fails start-up with a ConfigError that does not echo it', async () => {
    await assert.rejects(storeOnly({ DATABASE_URL: 'postgres://todo:pw-never-logged@[::1:5432/todos' }), (error: unknown) => {
      assert.ok(error instanceof ConfigError)
      assert.match(error.message, /DATABASE_URL must be a PostgreSQL connection URL/)
      assert.ok(!error.message.includes('pw-never-logged'))
      return true
    })
  })

  test('SQLite: a DATA_DIR that cannot be created fails start-up with one ConfigError line naming DATA_DIR', async () => {
    const dir = tempDir()
    const issuer = await startTestIssuer()
    // A path under a regular file cannot become a directory, whoever runs the test (root included).
    const file = join(dir.path, 'not-a-directory')
    writeFileSync(file, '')
    try {
      await assert.rejects(buildApp({ env: envFor(issuer, join(file, 'data')) }), (error: unknown) => {
        assert.ok(error instanceof ConfigError)
        assert.equal(error.problems.length, 1)
        assert.match(error.problems[0] ?? '', /^DATA_DIR must be a writable directory: cannot open the SQLite database .*not-a-directory.*ENOTDIR/)
        return true
      })
    } finally {
      await issuer.close()
      dir.remove()
    }
  })

  test('store plugin options are checked at registration', async () => {
    await assert.rejects(storeOnly({}, { retryDelay: 0 }), /"retryDelay" option must be a positive integer/)
    await assert.rejects(storeOnly({}, { retryDelay: 100, maxRetryDelay: 50 }), /"maxRetryDelay" option must not be less than "retryDelay"/)
  })
})
