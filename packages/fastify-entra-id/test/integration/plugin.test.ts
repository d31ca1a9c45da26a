import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import Fastify from 'fastify'
import type { FastifyError } from 'fastify'
import { fastifyEntraId, requireScopes } from '../../src/index.js'
import { requestSerializer } from '../../src/log/index.js'
import { bearer, buildApp, logSink, withIssuer } from '../helpers.js'

describe('the plugin in a Fastify app', () => {
  it('leaves request.auth null on routes that do not authenticate', () => withIssuer(async (issuer) => {
    const app = await buildApp(issuer)
    app.get('/peek', (request) => ({ auth: request.auth }))
    try {
      const token = await issuer.mint({ scopes: ['Todo.Read'] })
      const response = await app.inject({ url: '/peek', headers: bearer(token) })
      assert.deepEqual(response.json(), { auth: null })
    } finally {
      await app.close()
    }
  }))

  it('authenticates in onRequest: a refused caller\'s body is never parsed', () => withIssuer(async (issuer) => {
    const app = await buildApp(issuer)
    let parsed = 0
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
      parsed++
      done(null, JSON.parse(body as string))
    })
    app.post('/items', { onRequest: app.entraId.authenticate }, () => ({ ok: true }))
    try {
      const response = await app.inject({ method: 'POST', url: '/items', headers: { 'content-type': 'application/json' }, payload: '{"a":1}' })
      assert.equal(response.statusCode, 401)
      assert.equal(parsed, 0)
      const ok = await app.inject({ method: 'POST', url: '/items', headers: { ...bearer(await issuer.mint({ scopes: ['x'] })), 'content-type': 'application/json' }, payload: '{"a":1}' })
      assert.equal(ok.statusCode, 200)
      assert.equal(parsed, 1)
    } finally {
      await app.close()
    }
  }))

  it('keeps the WWW-Authenticate challenge with an application error handler that copies error.headers', () => withIssuer(async (issuer) => {
    const app = Fastify()
    await app.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url })
    // The documented pattern: an application's own error body, with the plugin's headers kept.
    app.setErrorHandler((error: FastifyError & { headers?: Record<string, string> }, _request, reply) => {
      if (error.headers !== undefined) void reply.headers(error.headers)
      void reply.status(error.statusCode ?? 500).send({ problem: error.code, detail: error.message })
    })
    app.get('/me', { onRequest: app.entraId.authenticate }, () => ({ ok: true }))
    app.get('/guarded', { preHandler: requireScopes('Todo.Write') }, () => ({ ok: true }))
    try {
      const missing = await app.inject({ url: '/me' })
      assert.equal(missing.statusCode, 401)
      assert.equal(missing.headers['www-authenticate'], 'Bearer realm="api"')
      assert.deepEqual(missing.json(), { problem: 'ENTRA_TOKEN_MISSING', detail: 'Authentication required: send an access token as "Authorization: Bearer <token>"' })
      const forbidden = await app.inject({ url: '/guarded', headers: bearer(await issuer.mint({ scopes: ['Todo.Read'] })) })
      assert.equal(forbidden.statusCode, 403)
      assert.equal(forbidden.headers['www-authenticate'], 'Bearer realm="api", error="insufficient_scope", error_description="The token lacks the required scope: Todo.Write", scope="Todo.Write"')
    } finally {
      await app.close()
    }
  }))

  it('answers errors in Fastify\'s error shape with a stable code and no stack trace', () => withIssuer(async (issuer) => {
    const now = Date.now()
    const app = await buildApp(issuer, { clock: () => now })
    try {
      const expired = await issuer.mint({ scopes: ['x'], now: Math.floor(now / 1000), expiresIn: -3600 })
      const response = await app.inject({ url: '/me', headers: bearer(expired) })
      assert.deepEqual(response.json(), {
        statusCode: 401,
        code: 'ENTRA_TOKEN_EXPIRED',
        error: 'Unauthorized',
        message: 'The token expired 3600 s ago: request a new token (if it was just issued, a clock is wrong)'
      })
    } finally {
      await app.close()
    }
  }))

  it('never logs a token, logs refusals with their code, and names the verified caller in later log lines', () => withIssuer(async (issuer) => {
    const sink = logSink()
    const app = await buildApp(issuer, { fastify: { logger: { level: 'info', stream: sink.stream, serializers: { req: requestSerializer } } } })
    try {
      const good = await issuer.mint({ scopes: ['Todo.Read'] })
      const expired = await issuer.mint({ scopes: ['Todo.Read'], expiresIn: -3600 })
      assert.equal((await app.inject({ url: '/me', headers: bearer(good) })).statusCode, 200)
      const refused = await app.inject({ url: '/me', headers: bearer(expired) })
      assert.equal(refused.statusCode, 401)
      assert.equal(refused.json<{ code: string }>().code, 'ENTRA_TOKEN_EXPIRED')
      assert.equal((await app.inject({ url: `/public?access_token=${good}&code=secret-code&page=2` })).statusCode, 200)
      assert.equal((await app.inject({ url: '/me', headers: bearer('garbage.token.value') })).statusCode, 401)

      const text = sink.text()
      for (const secret of [good, expired, good.split('.')[2] as string, 'secret-code', 'garbage.token.value']) {
        assert.ok(!text.includes(secret), 'a token or credential reached the logs')
      }
      const lines = sink.lines()
      assert.ok(lines.some((l) => (l.err as { code?: unknown } | undefined)?.code === 'ENTRA_TOKEN_EXPIRED'), 'the refusal reason code is logged')
      assert.ok(lines.some((l) => (l.req as { url?: string } | undefined)?.url === '/public?access_token=[REDACTED]&code=[REDACTED]&page=2'))
      const identity = (await app.inject({ url: '/me', headers: bearer(good) })).json<{ objectId: string, clientAppId: string }>()
      const completed = lines.filter((l) => l.msg === 'request completed' && l.oid !== undefined)
      assert.ok(completed.length >= 1, 'the request-completed line carries the caller')
      const first = completed[0] as Record<string, unknown>
      assert.equal(first.tid, issuer.tenantId)
      assert.equal(first.azp, identity.clientAppId)
    } finally {
      await app.close()
    }
  }))

  it('binds each caller to its own request\'s log lines only: never to another request, nor to the app\'s logger', () => withIssuer(async (issuer) => {
    const sink = logSink()
    const app = await buildApp(issuer, { fastify: { logger: { level: 'info', stream: sink.stream } } })
    try {
      const alice = await issuer.mint({ scopes: ['Todo.Read'], objectId: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa' })
      const bob = await issuer.mint({ scopes: ['Todo.Read'], objectId: 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb' })
      // Interleaved, cached and not: each request's lines must name its own caller.
      for (const token of [alice, bob, alice, bob, alice]) assert.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200)
      assert.equal((await app.inject({ url: '/public' })).statusCode, 200)
      app.log.info('after the requests')
      const lines = sink.lines()
      const completed = lines.filter((l) => l.msg === 'request completed')
      assert.deepEqual(completed.map((l) => l.oid), [
        'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa',
        'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', undefined
      ])
      const after = lines.find((l) => l.msg === 'after the requests')
      assert.ok(after !== undefined)
      assert.deepEqual([after.oid, after.tid, after.azp], [undefined, undefined, undefined])
    } finally {
      await app.close()
    }
  }))

  it('logs each refused request once, at info, with its code and no stack frames (Fastify\'s default error handler)', () => withIssuer(async (issuer) => {
    const sink = logSink()
    const app = await buildApp(issuer, { fastify: { logger: { level: 'info', stream: sink.stream } } })
    app.get('/guarded', { preHandler: requireScopes('Todo.Write') }, () => ({ ok: true }))
    try {
      await app.ready()
      // Published after the start-up fetch, and not refetched within the cooldown: a kid the loaded set lacks.
      const unknownKid = await issuer.addKey()
      const refusals: [string, { url: string, headers?: Record<string, string> }, number, string][] = [
        ['no token', { url: '/me' }, 401, 'ENTRA_TOKEN_MISSING'],
        ['a token in the URL', { url: '/me?access_token=abc' }, 400, 'ENTRA_INVALID_REQUEST'],
        ['an expired token', { url: '/me', headers: bearer(await issuer.mint({ scopes: ['x'], expiresIn: -3600 })) }, 401, 'ENTRA_TOKEN_EXPIRED'],
        // Refused with a cause (no key for the kid): the cause adds no frames either.
        ['a token of a key the set lacks', { url: '/me', headers: bearer(await issuer.mint({ scopes: ['x'], kid: unknownKid })) }, 401, 'ENTRA_TOKEN_UNKNOWN_KEY']
      ]
      for (const [name, request, status, code] of refusals) {
        const before = sink.lines().length
        const response = await app.inject(request)
        assert.equal(response.statusCode, status, name)
        const lines = sink.lines().slice(before)
        const other = lines.filter((l) => l.msg !== 'incoming request' && l.msg !== 'request completed')
        assert.equal(other.length, 1, `${name}: one refusal line, got ${JSON.stringify(other)}`)
        const line = other[0] as Record<string, unknown>
        assert.equal(line.level, 30, `${name}: at info`)
        assert.equal((line.err as { code?: unknown }).code, code, `${name}: with its code`)
        assert.ok(!JSON.stringify(line).includes('    at '), `${name}: no stack frames`)
      }
    } finally {
      await app.close()
    }
  }))

  it('logs a guard\'s refusal once, at info, with its code and no stack frames', () => withIssuer(async (issuer) => {
    const sink = logSink()
    const app = await buildApp(issuer, { fastify: { logger: { level: 'info', stream: sink.stream } } })
    app.get('/guarded', { preHandler: requireScopes('Todo.Write') }, () => ({ ok: true }))
    try {
      const token = await issuer.mint({ scopes: ['Todo.Read'] })
      await app.ready()
      const before = sink.lines().length
      assert.equal((await app.inject({ url: '/guarded', headers: bearer(token) })).statusCode, 403)
      const other = sink.lines().slice(before).filter((l) => l.msg !== 'incoming request' && l.msg !== 'request completed')
      assert.equal(other.length, 1, JSON.stringify(other))
      assert.equal(other[0]?.level, 30)
      assert.equal((other[0]?.err as { code?: unknown } | undefined)?.code, 'ENTRA_INSUFFICIENT_SCOPE')
      assert.ok(!JSON.stringify(other[0]).includes('    at '))
    } finally {
      await app.close()
    }
  }))

  it('lets an application await authenticate from its own hook, on cached and new tokens alike', () => withIssuer(async (issuer) => {
    const app = await buildApp(issuer)
    app.get('/custom', {
      onRequest: async (request, reply) => {
        await app.entraId.authenticate(request, reply)
        if (request.auth?.scopes.has('Todo.Admin') !== true) await reply.code(418).send({ teapot: true })
      }
    }, (request) => ({ oid: request.auth?.objectId }))
    try {
      const token = await issuer.mint({ scopes: ['Todo.Admin'], objectId: '11111111-1111-1111-1111-111111111111' })
      for (let i = 0; i < 3; i++) {
        const response = await app.inject({ url: '/custom', headers: bearer(token) })
        assert.deepEqual(response.json(), { oid: '11111111-1111-1111-1111-111111111111' }, `request ${i + 1}`)
      }
      assert.equal(app.entraId.verifier.cachedTokens, 1)
      assert.equal((await app.inject({ url: '/custom', headers: bearer(await issuer.mint({ scopes: ['Todo.Read'] })) })).statusCode, 418)
      const missing = await app.inject({ url: '/custom' })
      assert.equal(missing.statusCode, 401)
      assert.equal(missing.headers['www-authenticate'], 'Bearer realm="api"')
    } finally {
      await app.close()
    }
  }))

  it('reports readiness through app.entraId.isReady()', () => withIssuer(async (issuer) => {
    const app = await buildApp(issuer)
    try {
      await app.ready()
      assert.equal(app.entraId.isReady(), true)
    } finally {
      await app.close()
    }
  }))
})
