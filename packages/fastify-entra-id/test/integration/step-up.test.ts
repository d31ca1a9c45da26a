import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { EntraConfigError, fastifyEntraId, identityOf, requireAuthContext, requireScopes } from '../../src/index.js'
import { InsufficientClaimsError, canHandleClaimsChallenges } from '../../src/core/index.js'
import { describeGuard } from '../../src/openapi/index.js'
import { startTestIssuer } from '../../src/testing/index.js'
import type { TestIssuer } from '../../src/testing/index.js'
import { bearer, entraApp } from '../helpers.js'

// Microsoft's "Claims challenges" document shows this value for c1: base64 (with padding) of the minified JSON.
const C1_CLAIMS = 'eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19'

/** The parameters of a one-challenge `WWW-Authenticate` value, in order, failing on a repeated name. */
function parameters(challenge: unknown): Array<[string, string]> {
  assert.equal(typeof challenge, 'string')
  const text = challenge as string
  assert.ok(text.startsWith('Bearer '), text)
  const found: Array<[string, string]> = []
  for (const match of text.slice('Bearer '.length).matchAll(/\s*([a-z_]+)="([^"]*)"\s*(?:,|$)/g)) {
    assert.ok(!found.some(([name]) => name === match[1]), `${match[1]} repeated in ${text}`)
    found.push([match[1] as string, match[2] as string])
  }
  return found
}

describe('authentication context (Conditional Access step-up)', () => {
  let issuer: TestIssuer
  let app: FastifyInstance

  before(async () => {
    issuer = await startTestIssuer()
    app = await entraApp(issuer)
    app.delete('/todos/:id', { preHandler: [requireScopes('Todo.Write'), requireAuthContext('c1')] }, (request) => ({ deletedBy: identityOf(request).objectId }))
    app.get('/c25', { onRequest: requireAuthContext('c25') }, () => ({ ok: true }))
    await app.ready()
  })
  after(async () => {
    await app.close()
    await issuer.close()
  })

  const user = (claims: Record<string, unknown>, scopes = ['Todo.Write']) => issuer.mint({ scopes, claims })
  const remove = async (token: string) => app.inject({ method: 'DELETE', url: '/todos/1', headers: bearer(token) })

  it('lets through a user whose token lists the context in acrs', async () => {
    const response = await remove(await user({ acrs: ['c2', 'c1'], xms_cc: ['cp1'] }))
    assert.equal(response.statusCode, 200)
  })

  it('challenges a cp1 client (401 insufficient_claims) with the claims request, as Microsoft documents it', async () => {
    const response = await remove(await user({ acrs: ['c2'], xms_cc: ['cp1'] }))
    assert.equal(response.statusCode, 401)
    assert.deepEqual(parameters(response.headers['www-authenticate']), [
      ['realm', 'api'],
      ['authorization_uri', `${issuer.url}/${issuer.tenantId}/oauth2/v2.0/authorize`],
      ['error', 'insufficient_claims'],
      ['claims', C1_CLAIMS]
    ])
    assert.deepEqual(JSON.parse(Buffer.from(C1_CLAIMS, 'base64').toString()), { access_token: { acrs: { essential: true, value: 'c1' } } })
    const body = response.json<{ code: string, message: string }>()
    assert.equal(body.code, 'ENTRA_INSUFFICIENT_CLAIMS')
    assert.match(body.message, /authentication context c1/)
  })

  it('reads xms_cc as a string or an array, in any case', async () => {
    for (const xms_cc of ['cp1', 'CP1', ['other', 'Cp1']]) {
      assert.equal((await remove(await user({ xms_cc }))).statusCode, 401, JSON.stringify(xms_cc))
    }
  })

  it('pads the base64 claims value when the JSON needs it', async () => {
    const response = await app.inject({ url: '/c25', headers: bearer(await user({ xms_cc: 'cp1' }, ['Todo.Read'])) })
    const claims = new Map(parameters(response.headers['www-authenticate'])).get('claims') ?? ''
    assert.ok(claims.endsWith('=='), claims)
    assert.equal(Buffer.from(claims, 'base64').toString(), '{"access_token":{"acrs":{"essential":true,"value":"c25"}}}')
  })

  it('answers 403 ENTRA_AUTH_CONTEXT_REQUIRED, without a claims challenge, to a client without cp1', async () => {
    for (const claims of [{}, { xms_cc: ['cp2'] }, { acrs: ['c10'] }, { acrs: 'c1' }]) {
      const response = await remove(await user(claims))
      assert.equal(response.statusCode, 403, JSON.stringify(claims))
      assert.equal(response.json<{ code: string }>().code, 'ENTRA_AUTH_CONTEXT_REQUIRED')
      assert.match(response.json<{ message: string }>().message, /authentication context c1/)
      const challenge = String(response.headers['www-authenticate'])
      assert.match(challenge, /^Bearer realm="api", error="insufficient_scope", error_description="[^"]*c1[^"]*"$/)
      assert.doesNotMatch(challenge, /claims=/)
    }
  })

  it('answers 403 to an app-only caller even when it sends cp1: an application cannot step up', async () => {
    const token = await issuer.mint({ appOnly: true, roles: ['Todo.Write.All'], claims: { xms_cc: ['cp1'] } })
    const response = await app.inject({ url: '/c25', headers: bearer(token) })
    assert.equal(response.statusCode, 403)
    assert.equal(response.json<{ code: string }>().code, 'ENTRA_AUTH_CONTEXT_REQUIRED')
    assert.match(response.json<{ message: string }>().message, /only a user's sign-in/)
  })

  it('lets app-only callers through with appOnly: "allow", users still stepping up', async () => {
    const local = await entraApp(issuer)
    local.get('/x', { onRequest: requireAuthContext('c1', { appOnly: 'allow' }) }, () => ({ ok: true }))
    try {
      const daemon = await issuer.mint({ appOnly: true, roles: ['Todo.Write.All'] })
      assert.equal((await local.inject({ url: '/x', headers: bearer(daemon) })).statusCode, 200)
      assert.equal((await local.inject({ url: '/x', headers: bearer(await user({})) })).statusCode, 403)
      assert.equal((await local.inject({ url: '/x', headers: bearer(await user({ xms_cc: 'cp1' })) })).statusCode, 401)
    } finally {
      await local.close()
    }
    assert.deepEqual(describeGuard(requireAuthContext('c1', { appOnly: 'allow' })),
      { user: [{}], app: [{}], conditions: ['authentication context c1 (users)'], optional: false })
    assert.throws(() => requireAuthContext('c1', { appOnly: 'yes' as 'allow' }), (e: unknown) => e instanceof EntraConfigError && e.option === 'appOnly')
  })

  it('checks scopes first: a token without the scope gets insufficient_scope, not a step-up', async () => {
    const response = await remove(await user({ xms_cc: ['cp1'] }, ['Todo.Read']))
    assert.equal(response.statusCode, 403)
    assert.equal(response.json<{ code: string }>().code, 'ENTRA_INSUFFICIENT_SCOPE')
  })

  it('points a multi-tenant API\'s challenge at the caller\'s own tenant', async () => {
    const other = '6f2d6d8a-1c1f-4d39-9f3a-3c1d2e4f5a6b'
    const multi = Fastify()
    await multi.register(fastifyEntraId, { tenantId: 'organizations', allowedTenants: '*', clientId: issuer.clientId, authorityHost: issuer.url })
    multi.get('/x', { onRequest: requireAuthContext('c3') }, () => ({ ok: true }))
    try {
      const response = await multi.inject({ url: '/x', headers: bearer(await issuer.mint({ tenantId: other, scopes: ['Todo.Read'], claims: { xms_cc: 'cp1' } })) })
      assert.equal(new Map(parameters(response.headers['www-authenticate'])).get('authorization_uri'), `${issuer.url}/${other}/oauth2/v2.0/authorize`)
    } finally {
      await multi.close()
    }
  })

  it('refuses a bad authentication context ID when the guard is built', () => {
    for (const id of ['c0', 'c100', 'C1', 'c01', '1', '', 'c1 ', 42]) {
      assert.throws(() => requireAuthContext(id as string), (error: unknown) =>
        error instanceof EntraConfigError && error.option === 'authContext', String(id))
    }
    for (const id of ['c1', 'c9', 'c10', 'c99']) assert.doesNotThrow(() => requireAuthContext(id))
  })

  it('describes the condition for documentation, and app-only callers as refused', () => {
    assert.deepEqual(describeGuard(requireAuthContext('c7')), { user: [{}], app: [], conditions: ['authentication context c7'], optional: false })
  })

  it('canHandleClaimsChallenges reads the verified identity', async () => {
    const identity = await app.entraId.verifier.verify(await user({ xms_cc: ['CP1'] }))
    assert.equal(canHandleClaimsChallenges(identity), true)
    assert.equal(canHandleClaimsChallenges(await app.entraId.verifier.verify(await user({}))), false)
  })
})

describe('InsufficientClaimsError: a claims challenge raised by the application', () => {
  it('relays any claims request in the same challenge shape, minified, with the caller\'s authorization URI', async () => {
    const issuer = await startTestIssuer()
    const app = Fastify()
    try {
      await app.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url, realm: 'todo' })
      app.get('/relay', { onRequest: app.entraId.authenticate }, (request) => {
        // What an application does with a downstream API's claims challenge: pass it on to its own caller.
        throw app.entraId.claimsChallenge(request, '{ "access_token": { "xms_cc": { "values": ["cp1"] } } }')
      })
      const response = await app.inject({ url: '/relay', headers: bearer(await issuer.mint({ scopes: ['Todo.Read'] })) })
      assert.equal(response.statusCode, 401)
      const params = parameters(response.headers['www-authenticate'])
      assert.deepEqual(params.map(([name]) => name), ['realm', 'authorization_uri', 'error', 'claims'])
      assert.equal(new Map(params).get('realm'), 'todo')
      assert.equal(Buffer.from(new Map(params).get('claims') ?? '', 'base64').toString(), '{"access_token":{"xms_cc":{"values":["cp1"]}}}')
      assert.equal(response.json<{ code: string }>().code, 'ENTRA_INSUFFICIENT_CLAIMS')
    } finally {
      await app.close()
      await issuer.close()
    }
  })

  it('is constructible on its own, and refuses claims that are not a JSON object or a bad authorization URI', () => {
    const error = new InsufficientClaimsError({ access_token: { acrs: { essential: true, value: 'c1' } } }, 'Step up')
    assert.equal(error.headers['www-authenticate'], `Bearer realm="api", error="insufficient_claims", claims="${C1_CLAIMS}"`)
    assert.equal(error.statusCode, 401)
    for (const claims of ['not json', '[1]', 'null', '"x"']) {
      assert.throws(() => new InsufficientClaimsError(claims, 'x'), (e: unknown) => e instanceof EntraConfigError && e.option === 'claims', claims)
    }
    for (const authorizationUri of ['http://login.example.com/x', 'relative/path', 'https://a.example/x#f', 'https://a.example/"x']) {
      assert.throws(() => new InsufficientClaimsError({}, 'x', { authorizationUri }), (e: unknown) => e instanceof EntraConfigError && e.option === 'authorizationUri', authorizationUri)
    }
  })
})
