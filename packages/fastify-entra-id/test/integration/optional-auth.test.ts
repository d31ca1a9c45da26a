import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { identityOf, requireScopes } from '../../src/index.js'
import { describeGuard } from '../../src/openapi/index.js'
import type { EntraIdentity } from '../../src/index.js'
import { startTestIssuer } from '../../src/testing/index.js'
import type { TestIssuer } from '../../src/testing/index.js'
import { bearer, entraApp, outcome } from '../helpers.js'

describe('authenticateOptional', () => {
  let issuer: TestIssuer
  let app: FastifyInstance

  before(async () => {
    issuer = await startTestIssuer()
    app = await entraApp(issuer)
    app.get('/feed', { onRequest: app.entraId.authenticateOptional }, (request) => {
      // The type handlers see here: nullable, so the compiler makes the anonymous case be handled.
      const auth: EntraIdentity | null = request.auth
      // @ts-expect-error request.auth may be null on an optional route
      const unchecked = (): unknown => request.auth.objectId
      assert.equal(typeof unchecked, 'function')
      return auth === null ? { items: ['public'] } : { items: ['public', 'yours'], for: auth.objectId }
    })
    app.get('/mine', { onRequest: requireScopes('Todo.Read') }, (request) => {
      // Behind authenticate or a guard: identityOf gives the identity, typed non-null.
      const auth: EntraIdentity = identityOf(request)
      return { for: auth.objectId }
    })
    await app.ready()
  })
  after(async () => {
    await app.close()
    await issuer.close()
  })

  it('serves an anonymous request, with request.auth null', async () => {
    const response = await app.inject({ url: '/feed' })
    assert.equal(response.statusCode, 200)
    assert.deepEqual(response.json(), { items: ['public'] })
  })

  it('treats another scheme (Basic) as no credentials for this API, as authenticate does (401 without error there)', async () => {
    assert.equal((await app.inject({ url: '/feed', headers: { authorization: 'Basic dXNlcjpwYXNz' } })).statusCode, 200)
  })

  it('serves more to a signed-in caller', async () => {
    const token = await issuer.mint({ scopes: ['Todo.Read'], objectId: '11111111-2222-4333-8444-555555555555' })
    assert.deepEqual((await app.inject({ url: '/feed', headers: bearer(token) })).json(),
      { items: ['public', 'yours'], for: '11111111-2222-4333-8444-555555555555' })
  })

  it('refuses a bad token exactly as authenticate does', async () => {
    const expired = await issuer.mint({ scopes: ['Todo.Read'], expiresIn: -3600 })
    const forged = `${(await issuer.mint({ scopes: ['Todo.Read'] })).slice(0, -4)}AAAA`
    for (const headers of [bearer(expired), bearer(forged), bearer('not-a-jwt'), { authorization: 'Bearer' }]) {
      const optional = outcome(await app.inject({ url: '/feed', headers }))
      const strict = outcome(await app.inject({ url: '/mine', headers }))
      assert.ok(optional.status === 401 || optional.status === 400, JSON.stringify(optional))
      assert.deepEqual(optional, strict, headers.authorization)
    }
  })

  it('is described as optional, for OpenAPI', () => {
    assert.equal(describeGuard(app.entraId.authenticateOptional)?.optional, true)
    assert.equal(describeGuard(app.entraId.authenticate)?.optional, false)
  })
})
