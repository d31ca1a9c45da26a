import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { TEST_CLIENT_APP_ID } from 'fastify-entra-id/testing'
import { bearer, startHarness } from './helpers/app.js'
import type { Harness } from './helpers/app.js'

describe('GET /api/me', () => {
  let h: Harness
  before(async () => { h = await startHarness('sqlite') })
  after(async () => { await h.close() })

  test('describes a user of a v2 token', async () => {
    const token = await h.issuer.mint({ objectId: h.callers.alice, scopes: ['Todo.Read', 'Todo.Write'], name: 'Alice', username: 'alice@contoso.example' })
    const res = await h.app.inject({ url: '/api/me', headers: bearer(token) })
    assert.equal(res.statusCode, 200)
    const body = res.json<Record<string, unknown>>()
    assert.equal(typeof body.sub, 'string')
    assert.equal(typeof body.expiresAt, 'string')
    assert.deepEqual({ ...body, sub: null, expiresAt: null }, {
      oid: h.callers.alice,
      tid: h.issuer.tenantId,
      sub: null,
      name: 'Alice',
      username: 'alice@contoso.example',
      appId: TEST_CLIENT_APP_ID,
      isAppOnly: false,
      scopes: ['Todo.Read', 'Todo.Write'],
      roles: [],
      tokenVersion: 2,
      expiresAt: null
    })
  })

  test('answers 401 invalid_token, not 500, to a token whose exp lies past the dates it can show', async () => {
    const token = await h.issuer.mint({ scopes: ['Todo.Read'], claims: { exp: 1e16 } })
    const res = await h.app.inject({ url: '/api/me', headers: bearer(token) })
    assert.equal(res.statusCode, 401)
    assert.equal(res.json<{ code: string }>().code, 'ENTRA_TOKEN_INVALID_CLAIMS')
    assert.match(res.headers['www-authenticate'] as string, /error="invalid_token", error_description="The token has no valid expiry \(exp\)"/)
  })

  test('describes a v1 token, whose user name is its upn', async () => {
    const token = await h.issuer.mint({ version: 1, scopes: ['Todo.Read'], username: 'v1user@contoso.example', audience: `api://${h.issuer.clientId}` })
    const res = await h.app.inject({ url: '/api/me', headers: bearer(token) })
    assert.equal(res.statusCode, 200)
    assert.equal(res.json<{ tokenVersion: number }>().tokenVersion, 1)
    assert.equal(res.json<{ username: string }>().username, 'v1user@contoso.example')
  })

  test('describes an application, with null for the user claims it lacks', async () => {
    const res = await h.app.inject({ url: '/api/me', headers: bearer(await h.callers.app(['Todo.Read.All'])) })
    assert.equal(res.statusCode, 200)
    const body = res.json<Record<string, unknown>>()
    assert.equal(body.isAppOnly, true)
    assert.equal(body.name, null)
    assert.equal(body.username, null)
    assert.deepEqual(body.scopes, [])
    assert.deepEqual(body.roles, ['Todo.Read.All'])
    assert.equal(body.oid, h.callers.daemon)
  })

  test('accepts any valid token, even without the todo scopes', async () => {
    const res = await h.app.inject({ url: '/api/me', headers: bearer(await h.issuer.mint({ scopes: ['User.Read'] })) })
    assert.equal(res.statusCode, 200)
  })

  test('refuses an expired token: 401 invalid_token', async () => {
    const token = await h.issuer.mint({ scopes: ['Todo.Read'], expiresIn: -3600 })
    const res = await h.app.inject({ url: '/api/me', headers: bearer(token) })
    assert.equal(res.statusCode, 401)
    assert.match(String(res.headers['www-authenticate']), /error="invalid_token"/)
  })

  test('refuses no token: 401 with a bare challenge', async () => {
    const res = await h.app.inject({ url: '/api/me' })
    assert.equal(res.statusCode, 401)
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
  })
})
