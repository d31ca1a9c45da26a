import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { EntraConfigError, requireScopes } from '../../src/index.js'
import { DiscoveryError, EntraTokenVerifier } from '../../src/core/index.js'
import { startTestIssuer } from '../../src/testing/index.js'
import type { TestIssuer } from '../../src/testing/index.js'
import { Signal, bearer, buildApp, outcome, withIssuer } from '../helpers.js'

const REALM = 'Bearer realm="api"'
const invalid = (description: string): string => `${REALM}, error="invalid_token", error_description="${description}"`
const DOMAIN = 'contoso.onmicrosoft.com'
const SIGN_UP_SIGN_IN = 'B2C_1_signupsignin'
const CUSTOM = 'B2C_1A_signin_custom'

describe('Azure AD B2C', () => {
  let issuer: TestIssuer
  let app: FastifyInstance

  before(async () => {
    // Each policy with a key of its own, so a test can tell which policy's key set verified a token.
    issuer = await startTestIssuer({ b2c: { policies: [SIGN_UP_SIGN_IN, CUSTOM, 'B2C_1_other'], separateKeys: true } })
  })
  before(async () => {
    app = await buildApp(issuer, {
      tenantId: issuer.tenantId,
      // B2C ignores the case of policy names: so does the API.
      b2c: { policies: [SIGN_UP_SIGN_IN.toLowerCase(), CUSTOM.toUpperCase()] }
    })
    app.get('/read', { onRequest: app.entraId.authenticate, preHandler: requireScopes('Todo.Read') }, () => ({ ok: true }))
    await app.ready()
  })
  after(async () => {
    await app.close()
    await issuer.close()
  })

  const call = async (token: string, url = '/me') => outcome(await app.inject({ url, headers: bearer(token) }))

  it('reads one discovery document and one key set per policy, all before it is ready', () => {
    assert.equal(app.entraId.isReady(), true)
    const paths = issuer.requests.map((r) => r.path).sort()
    assert.deepEqual(paths, [
      `/${issuer.tenantId}/${CUSTOM.toLowerCase()}/discovery/v2.0/keys`,
      `/${issuer.tenantId}/${CUSTOM.toUpperCase()}/v2.0/.well-known/openid-configuration`,
      `/${issuer.tenantId}/${SIGN_UP_SIGN_IN.toLowerCase()}/discovery/v2.0/keys`,
      `/${issuer.tenantId}/${SIGN_UP_SIGN_IN.toLowerCase()}/v2.0/.well-known/openid-configuration`
    ].sort())
  })

  it('accepts a token of each policy, named by tfp or by acr, with its trailing-slash issuer and no tid or oid', async () => {
    const subject = randomUUID()
    for (const [policy, policyClaim] of [[SIGN_UP_SIGN_IN, 'tfp'], [CUSTOM, 'acr']] as const) {
      const token = await issuer.mintB2c({ policy, policyClaim, subject, scopes: ['Todo.Read'] })
      const response = await app.inject({ url: '/me', headers: bearer(token) })
      assert.equal(response.statusCode, 200, response.body)
      const body = response.json<Record<string, unknown>>()
      // The identity falls back to `sub` for the object ID, and to the issuer's tenant ID for the tenant.
      assert.equal(body.objectId, subject)
      assert.equal(body.subject, subject)
      assert.equal(body.tenantId, issuer.tenantId)
      assert.deepEqual(body.scopes, ['Todo.Read'])
      assert.equal(body.tokenVersion, 2)
      assert.equal(body.isAppOnly, false)
    }
    assert.ok(issuer.b2cIssuer().endsWith('/v2.0/'))
  })

  it('keeps the B2C identity of a token served from the token cache', async () => {
    const subject = randomUUID()
    const token = await issuer.mintB2c({ subject, scopes: ['Todo.Read'] })
    const hits = app.entraId.verifier.tokenCacheStats.hits
    // A token enters the cache on its second verification, so the third use is a hit.
    for (let i = 0; i < 3; i++) {
      const body = (await app.inject({ url: '/me', headers: bearer(token) })).json<{ objectId: string, tenantId: string }>()
      assert.deepEqual([body.objectId, body.tenantId], [subject, issuer.tenantId])
    }
    assert.equal(app.entraId.verifier.tokenCacheStats.hits, hits + 1)
  })

  it('uses tid and oid when the user flow emits them', async () => {
    const [oid, tid] = [randomUUID(), randomUUID()]
    const response = await app.inject({ url: '/me', headers: bearer(await issuer.mintB2c({ scopes: ['Todo.Read'], claims: { oid, tid } })) })
    assert.equal(response.statusCode, 200)
    assert.equal(response.json<{ objectId: string }>().objectId, oid)
    assert.equal(response.json<{ tenantId: string }>().tenantId, tid)
  })

  it('matches scopes in scp whole', async () => {
    assert.equal((await call(await issuer.mintB2c({ scopes: ['Todo.Read'] }), '/read')).status, 200)
    const partial = await call(await issuer.mintB2c({ scopes: ['Todo.ReadWrite', 'Todo'] }), '/read')
    assert.deepEqual([partial.status, partial.code], [403, 'ENTRA_INSUFFICIENT_SCOPE'])
  })

  it('checks a token with the key set of the policy it names', async () => {
    // Signed by the custom policy's key, claiming the sign-up policy: that policy's set has no such key.
    const token = await issuer.mintB2c({ policy: CUSTOM, scopes: ['Todo.Read'], claims: { tfp: SIGN_UP_SIGN_IN } })
    assert.equal((await call(token)).code, 'ENTRA_TOKEN_UNKNOWN_KEY')
  })

  it('refuses a token of a policy the API is not configured for, only once its signature verified', async () => {
    // B2C_1_other's key is in no configured set: a forged claim could not be told from it, so nothing is said.
    assert.equal((await call(await issuer.mintB2c({ policy: 'B2C_1_other', scopes: ['Todo.Read'] }))).code, 'ENTRA_TOKEN_UNKNOWN_KEY')
    // Signed by a configured policy's key but naming another policy: verified, so the refusal says what is wrong.
    const token = await issuer.mintB2c({ policy: CUSTOM, scopes: ['Todo.Read'], claims: { tfp: 'B2C_1_other' } })
    assert.deepEqual(await call(token), {
      status: 401,
      code: 'ENTRA_TOKEN_POLICY_NOT_ALLOWED',
      challenge: invalid('The token was issued by a user flow (policy, tfp or acr) this API does not accept: sign in through one of the API\'s user flows')
    })
  })

  it('refuses a token that names no policy', async () => {
    const token = await issuer.mintB2c({ scopes: ['Todo.Read'], claims: { tfp: undefined } })
    assert.deepEqual(await call(token), { status: 401, code: 'ENTRA_TOKEN_INVALID_CLAIMS', challenge: invalid('The token names no user flow or policy (tfp or acr)') })
  })

  it('refuses the legacy tfp issuer and an issuer without its final slash', async () => {
    const legacy = await issuer.mintB2c({ scopes: ['Todo.Read'], claims: { iss: issuer.b2cIssuer(SIGN_UP_SIGN_IN, true) } })
    assert.deepEqual(await call(legacy), {
      status: 401,
      code: 'ENTRA_TOKEN_INVALID_ISSUER',
      challenge: invalid('The token has B2C\'s legacy issuer (.../tfp/{tenant}/{policy}/v2.0/), which this API does not accept: set the user flow\'s \'Issuer (iss) claim\' to the https://<domain>/<tenant ID>/v2.0/ form')
    })
    const bare = await issuer.mintB2c({ scopes: ['Todo.Read'], claims: { iss: issuer.b2cIssuer().slice(0, -1) } })
    assert.equal((await call(bare)).code, 'ENTRA_TOKEN_INVALID_ISSUER')
  })

  it('refuses an expired B2C token and one for another API', async () => {
    assert.equal((await call(await issuer.mintB2c({ scopes: ['Todo.Read'], expiresIn: -600 }))).code, 'ENTRA_TOKEN_EXPIRED')
    assert.equal((await call(await issuer.mintB2c({ scopes: ['Todo.Read'], audience: randomUUID() }))).code, 'ENTRA_TOKEN_INVALID_AUDIENCE')
  })

  it('accepts the tenant as a domain in the authority path', async () => {
    const tenantId = randomUUID()
    await withIssuer(async (other) => {
      const domainApp = await buildApp(other, { tenantId: DOMAIN, b2c: { policies: [SIGN_UP_SIGN_IN] } })
      try {
        await domainApp.ready()
        assert.ok(other.requests.some((r) => r.path === `/${DOMAIN}/${SIGN_UP_SIGN_IN}/v2.0/.well-known/openid-configuration`))
        const response = await domainApp.inject({ url: '/me', headers: bearer(await other.mintB2c({ scopes: ['Todo.Read'] })) })
        assert.equal(response.statusCode, 200)
      } finally {
        await domainApp.close()
      }
    }, { tenantId, b2c: { policies: [SIGN_UP_SIGN_IN] }, domains: { [DOMAIN]: tenantId } })
  })
})

describe('Azure AD B2C loading', () => {
  it('is ready only once every policy has loaded, and a policy that fails makes every B2C token wait', async () => {
    await withIssuer(async (issuer) => {
      const loaded = new Signal()
      let loads = 0
      issuer.setBehaviour('http-500', { policies: [CUSTOM] })
      const verifier = EntraTokenVerifier.create({
        tenantId: issuer.tenantId,
        clientId: issuer.clientId,
        authorityHost: issuer.url,
        b2c: { policies: [SIGN_UP_SIGN_IN, CUSTOM] },
        cooldownDuration: 1,
        onLoad: () => { loads++; loaded.notify() }
      })
      try {
        await assert.rejects(verifier.hydrate(), { code: 'ENTRA_KEYS_UNAVAILABLE' })
        assert.equal(verifier.isReady, false)
        await assert.rejects(verifier.verify(await issuer.mintB2c({ policy: SIGN_UP_SIGN_IN, scopes: ['Todo.Read'] })), { code: 'ENTRA_KEYS_UNAVAILABLE' })
        issuer.setBehaviour('normal')
        await loaded.until(() => loads === 1)
        assert.equal(verifier.isReady, true)
        const identity = await verifier.verify(await issuer.mintB2c({ policy: CUSTOM, scopes: ['Todo.Read'] }))
        assert.deepEqual([...identity.scopes], ['Todo.Read'])
      } finally {
        verifier.close()
      }
    }, { b2c: { policies: [SIGN_UP_SIGN_IN, CUSTOM] } })
  })

  it('refuses a policy whose document publishes the legacy tfp issuer, naming the user-flow setting', async () => {
    await withIssuer(async (issuer) => {
      const errors: Error[] = []
      const verifier = EntraTokenVerifier.create({
        tenantId: issuer.tenantId,
        clientId: issuer.clientId,
        authorityHost: issuer.url,
        b2c: { policies: [SIGN_UP_SIGN_IN] },
        onLoadError: (error) => { errors.push(error) }
      })
      try {
        await assert.rejects(verifier.hydrate(), { code: 'ENTRA_KEYS_UNAVAILABLE' })
        assert.ok(errors[0] instanceof DiscoveryError)
        assert.match(errors[0].message, /legacy B2C issuer .*\/tfp\/.*"Issuer \(iss\) claim"/)
      } finally {
        verifier.close()
      }
    }, { b2c: { policies: [SIGN_UP_SIGN_IN], legacyIssuer: true } })
  })
})

describe('Azure AD B2C protected-resource metadata', () => {
  it('names the issuer only once discovery has, even for a GUID tenant', async () => {
    await withIssuer(async (issuer) => {
      issuer.setBehaviour('down')
      const app = await buildApp(issuer, { b2c: { policies: [SIGN_UP_SIGN_IN] }, cooldownDuration: 1, audience: [issuer.clientId, 'https://todo.contoso.com/api'], protectedResources: [{ resource: 'https://todo.contoso.com/api' }] })
      try {
        await app.ready()
        // A workforce API with a GUID tenant answers at once; B2C's issuer is not {authorityHost}/{tenant}/v2.0.
        assert.equal((await app.inject({ url: '/.well-known/oauth-protected-resource/api' })).statusCode, 503)
        issuer.setBehaviour('normal')
        await app.entraId.verifier.hydrate()
        const metadata = await app.inject({ url: '/.well-known/oauth-protected-resource/api' })
        assert.deepEqual(metadata.json<{ authorization_servers: string[] }>().authorization_servers, [issuer.b2cIssuer()])
      } finally {
        await app.close()
      }
    }, { b2c: { policies: [SIGN_UP_SIGN_IN] } })
  })
})

describe('Azure AD B2C options', () => {
  const base = { tenantId: DOMAIN, clientId: randomUUID(), authorityHost: 'https://contoso.b2clogin.com' }
  const refused = (options: Record<string, unknown>, option: string): void => {
    assert.throws(() => EntraTokenVerifier.create({ ...base, ...options }), (error: unknown) => error instanceof EntraConfigError && error.option === option)
  }

  it('needs at least one well-formed policy, each named once whatever its case', () => {
    refused({ b2c: { policies: [] } }, 'b2c.policies')
    refused({ b2c: { policies: ['B2C_1 signin'] } }, 'b2c.policies')
    refused({ b2c: { policies: ['B2C_1_a', 'b2c_1_A'] } }, 'b2c.policies')
    refused({ b2c: 'B2C_1_a' }, 'b2c')
  })

  it('needs the B2C host, a tenant, v2 only and no application-specific keys', () => {
    refused({ authorityHost: undefined, b2c: { policies: ['B2C_1_a'] } }, 'authorityHost')
    refused({ tenantId: 'organizations', allowedTenants: '*', b2c: { policies: ['B2C_1_a'] } }, 'tenantId')
    refused({ tokenVersions: [1, 2], b2c: { policies: ['B2C_1_a'] } }, 'tokenVersions')
    refused({ appSpecificKeys: true, b2c: { policies: ['B2C_1_a'] } }, 'appSpecificKeys')
    assert.deepEqual([...EntraTokenVerifier.create({ ...base, b2c: { policies: ['B2C_1_a'] }, tokenVersions: [2] }).options.tokenVersions], [2])
  })
})
