import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import pg from 'pg'
import { startTestIssuer } from 'fastify-entra-id/testing'
import { buildApp } from '../app.js'
import { ConfigError } from '../config/config-error.js'
import { StoreUnavailableError } from '../store/store.js'
import configPlugin from '../plugins/config.js'
import storePlugin from '../plugins/store.js'
import type { StorePluginOptions } from '../plugins/store.js'
import { Callers, bearer, envFor, tempDir } from './helpers/app.js'
import { dropSchema, freshSchema, postgresUrl, skipWithoutPostgres, withHostPort } from './helpers/postgres.js'
import { Child, serviceEnv } from './helpers/process.js'
import { TcpProxy } from './helpers/tcp-proxy.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

interface LogLine { level: number, msg: string, [key: string]: unknown }

/** Fastify's `logger: { stream }`: every JSON line the app logs, parsed. */
function captureLogs(): { lines: LogLine[], stream: { write: (line: string) => void } } {
  const lines: LogLine[] = []
  return { lines, stream: { write: (line: string) => { lines.push(JSON.parse(line) as LogLine) } } }
}

const WARN = 40
const INFO = 30

function warnings(lines: readonly LogLine[]): LogLine[] {
  return lines.filter((l) => l.level === WARN && l.msg.startsWith('database:'))
}

/** Polls `condition` every 10 ms for up to `timeout` ms: the test waits for an event, not for a fixed time. */
async function until(condition: () => boolean | Promise<boolean>, timeout: number, what: string): Promise<void> {
  const deadline = Date.now() + timeout
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

/** A loopback port that was open and is closed now: connecting to it is refused. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => { resolve() }))
  return port
}

/** The config and store plugins alone, with short backoff: the retry loop without the rest of the app. */
async function storeOnly(env: Record<string, string>, options: StorePluginOptions = {}) {
  const logs = captureLogs()
  const app = Fastify({ logger: { level: 'info', stream: logs.stream } })
  await app.register(configPlugin, { env: { NODE_ENV: 'test', ...env } })
  await app.register(storePlugin, { retryDelay: 10, maxRetryDelay: 40, ...options })
  await app.ready()
  return { app, logs }
}

/** A single-line log message that names the setting and the target, and nothing of the credentials. */
function assertSafeLine(msg: string, target: string, secrets: readonly string[]): void {
  assert.ok(!msg.includes('\n'), `one line: ${msg}`)
  assert.ok(msg.includes('DATABASE_URL'), `names DATABASE_URL: ${msg}`)
  assert.ok(msg.includes(`(${target})`), `names ${target}: ${msg}`)
  assert.doesNotMatch(msg, /postgres(?:ql)?:\/\/|\n\s+at /, msg)
  for (const secret of secrets) assert.ok(!msg.includes(secret), `leaks ${secret}: ${msg}`)
}

describe('database unreachable at start-up', () => {
  test('PostgreSQL: the service starts, answers 503 and not ready, says why in one line per attempt, and serves once the database appears', { skip: skipWithoutPostgres() }, async () => {
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

      // One warning per failed attempt: the one made during start-up, then the first background retry.
      await until(() => warnings(logs.lines).length >= 2, 5000, 'a second failed attempt')
      const [first, second] = warnings(logs.lines)
      for (const line of [first, second]) {
        assert.ok(line !== undefined)
        assertSafeLine(line.msg, target, [`${real.username}:${real.password}@`])
        assert.match(line.msg, /ECONNREFUSED/)
        assert.equal(line.err, undefined, 'no error object, so no stack')
      }
      assert.match(first?.msg ?? '', /attempt 1, retrying in 50 ms$/)
      assert.match(second?.msg ?? '', /attempt 2, retrying in 100 ms$/)

      await proxy.start()
      await until(async () => (await app.inject({ url: '/health/ready' })).statusCode === 200, 10_000, 'readiness')
      const connected = logs.lines.filter((l) => l.level === INFO && l.msg.startsWith('database: connected, schema migrated'))
      assert.equal(connected.length, 1)
      assert.match(connected[0]?.msg ?? '', new RegExp(`\\(PostgreSQL, ${target.replace(/[.]/g, '\\.')}, after \\d+ attempts\\)$`))

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

  test('backoff doubles up to its cap, one warning per attempt, never the password, and stops when the app closes', async () => {
    const port = await closedPort()
    const { app, logs } = await storeOnly({ DATABASE_URL: `postgres://todo:pw-never-logged@127.0.0.1:${String(port)}/todos` })
    try {
      assert.equal(app.storeConnected, false)
      await assert.rejects(app.store.create({ tenantId: 't', objectId: 'o' }, { title: 'x', done: false }), StoreUnavailableError)
      await until(() => warnings(logs.lines).length >= 5, 5000, 'five failed attempts')
      const lines = warnings(logs.lines).slice(0, 5)
      for (const line of lines) assertSafeLine(line.msg, `127.0.0.1:${String(port)}/todos`, ['pw-never-logged', 'todo:'])
      assert.deepEqual(lines.map((l) => /attempt (\d+), retrying in (\d+) ms$/.exec(l.msg)?.slice(1)), [
        ['1', '10'], ['2', '20'], ['3', '40'], ['4', '40'], ['5', '40']
      ])
    } finally {
      await app.close()
    }
    const count = warnings(logs.lines).length
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

describe('database unreachable at start-up: the started service', () => {
  test('production, PostgreSQL unreachable: keeps running, logs one JSON warning naming DATABASE_URL, not ready', async () => {
    const dir = tempDir()
    const issuer = await startTestIssuer()
    const port = await closedPort()
    const server = new Child(process.execPath, ['--import', 'tsx', 'server.ts'], {
      cwd: ROOT,
      env: serviceEnv({
        NODE_ENV: 'production', DATA_DIR: dir.path, PORT: '0', HOST: '127.0.0.1', SHUTDOWN_DRAIN_MS: '0',
        AZURE_TENANT_ID: issuer.tenantId, AZURE_CLIENT_ID: issuer.clientId, AZURE_AUTHORITY_HOST: issuer.url,
        DATABASE_URL: `postgres://todo:pw-never-logged@127.0.0.1:${String(port)}/todos`
      })
    })
    try {
      const [, base] = await server.waitFor(/"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/)
      const ready = await fetch(`${base}/health/ready`)
      assert.equal(ready.status, 503)
      assert.equal(await server.stop('SIGTERM'), 0)

      const lines = server.stdout.trim().split('\n').map((l) => JSON.parse(l) as LogLine)
      const [warning] = warnings(lines)
      assert.ok(warning !== undefined, server.stdout)
      assertSafeLine(warning.msg, `127.0.0.1:${String(port)}/todos`, ['pw-never-logged', 'todo:'])
      assert.ok(!server.stdout.includes('pw-never-logged'))
      assert.equal(server.stderr, '')
    } finally {
      await server.stop('SIGKILL')
      await issuer.close()
      dir.remove()
    }
  })

  test('production, SQLite with an unusable DATA_DIR: exits 1 with one JSON line naming DATA_DIR, without a stack', async () => {
    const dir = tempDir()
    const issuer = await startTestIssuer()
    const file = join(dir.path, 'not-a-directory')
    writeFileSync(file, '')
    const server = new Child(process.execPath, ['--import', 'tsx', 'server.ts'], {
      cwd: ROOT,
      env: serviceEnv({
        NODE_ENV: 'production', DATA_DIR: join(file, 'data'), PORT: '0', HOST: '127.0.0.1',
        AZURE_TENANT_ID: issuer.tenantId, AZURE_CLIENT_ID: issuer.clientId, AZURE_AUTHORITY_HOST: issuer.url
      })
    })
    try {
      assert.equal(await server.exited, 1)
      const lines = server.stderr.trim().split('\n')
      assert.equal(lines.length, 1, server.stderr)
      const line = JSON.parse(lines[0] ?? '') as LogLine
      assert.equal(line.level, 60)
      assert.match(line.msg, /DATA_DIR must be a writable directory/)
      assert.doesNotMatch(server.stderr, /\s+at /)
    } finally {
      await server.stop('SIGKILL')
      await issuer.close()
      dir.remove()
    }
  })
})
