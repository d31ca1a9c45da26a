import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { authorizationRedactPaths, requestSerializer } from 'fastify-entra-id/log'
import { startTestIssuer } from 'fastify-entra-id/testing'
import type { TestIssuer } from 'fastify-entra-id/testing'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { buildApp } from '../../src/app.js'
import { StoreUnavailableError } from '../../src/store/store.js'
import type { TodoStore } from '../../src/store/store.js'
import { Callers, bearer, envFor, openTestStore, tempDir } from '../helpers/app.js'
import { logSink } from '@fastify-entra-id/test-kit'

// A token sent in the URL must never come back in an answer or reach a log line, whatever the service answers:
// RFC 6750 §5.3 (bearer tokens in page URLs leak through logs) and the README's promise that tokens are never
// logged. Each spelling below is a way a hostile or careless client sends one: the name as is, percent-encoded in
// part, after a `;` (one parameter to Fastify), and under a name no redaction list holds.
function spellings(token: string): string[] {
  return [
    `access_token=${token}`,
    `access%5Ftoken=${token}`,
    `%61ccess_token=${token}`,
    `x=1;access_token=${token}`,
    `id_token=${token}`,
    `jwt=${token}`,
    `page=2&t=${encodeURIComponent(token).replace('e', '%65')}`,
    token
  ]
}

/** A store whose database is down: every call is the 503 a lost connection gives. */
const downStore: TodoStore = {
  engine: 'sqlite',
  list: () => Promise.reject(new StoreUnavailableError()),
  get: () => Promise.reject(new StoreUnavailableError()),
  create: () => Promise.reject(new StoreUnavailableError()),
  update: () => Promise.reject(new StoreUnavailableError()),
  delete: () => Promise.reject(new StoreUnavailableError()),
  ping: () => Promise.reject(new StoreUnavailableError()),
  close: () => Promise.resolve()
}

interface Running { app: FastifyInstance, sink: ReturnType<typeof logSink>, close: () => Promise<void> }

/** The app as src/start-server.ts configures its logger (the plugin's request serializer and redact paths), at debug level. */
async function start(issuer: TestIssuer, store?: TodoStore): Promise<Running> {
  const dir = tempDir()
  const opened = store === undefined ? await openTestStore('sqlite', dir.path) : { store, dispose: () => Promise.resolve() }
  const sink = logSink()
  const app = await buildApp({
    env: { ...envFor(issuer, dir.path), LOG_LEVEL: 'debug' },
    store: opened.store,
    fastify: { logger: { level: 'debug', stream: sink.stream, serializers: { req: requestSerializer }, redact: { paths: [...authorizationRedactPaths], censor: '[REDACTED]' } } }
  })
  return { app, sink, async close() { await app.close(); await opened.dispose(); dir.remove() } }
}

describe('a token in the URL reaches no answer and no log line, whatever the status', () => {
  test('every status the service answers, for every spelling of the parameter', async () => {
    const issuer = await startTestIssuer()
    const callers = new Callers(issuer)
    const up = await start(issuer)
    const down = await start(issuer, downStore)
    try {
      // The token in the URL is a valid one: the worst to leak.
      const leaked = await callers.user(callers.alice, ['Todo.Read', 'Todo.Write'])
      const writer = bearer(await callers.user(callers.alice, ['Todo.Read', 'Todo.Write']))
      const reader = bearer(await callers.user(callers.alice, ['Todo.Read']))
      // One todo for each delete (one for each spelling).
      const ids: string[] = []
      while (ids.length < spellings(leaked).length) {
        ids.push((await up.app.inject({ method: 'POST', url: '/api/todos', headers: writer, payload: { title: 'to delete' } })).json<{ id: string }>().id)
      }
      const json = { 'content-type': 'application/json' }
      // [what, the request without its query, the status it gets without one, the app]
      const cases: [string, InjectOptions | (() => InjectOptions), number, Running][] = [
        ['a public route', { url: '/health/live' }, 200, up],
        ['a read', { url: '/api/todos', headers: writer }, 200, up],
        ['a write', { method: 'POST', url: '/api/todos', headers: writer, payload: { title: 'x' } }, 201, up],
        ['a delete', () => ({ method: 'DELETE', url: `/api/todos/${String(ids.pop())}`, headers: writer }), 204, up],
        ['no token but the one in the URL', { url: '/api/todos' }, 401, up],
        ['a bad JSON body', { method: 'POST', url: '/api/todos', headers: { ...writer, ...json }, payload: '{"title":' }, 400, up],
        ['an invalid body', { method: 'POST', url: '/api/todos', headers: writer, payload: { title: 'x', color: 'red' } }, 400, up],
        ['a missing scope', { method: 'POST', url: '/api/todos', headers: reader, payload: { title: 'x' } }, 403, up],
        ['an unknown route', { url: '/nope' }, 404, up],
        ['an unknown route under the API', { method: 'POST', url: '/api/todos/x/y', headers: writer, payload: {} }, 404, up],
        ['an unknown todo', { url: '/api/todos/8f7e6d5c-4b3a-4291-8a7b-6c5d4e3f2a1b', headers: writer }, 404, up],
        ['a method the MCP endpoint refuses', { url: '/mcp', headers: writer }, 405, up],
        ['a body too large', { method: 'POST', url: '/api/todos', headers: { ...writer, ...json }, payload: JSON.stringify({ title: 'x'.repeat(70 * 1024) }) }, 413, up],
        ['a media type the API does not take', { method: 'POST', url: '/api/todos', headers: { ...writer, 'content-type': 'text/plain' }, payload: 'x' }, 415, up],
        ['a database outage', { url: '/api/todos', headers: writer }, 503, down],
        ['readiness during an outage', { url: '/health/ready' }, 503, down]
      ]
      const seen = new Set<number>()
      for (const [what, requestOf, status, running] of cases) {
        for (const query of spellings(leaked)) {
          const request = typeof requestOf === 'function' ? requestOf() : requestOf
          const url = `${typeof request.url === 'string' ? request.url : '/'}?${query}`
          const response = await running.app.inject({ ...request, url })
          // Or 400: the API refuses a token in the URL of a protected route (RFC 6750 §2.3 is not supported), and
          // a query parameter a route does not define.
          assert.ok([status, 400].includes(response.statusCode),
            `${what}: ${response.statusCode} for ${query.slice(0, 30)}...`)
          seen.add(response.statusCode)
          const answer = JSON.stringify(response.headers) + response.body
          for (const part of leaked.split('.')) assert.ok(!answer.includes(part), `${what} (${response.statusCode}) answered with the token: ${query.slice(0, 30)}`)
        }
      }
      assert.deepEqual([...seen].sort(), [200, 201, 204, 400, 401, 403, 404, 405, 413, 415, 503])
      assert.ok(up.sink.text().includes('not found'), 'the not-found lines were logged')
      for (const running of [up, down]) {
        const logs = running.sink.text()
        for (const part of leaked.split('.')) assert.ok(!logs.includes(part), 'a part of the token reached the logs')
      }
    } finally {
      await up.close()
      await down.close()
      await issuer.close()
    }
  })

  test('the not-found answer and its log line keep the path and the other parameters, with the token redacted', async () => {
    const issuer = await startTestIssuer()
    const running = await start(issuer)
    try {
      const token = await new Callers(issuer).user('11111111-1111-4111-8111-111111111111', ['Todo.Read'])
      const response = await running.app.inject({ url: `/nope?page=2&access_token=${token}` })
      assert.equal(response.statusCode, 404)
      assert.equal(response.json<{ message: string }>().message, 'Route GET:/nope?page=2&access_token=[REDACTED] not found')
      assert.ok(running.sink.text().includes('"msg":"Route GET:/nope?page=2&access_token=[REDACTED] not found"'), 'the info line names the path')
    } finally {
      await running.close()
      await issuer.close()
    }
  })
})
