import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, test } from 'node:test'
import { requestSerializer } from 'fastify-entra-id/log'
import { startTestIssuer } from 'fastify-entra-id/testing'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { buildApp } from '../../src/app.js'
import type { TodoStore } from '../../src/store/store.js'
import { Callers, bearer, envFor, tempDir } from '../helpers/app.js'
import { logSink } from '@fastify-entra-id/test-kit'

/** The log lines of one injected request, other than Fastify's "incoming request" and "request completed". */
async function linesOf(app: FastifyInstance, sink: ReturnType<typeof logSink>, request: InjectOptions): Promise<{ status: number, lines: Record<string, unknown>[] }> {
  const before = sink.lines().length
  const response = await app.inject(request)
  const lines = sink.lines().slice(before).filter((l) => l.msg !== 'incoming request' && l.msg !== 'request completed')
  return { status: response.statusCode, lines }
}

describe('logs of a tenant Entra does not know', () => {
  test('warn on every attempt, naming AZURE_TENANT_ID and AADSTS90002; protected routes answer 503 with Retry-After; not ready', async (t) => {
    const typo = '72f988bf-86f1-41af-91ab-2d7cd011db48'
    // What Entra answers for a tenant it does not know (HTTP 400, AADSTS90002).
    const entra = createServer((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({
        error: 'invalid_tenant',
        error_description: `AADSTS90002: Tenant '${typo}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.\r\nTrace ID: 1b2c\r\nCorrelation ID: 3d4e\r\nTimestamp: 2026-12-01 10:00:00Z`,
        error_codes: [90002],
        error_uri: 'https://login.microsoftonline.com/error?code=90002'
      }))
    })
    await new Promise<void>((resolve) => entra.listen(0, '127.0.0.1', resolve))
    const authority = `http://127.0.0.1:${(entra.address() as AddressInfo).port}`
    const dir = tempDir()
    const issuer = await startTestIssuer({ tenantId: typo })
    const sink = logSink()
    // The plugin's retry timer is the test's: it moves time on instead of waiting the 1 s retry out.
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const app = await buildApp({
      env: { ...envFor(issuer, dir.path), AZURE_AUTHORITY_HOST: authority, LOG_LEVEL: 'info' },
      fastify: { logger: { stream: sink.stream } }
    })
    try {
      // The first attempt runs at start-up (ready() waits for it), the next 1 s later (doubling up to 30 s).
      const warnings = () => sink.lines().filter((l) => l.level === 40 && l.check !== undefined)
      assert.deepEqual(warnings().map((l) => l.retryInMs), [1000])
      t.mock.timers.tick(1000)
      await sink.written.until(() => warnings().length >= 2, 5000, 'the warning of the second attempt')
      assert.deepEqual(warnings().map((l) => l.retryInMs), [1000, 2000])
      for (const [i, line] of warnings().slice(0, 2).entries()) {
        const msg = String(line.msg)
        assert.equal(line.attempt, i + 1)
        assert.deepEqual(line.check, ['AZURE_TENANT_ID', 'AZURE_AUTHORITY_HOST'])
        assert.match(msg, /^entra-id: configuration error, check AZURE_TENANT_ID, AZURE_AUTHORITY_HOST: /)
        assert.ok(msg.includes(`AADSTS90002: Tenant '${typo}' not found.`), msg)
        assert.ok(!msg.includes('tenantId') && !msg.includes('Trace ID'), 'variables, not option names; Entra\'s first sentence only')
      }

      const ready = await app.inject({ url: '/health/ready' })
      assert.deepEqual([ready.statusCode, ready.json<{ checks: { signingKeys: boolean } }>().checks.signingKeys], [503, false])
      const todos = await app.inject({ url: '/api/todos', headers: bearer(await issuer.mint({ scopes: ['Todo.Read'] })) })
      assert.equal(todos.statusCode, 503)
      assert.match(String(todos.headers['retry-after']), /^[1-9]\d*$/)
      assert.equal(todos.json<{ code: string }>().code, 'ENTRA_KEYS_UNAVAILABLE')
      for (const secret of ['AADSTS', 'invalid_tenant', typo, authority, 'AZURE_']) {
        assert.ok(!todos.body.includes(secret), `the 503 does not tell the caller ${secret}`)
      }
    } finally {
      await app.close()
      await issuer.close()
      await new Promise<void>((resolve) => { entra.closeAllConnections(); entra.close(() => { resolve() }) })
      dir.remove()
    }
  })
})

describe('logs of refused and failed requests', () => {
  /** A store whose every call fails with an unexpected error (a bug, not an outage). */
  const brokenStore: TodoStore = {
    engine: 'sqlite',
    list: () => Promise.reject(new Error('a bug in the store')),
    get: () => Promise.reject(new Error('a bug in the store')),
    create: () => Promise.reject(new Error('a bug in the store')),
    update: () => Promise.reject(new Error('a bug in the store')),
    delete: () => Promise.reject(new Error('a bug in the store')),
    ping: () => Promise.resolve(),
    close: () => Promise.resolve()
  }

  async function start(store?: TodoStore): Promise<{ app: FastifyInstance, callers: Callers, sink: ReturnType<typeof logSink>, close: () => Promise<void> }> {
    const dir = tempDir()
    const issuer = await startTestIssuer()
    const sink = logSink()
    const app = await buildApp({
      env: { ...envFor(issuer, dir.path), LOG_LEVEL: 'info' },
      // src/start-server.ts's request serializer: logged URLs have their credentials redacted.
      fastify: { logger: { stream: sink.stream, serializers: { req: requestSerializer } } },
      ...(store === undefined ? {} : { store })
    })
    return {
      app,
      callers: new Callers(issuer),
      sink,
      async close() {
        await app.close()
        await issuer.close()
        dir.remove()
      }
    }
  }

  test('a refused request is one info line with its code and no stack; no token reaches the logs', async () => {
    const { app, callers, sink, close } = await start()
    try {
      const read = await callers.user(callers.alice, ['Todo.Read', 'Todo.Write'])
      const expired = await callers.user(callers.alice, ['Todo.Read'], { expiresIn: -3600 })
      const refusals: [string, InjectOptions, number, string][] = [
        ['no token', { url: '/api/todos' }, 401, 'ENTRA_TOKEN_MISSING'],
        ['an expired token', { url: '/api/todos', headers: bearer(expired) }, 401, 'ENTRA_TOKEN_EXPIRED'],
        ['a token in the URL', { url: `/api/todos?access_token=${read}` }, 400, 'ENTRA_INVALID_REQUEST'],
        ['an unknown field', { method: 'POST', url: '/api/todos', headers: bearer(read), payload: { title: 'x', color: 'red' } }, 400, 'FST_ERR_VALIDATION'],
        ['a todo that does not exist', { url: '/api/todos/8f7e6d5c-4b3a-4291-8a7b-6c5d4e3f2a1b', headers: bearer(read) }, 404, 'TODO_NOT_FOUND']
      ]
      for (const [name, request, status, code] of refusals) {
        const outcome = await linesOf(app, sink, request)
        assert.equal(outcome.status, status, name)
        assert.equal(outcome.lines.length, 1, `${name}: one line, got ${JSON.stringify(outcome.lines)}`)
        const [line] = outcome.lines
        assert.equal(line?.level, 30, `${name}: at info`)
        assert.equal(line.code, code, `${name}: with its code`)
        assert.equal(line.statusCode, status)
        assert.ok(!JSON.stringify(line).includes('    at '), `${name}: no stack`)
      }
      const text = sink.text()
      for (const token of [read, expired, read.split('.')[2] as string]) assert.ok(!text.includes(token), 'a token reached the logs')
    } finally {
      await close()
    }
  })

  test('an audience refusal\'s line names the token\'s aud and the accepted audiences, a tenant refusal\'s its iss and tid', async () => {
    const { app, callers, sink, close } = await start()
    try {
      const elsewhere = '9d3c1b7a-5e4f-4a2b-8c1d-0e9f8a7b6c5d'
      const otherTenant = '7c6b5a49-3827-4615-a4b3-c2d1e0f9a8b7'
      const audience = await linesOf(app, sink, { url: '/api/todos', headers: bearer(await callers.user(callers.alice, ['Todo.Read'], { audience: elsewhere })) })
      assert.equal(audience.lines.length, 1, JSON.stringify(audience.lines))
      const [line] = audience.lines
      assert.deepEqual([line?.level, line?.code, line?.aud], [30, 'ENTRA_TOKEN_INVALID_AUDIENCE', elsewhere])
      assert.ok(Array.isArray(line?.audiences) && line.audiences.includes(callers.issuer.clientId), JSON.stringify(line))
      const tenant = await linesOf(app, sink, { url: '/api/todos', headers: bearer(await callers.user(callers.alice, ['Todo.Read'], { tenantId: otherTenant })) })
      assert.deepEqual([tenant.lines[0]?.code, tenant.lines[0]?.tid, tenant.lines[0]?.iss], ['ENTRA_TOKEN_TENANT_NOT_ALLOWED', otherTenant, callers.issuer.issuer(2, otherTenant)])
    } finally {
      await close()
    }
  })

  test('a guard\'s refusal (403) is one info line with its code and no stack', async () => {
    const { app, callers, sink, close } = await start()
    try {
      const outcome = await linesOf(app, sink, { method: 'POST', url: '/api/todos', headers: bearer(await callers.user(callers.alice, ['Todo.Read'])), payload: { title: 'x' } })
      assert.equal(outcome.status, 403)
      assert.equal(outcome.lines.length, 1, JSON.stringify(outcome.lines))
      assert.equal(outcome.lines[0]?.code, 'ENTRA_INSUFFICIENT_SCOPE')
    } finally {
      await close()
    }
  })

  test('an unexpected error is one error line with its stack, and the caller gets a bare 500', async () => {
    const { app, callers, sink, close } = await start(brokenStore)
    try {
      const request = { url: '/api/todos', headers: bearer(await callers.user(callers.alice, ['Todo.Read'])) }
      const before = sink.lines().length
      const response = await app.inject(request)
      assert.deepEqual([response.statusCode, response.json()], [500, { statusCode: 500, error: 'Internal Server Error', message: 'Internal Server Error' }])
      const lines = sink.lines().slice(before).filter((l) => l.msg !== 'incoming request' && l.msg !== 'request completed')
      assert.equal(lines.length, 1, JSON.stringify(lines))
      const [line] = lines
      assert.equal(line?.level, 50)
      const err = line.err as { message?: string, stack?: string }
      assert.equal(err.message, 'a bug in the store')
      assert.match(err.stack ?? '', /\n {4}at /, 'the stack is logged')
    } finally {
      await close()
    }
  })
})
