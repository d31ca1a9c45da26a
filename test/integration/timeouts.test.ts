import assert from 'node:assert/strict'
import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { startTestIssuer } from 'fastify-entra-id/testing'
import type { TestIssuer } from 'fastify-entra-id/testing'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import type { ServerTimeouts } from '../../src/app.js'
import type { TodoStore } from '../../src/store/store.js'
import { envFor, tempDir } from '../helpers/app.js'

// No database: these requests never reach a handler, and without SQLite the file runs on every Node line
// (better-sqlite3 is built for one).
const unusedStore: TodoStore = {
  engine: 'sqlite',
  list: () => Promise.reject(new Error('not used')),
  get: () => Promise.reject(new Error('not used')),
  create: () => Promise.reject(new Error('not used')),
  update: () => Promise.reject(new Error('not used')),
  delete: () => Promise.reject(new Error('not used')),
  ping: () => Promise.resolve(),
  close: () => Promise.resolve()
}

/** What a raw client saw: the first response's head, and when it came and when the server closed, in ms from connecting. */
interface Seen {
  status?: number
  headers: Record<string, string>
  /** Every status line received, in order. */
  statuses: number[]
  respondedAt?: number
  /** `undefined`: still open when the client gave up. */
  closedAt?: number
}

/**
 * Sends `head`, then one byte of `drip` after another every 50 ms (nothing when it is empty), like a client
 * trickling a request, until the server closes the connection or `giveUpAfter` ms pass.
 */
function trickle(port: number, head: string, drip: string, giveUpAfter: number): Promise<Seen> {
  return new Promise((resolve) => {
    const started = performance.now()
    const seen: Seen = { headers: {}, statuses: [] }
    let text = ''
    const socket = connect(port, '127.0.0.1')
    let sent = 0
    const dripping = setInterval(() => {
      const byte = drip[sent++ % drip.length]
      if (byte !== undefined && socket.writable) socket.write(byte)
    }, 50)
    const giveUp = setTimeout(() => { socket.destroy() }, giveUpAfter)
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      text += chunk
      seen.statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]))
      if (seen.respondedAt === undefined && text.includes('\r\n\r\n')) {
        seen.respondedAt = performance.now() - started
        const [statusLine = '', ...lines] = text.slice(0, text.indexOf('\r\n\r\n')).split('\r\n')
        seen.status = Number(statusLine.split(' ')[1])
        for (const line of lines) {
          const colon = line.indexOf(':')
          seen.headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
        }
      }
    })
    // The server's close may reach a client still writing as a reset: either way, the connection is gone.
    socket.on('error', () => undefined)
    socket.on('close', () => {
      clearInterval(dripping)
      if (seen.closedAt === undefined && performance.now() - started < giveUpAfter) seen.closedAt = performance.now() - started
      clearTimeout(giveUp)
      resolve(seen)
    })
    socket.write(head)
  })
}

/** A listening app over the unused store, trusting `issuer`. */
async function listening(issuer: TestIssuer, dataDir: string, timeouts?: Partial<ServerTimeouts>): Promise<{ app: FastifyInstance, port: number }> {
  const app = await buildApp({ env: envFor(issuer, dataDir), store: unusedStore, ...(timeouts === undefined ? {} : { timeouts }) })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, port: (app.server.address() as AddressInfo).port }
}

/** Short timeouts, checked every 100 ms, so a cut comes within 100 ms of its timeout. */
const SHORT = { requestTimeout: 2000, headersTimeout: 500, connectionsCheckingInterval: 100 } as const
/** Allowance for a busy machine on top of a timeout: the check interval and the scheduling of both processes. */
const SLACK = 1000

describe('HTTP timeouts and connections', () => {
  let issuer: TestIssuer
  const dir = tempDir()
  let app: FastifyInstance
  let port: number
  before(async () => {
    issuer = await startTestIssuer()
    ;({ app, port } = await listening(issuer, dir.path, SHORT))
  })
  after(async () => {
    await app.close()
    await issuer.close()
    dir.remove()
  })

  test('the production timeouts reach Node\'s HTTP server: request 30 s, headers 10 s, keep-alive 72 s', async () => {
    const defaults = await buildApp({ env: envFor(issuer, dir.path), store: unusedStore })
    try {
      assert.equal(defaults.server.requestTimeout, 30_000)
      assert.equal(defaults.server.headersTimeout, 10_000)
      assert.equal(defaults.server.keepAliveTimeout, 72_000)
    } finally {
      await defaults.close()
    }
  })

  test('an unauthenticated POST whose body is still arriving gets its 401, then the server closes the connection', async (t) => {
    const head = 'POST /api/todos HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n'
    const seen = await trickle(port, head, '{"title":"', 5000)
    t.diagnostic(`401 after ${seen.respondedAt?.toFixed(0)} ms, closed ${seen.closedAt === undefined ? 'never' : `${(seen.closedAt - (seen.respondedAt ?? 0)).toFixed(0)} ms later`}`)
    assert.equal(seen.status, 401)
    assert.equal(seen.headers['www-authenticate'], 'Bearer realm="api"')
    assert.equal(seen.headers.connection, 'close')
    assert.ok(seen.closedAt !== undefined, 'the server closed the connection')
    // Long before requestTimeout: the refusal itself ends the connection.
    assert.ok(seen.closedAt - (seen.respondedAt ?? 0) < 1000, `closed ${seen.closedAt} ms in, after the 401 at ${seen.respondedAt} ms`)
  })

  test('an unauthenticated request without a body keeps its keep-alive connection', async () => {
    // Two requests on one connection: the second is answered too.
    const get = 'GET /api/todos HTTP/1.1\r\nHost: localhost\r\n\r\n'
    const seen = await trickle(port, `${get}${get}`, '', 600)
    assert.equal(seen.status, 401)
    assert.notEqual(seen.headers.connection, 'close')
    assert.deepEqual(seen.statuses, [401, 401])
    assert.equal(seen.closedAt, undefined, 'the connection stays open')
  })

  test('a body trickled with a valid token is cut by requestTimeout: 408, and the connection closed', async (t) => {
    const token = await issuer.mint({ scopes: ['Todo.Write'] })
    // Under the 64 KiB body limit, so that the server waits for it.
    const head = `POST /api/todos HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n`
    const seen = await trickle(port, head, '{"title":"', SHORT.requestTimeout + SLACK + 3000)
    t.diagnostic(`Node ${process.version}: requestTimeout ${SHORT.requestTimeout} ms, cut after ${seen.closedAt?.toFixed(0) ?? 'never'} ms (${seen.status ?? 'no response'})`)
    assert.equal(seen.status, 408)
    assert.ok(seen.closedAt !== undefined, 'the server closed the connection')
    assert.ok(seen.closedAt >= SHORT.requestTimeout - 50, `not before requestTimeout (${seen.closedAt} ms)`)
    assert.ok(seen.closedAt < SHORT.requestTimeout + SLACK, `cut ${seen.closedAt} ms in, requestTimeout ${SHORT.requestTimeout} ms`)
  })

  test('headers trickled are cut by headersTimeout, before requestTimeout', async (t) => {
    const seen = await trickle(port, 'POST /api/todos HTTP/1.1\r\nHost: localhost\r\n', 'X-Slow: 1\r\n', SHORT.requestTimeout + SLACK + 3000)
    t.diagnostic(`Node ${process.version}: headersTimeout ${SHORT.headersTimeout} ms, cut after ${seen.closedAt?.toFixed(0) ?? 'never'} ms (${seen.status ?? 'no response'})`)
    assert.equal(seen.status, 408)
    assert.ok(seen.closedAt !== undefined, 'the server closed the connection')
    assert.ok(seen.closedAt >= SHORT.headersTimeout - 50, `not before headersTimeout (${seen.closedAt} ms)`)
    assert.ok(seen.closedAt < SHORT.headersTimeout + SLACK, `cut ${seen.closedAt} ms in, headersTimeout ${SHORT.headersTimeout} ms`)
  })

  test('timeouts that cannot work are refused when the app is built, naming the option', async () => {
    await assert.rejects(buildApp({ env: envFor(issuer, dir.path), store: unusedStore, timeouts: { requestTimeout: 5000, headersTimeout: 6000 } }),
      { name: 'TypeError', message: '"timeouts.headersTimeout" option must not exceed "timeouts.requestTimeout"' })
    await assert.rejects(buildApp({ env: envFor(issuer, dir.path), store: unusedStore, timeouts: { connectionsCheckingInterval: 0 } }),
      { name: 'TypeError', message: '"timeouts.connectionsCheckingInterval" option must be a positive integer (milliseconds)' })
  })
})
