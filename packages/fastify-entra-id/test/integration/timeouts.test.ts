import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { fastifyEntraId, requireRoles } from '../../src/index.js'
import { withIssuer } from '../helpers.js'
import type { TestIssuer } from '../../src/testing/index.js'

// Protected routes behind slow clients, on every Node line CI runs: the server options an application needs so that
// a trickled request is cut, and the plugin closing a connection whose body is still arriving when it refuses the
// request (it authenticates in `onRequest`, before the body is read).

const REQUEST_TIMEOUT = 2000
/** Allowance for a busy machine on top of the timeout: the 100 ms check and the scheduling of both ends. */
const SLACK = 1000

/** A Fastify app with the timeouts given where Node applies them, and a protected POST route. */
async function protectedApp(issuer: TestIssuer): Promise<{ app: FastifyInstance, port: number }> {
  const app = Fastify({
    // Node checks requestTimeout every connectionsCheckingInterval (30 s unless given to http.createServer);
    // Fastify sets server.requestTimeout from its own option, 0 unless given, so it is given to both.
    http: { requestTimeout: REQUEST_TIMEOUT, headersTimeout: REQUEST_TIMEOUT, connectionsCheckingInterval: 100 },
    requestTimeout: REQUEST_TIMEOUT
  })
  await app.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url })
  app.post('/items', { onRequest: app.entraId.authenticate }, () => ({ ok: true }))
  app.post('/admin', { onRequest: requireRoles('Todo.Admin') }, () => ({ ok: true }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, port: (app.server.address() as AddressInfo).port }
}

/** Sends `head`, then a byte every 50 ms; resolves with the first status and when the server closed, in ms. */
function trickle(port: number, head: string, giveUpAfter: number): Promise<{ status?: number, connection?: string, respondedAt?: number, closedAt?: number }> {
  return new Promise((resolve) => {
    const started = performance.now()
    const seen: { status?: number, connection?: string, respondedAt?: number, closedAt?: number } = {}
    let text = ''
    const socket = connect(port, '127.0.0.1')
    const dripping = setInterval(() => { if (socket.writable) socket.write('a') }, 50)
    const giveUp = setTimeout(() => { socket.destroy() }, giveUpAfter)
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      text += chunk
      if (seen.respondedAt === undefined && text.includes('\r\n\r\n')) {
        seen.respondedAt = performance.now() - started
        seen.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1])
        const connection = /^connection: *(.*)$/im.exec(text.slice(0, text.indexOf('\r\n\r\n')))?.[1]?.trim()
        if (connection !== undefined) seen.connection = connection.toLowerCase()
      }
    })
    socket.on('error', () => undefined)
    socket.on('close', () => {
      clearInterval(dripping)
      clearTimeout(giveUp)
      const at = performance.now() - started
      if (at < giveUpAfter) seen.closedAt = at
      resolve(seen)
    })
    socket.write(head)
  })
}

const post = (extra: string) => `POST /items HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n${extra}\r\n`

describe('protected routes and slow clients', () => {
  it('cuts a body trickled with a valid token at requestTimeout (408) when the timeout is given to Node\'s server', (t) => withIssuer(async (issuer) => {
    const { app, port } = await protectedApp(issuer)
    try {
      const token = await issuer.mint({ scopes: ['Todo.Write'] })
      const seen = await trickle(port, post(`Authorization: Bearer ${token}\r\n`), REQUEST_TIMEOUT + SLACK + 3000)
      // Named by line: CI runs this file on every supported Node line.
      t.diagnostic(`Node ${process.version}: requestTimeout ${REQUEST_TIMEOUT} ms, trickled body cut after ${seen.closedAt?.toFixed(0) ?? 'never'} ms`)
      assert.equal(seen.status, 408)
      assert.ok(seen.closedAt !== undefined, 'the server closed the connection')
      assert.ok(seen.closedAt >= REQUEST_TIMEOUT - 50, `not before requestTimeout (${seen.closedAt} ms)`)
      assert.ok(seen.closedAt < REQUEST_TIMEOUT + SLACK, `cut ${seen.closedAt} ms in, requestTimeout ${REQUEST_TIMEOUT} ms`)
    } finally {
      await app.close()
    }
  }))

  it('refuses a request whose body is still arriving (no token, a bad token, a missing role) and closes its connection at once', (t) => withIssuer(async (issuer) => {
    const { app, port } = await protectedApp(issuer)
    try {
      const reader = await issuer.mint({ scopes: ['Todo.Read'] })
      const cases = [
        ['no token', '/items', '', 401],
        ['a token in two headers', '/items', `Authorization: Bearer ${reader}\r\nAuthorization: Bearer ${reader}\r\n`, 400],
        ['a bad token', '/items', 'Authorization: Bearer abc.def.ghi\r\n', 401],
        ['a valid token without the role', '/admin', `Authorization: Bearer ${reader}\r\n`, 403]
      ] as const
      for (const [name, path, header, status] of cases) {
        const seen = await trickle(port, post(header).replace('/items', path), REQUEST_TIMEOUT + SLACK + 3000)
        assert.equal(seen.status, status, name)
        assert.equal(seen.connection, 'close', name)
        assert.ok(seen.closedAt !== undefined && seen.respondedAt !== undefined, `${name}: the server closed the connection`)
        t.diagnostic(`Node ${process.version}, ${name}: ${status} after ${seen.respondedAt.toFixed(0)} ms, closed ${(seen.closedAt - seen.respondedAt).toFixed(0)} ms later`)
        assert.ok(seen.closedAt - seen.respondedAt < 1000, `${name}: closed ${seen.closedAt} ms in, after the ${status} at ${seen.respondedAt} ms`)
      }
    } finally {
      await app.close()
    }
  }))

  it('keeps the connection of a refused request that has no body', () => withIssuer(async (issuer) => {
    const { app, port } = await protectedApp(issuer)
    try {
      const response = await fetch(`http://127.0.0.1:${port}/items`, { method: 'POST' })
      assert.equal(response.status, 401)
      assert.notEqual(response.headers.get('connection'), 'close')
    } finally {
      await app.close()
    }
  }))
})
