import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createPublicKey, randomUUID } from 'node:crypto'
import type { JsonWebKey } from 'node:crypto'
import { SignJWT, base64url, exportJWK, generateKeyPair } from 'jose'
import type { FastifyInstance } from 'fastify'
import { requireAuthContext, requireMember, requireScopes } from '../../src/index.js'
import { EntraTokenVerifier } from '../../src/core/index.js'
import { startTestIssuer } from '../../src/testing/index.js'
import type { TestIssuer } from '../../src/testing/index.js'
import { bearer, buildApp, outcome, withIssuer } from '../helpers.js'

const REALM = 'Bearer realm="api"'
const invalid = (description: string): string => `${REALM}, error="invalid_token", error_description="${description}"`

describe('token validation (single tenant, v1 and v2)', () => {
  let issuer: TestIssuer
  let app: FastifyInstance

  before(async () => {
    issuer = await startTestIssuer()
    app = await buildApp(issuer)
    await app.ready()
  })
  after(async () => {
    await app.close()
    await issuer.close()
  })

  const call = async (token: string) => outcome(await app.inject({ url: '/me', headers: bearer(token) }))

  describe('accepts', () => {
    it('a v2 delegated token and exposes the caller as request.auth', async () => {
      const objectId = randomUUID()
      const token = await issuer.mint({ scopes: ['Todo.Read', 'Todo.Write'], objectId, username: 'ada@contoso.example', name: 'Ada' })
      const response = await app.inject({ url: '/me', headers: bearer(token) })
      assert.equal(response.statusCode, 200)
      const body = response.json<Record<string, unknown>>()
      assert.equal(body.tenantId, issuer.tenantId)
      assert.equal(body.objectId, objectId)
      assert.equal(body.username, 'ada@contoso.example')
      assert.equal(body.name, 'Ada')
      assert.deepEqual(body.scopes, ['Todo.Read', 'Todo.Write'])
      assert.deepEqual(body.roles, [])
      assert.equal(body.isAppOnly, false)
      assert.equal(body.callerType, 'user')
      assert.equal(body.tokenVersion, 2)
      assert.equal(typeof body.clientAppId, 'string')
    })

    it('a v1 delegated token, reading appid and upn', async () => {
      const token = await issuer.mint({ version: 1, scopes: ['Todo.Read'], clientAppId: '11111111-2222-3333-4444-555555555555', username: 'bob@contoso.example' })
      const response = await app.inject({ url: '/me', headers: bearer(token) })
      assert.equal(response.statusCode, 200)
      const body = response.json<Record<string, unknown>>()
      assert.equal(body.tokenVersion, 1)
      assert.equal(body.clientAppId, '11111111-2222-3333-4444-555555555555')
      assert.equal(body.username, 'bob@contoso.example')
    })

    it('an app-only token with idtyp=app as app-only, with its roles', async () => {
      const token = await issuer.mint({ appOnly: true, roles: ['Todo.Read.All'] })
      const body = (await app.inject({ url: '/me', headers: bearer(token) })).json<Record<string, unknown>>()
      assert.equal(body.isAppOnly, true)
      assert.equal(body.callerType, 'app')
      assert.deepEqual(body.roles, ['Todo.Read.All'])
      assert.deepEqual(body.scopes, [])
    })

    it('an app-only v1 token without idtyp as app-only, because it has no scp and oid equals sub', async () => {
      const token = await issuer.mint({ version: 1, appOnly: true, roles: ['Todo.Read.All'], claims: { idtyp: undefined } })
      const body = (await app.inject({ url: '/me', headers: bearer(token) })).json<Record<string, unknown>>()
      assert.equal(body.isAppOnly, true)
    })

    it('a delegated token that also carries user-assigned roles as not app-only', async () => {
      const token = await issuer.mint({ scopes: ['Todo.Read'], roles: ['Admin'] })
      const body = (await app.inject({ url: '/me', headers: bearer(token) })).json<Record<string, unknown>>()
      assert.equal(body.isAppOnly, false)
      assert.deepEqual(body.roles, ['Admin'])
    })

    it('the App ID URI audience api://{clientId} by default', async () => {
      const token = await issuer.mint({ scopes: ['Todo.Read'], audience: `api://${issuer.clientId}` })
      assert.equal((await call(token)).status, 200)
    })

    it('a token that expired less than the clock tolerance (300 s by default) ago', async () => {
      const token = await issuer.mint({ scopes: ['Todo.Read'], expiresIn: -120 })
      assert.equal((await call(token)).status, 200)
    })

    it('a token whose nbf is less than the clock tolerance ahead', async () => {
      const token = await issuer.mint({ scopes: ['Todo.Read'], notBefore: 120 })
      assert.equal((await call(token)).status, 200)
    })
  })

  describe('refuses with 401 invalid_token', () => {
    it('an expired token (how long ago it expired: why-401.test.ts, on a clock that stands still)', async () => {
      const token = await issuer.mint({ scopes: ['Todo.Read'], expiresIn: -400 })
      const result = await call(token)
      assert.equal(result.status, 401)
      assert.equal(result.code, 'ENTRA_TOKEN_EXPIRED')
    })

    it('a token not valid yet (nbf beyond the tolerance)', async () => {
      const token = await issuer.mint({ scopes: ['Todo.Read'], notBefore: 400 })
      assert.deepEqual(await call(token), { status: 401, code: 'ENTRA_TOKEN_NOT_YET_VALID', challenge: invalid('The token is not valid yet (nbf)') })
    })

    it('a token without exp', async () => {
      const token = await issuer.mint({ scopes: ['Todo.Read'], claims: { exp: undefined } })
      assert.deepEqual(await call(token), { status: 401, code: 'ENTRA_TOKEN_INVALID_CLAIMS', challenge: invalid('The token has no valid expiry (exp)') })
    })

    it('a token whose exp, nbf or iat is a number outside the dates a clock can show (past year 9999, or negative)', async () => {
      const cases = [
        [{ exp: 1e16 }, 'The token has no valid expiry (exp)'],
        [{ exp: 8.64e15 + 1 }, 'The token has no valid expiry (exp)'],
        [{ exp: Number.MAX_VALUE }, 'The token has no valid expiry (exp)'],
        [{ nbf: -1 }, 'The token\'s nbf claim is invalid'],
        [{ iat: 1e300 }, 'The token\'s iat claim is invalid']
      ] as const
      for (const [claims, description] of cases) {
        const token = await issuer.mint({ scopes: ['Todo.Read'], claims })
        assert.deepEqual(await call(token), { status: 401, code: 'ENTRA_TOKEN_INVALID_CLAIMS', challenge: invalid(description) }, JSON.stringify(claims))
      }
      // The last second of year 9999 is still a date.
      assert.equal((await call(await issuer.mint({ scopes: ['Todo.Read'], claims: { exp: 253_402_300_799 } }))).status, 200)
    })

    it('a token whose audience is another API', async () => {
      const token = await issuer.mint({ scopes: ['Todo.Read'], audience: randomUUID() })
      assert.deepEqual(await call(token), {
        status: 401, code: 'ENTRA_TOKEN_INVALID_AUDIENCE', challenge: invalid('The token is for another application (aud): request a token for this API\'s scope instead')
      })
    })

    it('a token whose aud is an array that contains this API among others', async () => {
      const token = await issuer.mint({ scopes: ['Todo.Read'], claims: { aud: [issuer.clientId, 'https://graph.microsoft.com'] } })
      assert.equal((await call(token)).code, 'ENTRA_TOKEN_INVALID_AUDIENCE')
    })

    it('a token from another tenant, as a tenant the API does not serve (v2 and v1)', async () => {
      for (const version of [2, 1] as const) {
        const token = await issuer.mint({ version, scopes: ['Todo.Read'], tenantId: randomUUID() })
        assert.deepEqual(await call(token), {
          status: 401,
          code: 'ENTRA_TOKEN_TENANT_NOT_ALLOWED',
          challenge: invalid('The token is from another tenant and this API accepts its own tenant only: request the token from this API\'s tenant (its authority, not common or organizations), signed in as a member or guest of it')
        }, `v${version}`)
      }
    })

    it('a token whose issuer is another tenant\'s on another host, or names a tenant other than its tid, as an invalid issuer', async () => {
      const other = randomUUID()
      const moved = `https://evil.example/${other}/v2.0`
      for (const claims of [{ tid: other, iss: moved }, { tid: other, iss: issuer.issuer(2, randomUUID()) }]) {
        const token = await issuer.mint({ scopes: ['Todo.Read'], claims })
        assert.equal((await call(token)).code, 'ENTRA_TOKEN_INVALID_ISSUER', claims.iss)
      }
    })

    it('a token whose issuer is another host, even with this tenant in its path', async () => {
      const token = await issuer.mint({ scopes: ['Todo.Read'], claims: { iss: `https://evil.example/${issuer.tenantId}/v2.0` } })
      assert.equal((await call(token)).code, 'ENTRA_TOKEN_INVALID_ISSUER')
    })

    it('a token whose issuer is this tenant on another port, naming the issuer and not what the API expects', async () => {
      // A development issuer that moved ports: the tenant is right, the issuer is not.
      const moved = new URL(issuer.url)
      moved.port = String(Number(moved.port) === 65535 ? 1 : Number(moved.port) + 1)
      const token = await issuer.mint({ scopes: ['Todo.Read'], claims: { iss: `${moved.origin}/${issuer.tenantId}/v2.0` } })
      const response = await app.inject({ url: '/me', headers: bearer(token) })
      assert.deepEqual(outcome(response), { status: 401, code: 'ENTRA_TOKEN_INVALID_ISSUER', challenge: invalid('The token\'s issuer (iss) is not one this API accepts') })
      for (const text of [response.body, String(response.headers['www-authenticate'])]) {
        assert.ok(!text.includes(issuer.url) && !text.includes(issuer.tenantId), 'the accepted issuer is not told to an unverified caller')
      }
    })

    it('a token with no issuer', async () => {
      const token = await issuer.mint({ scopes: ['Todo.Read'], claims: { iss: undefined } })
      assert.equal((await call(token)).code, 'ENTRA_TOKEN_INVALID_ISSUER')
    })

    it('a token without a valid tid', async () => {
      const token = await issuer.mint({ scopes: ['Todo.Read'], claims: { tid: 'contoso' } })
      assert.deepEqual(await call(token), { status: 401, code: 'ENTRA_TOKEN_INVALID_CLAIMS', challenge: invalid('The token has no valid tenant ID (tid)') })
    })

    it('a v2-issuer token that says ver 1.0, and a v1-issuer token that says ver 2.0', async () => {
      const v2 = await issuer.mint({ scopes: ['Todo.Read'], claims: { ver: '1.0' } })
      const v1 = await issuer.mint({ version: 1, scopes: ['Todo.Read'], claims: { ver: '2.0' } })
      for (const token of [v2, v1]) {
        assert.deepEqual(await call(token), { status: 401, code: 'ENTRA_TOKEN_VERSION_MISMATCH', challenge: invalid('The token version (ver) does not match its issuer') })
      }
    })

    it('a token of a calling application (azp) with neither scp nor roles: not an access token for this API', async () => {
      const token = await issuer.mint()
      assert.deepEqual(await call(token), {
        status: 401,
        code: 'ENTRA_TOKEN_NOT_ACCESS_TOKEN',
        challenge: invalid('The token carries no scopes (scp) or app roles (roles): request a token for this API\'s scope, or for an application, grant it an app role of this API')
      })
    })

    it('a token with an empty scp and empty roles', async () => {
      const token = await issuer.mint({ claims: { scp: '', roles: [] } })
      assert.equal((await call(token)).code, 'ENTRA_TOKEN_NOT_ACCESS_TOKEN')
    })

    it('a token whose scp is not a string or whose roles are not strings', async () => {
      const badScp = await issuer.mint({ claims: { scp: ['Todo.Read'] } })
      const badRoles = await issuer.mint({ claims: { roles: 'Todo.Read.All' } })
      assert.equal((await call(badScp)).code, 'ENTRA_TOKEN_INVALID_CLAIMS')
      assert.equal((await call(badRoles)).code, 'ENTRA_TOKEN_INVALID_CLAIMS')
    })
  })

  describe('refuses forged and hostile tokens', () => {
    const encode = (value: unknown): string => base64url.encode(JSON.stringify(value))
    const parts = async (): Promise<[string, string, string]> => (await issuer.mint({ scopes: ['Todo.Read'] })).split('.') as [string, string, string]

    it('alg "none", unsigned', async () => {
      const [, payload] = await parts()
      const token = `${encode({ alg: 'none', typ: 'JWT', kid: issuer.signingKid })}.${payload}.`
      const result = await call(token)
      assert.equal(result.status, 401)
      assert.equal(result.code, 'ENTRA_TOKEN_UNSUPPORTED_ALGORITHM')
    })

    it('HS256 signed with the tenant\'s public key as the HMAC secret (algorithm confusion)', async () => {
      const jwk = issuer.jwks().keys[0]
      const pem = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' })
      const [, payload] = await parts()
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>
      const token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: issuer.signingKid }).sign(Buffer.from(pem))
      assert.equal((await call(token)).code, 'ENTRA_TOKEN_UNSUPPORTED_ALGORITHM')
    })

    it('other algorithms (RS384, PS256, ES256) naming the tenant\'s key', async () => {
      const [, payload, signature] = await parts()
      for (const alg of ['RS384', 'PS256', 'ES256']) {
        const token = `${encode({ alg, typ: 'JWT', kid: issuer.signingKid })}.${payload}.${signature}`
        assert.equal((await call(token)).code, 'ENTRA_TOKEN_UNSUPPORTED_ALGORITHM', alg)
      }
    })

    it('a token that brings its own key in jwk, jku, x5u or x5c', async () => {
      const attacker = await generateKeyPair('RS256', { extractable: true })
      const attackerJwk = await exportJWK(attacker.publicKey)
      const headers: Record<string, unknown>[] = [
        { jwk: attackerJwk },
        { jku: 'https://evil.example/keys' },
        { x5u: 'https://evil.example/cert.pem' },
        { x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'] }
      ]
      const [, payload] = await parts()
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>
      for (const extra of headers) {
        const token = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'attacker', ...extra }).sign(attacker.privateKey)
        assert.deepEqual(await call(token), { status: 401, code: 'ENTRA_TOKEN_UNTRUSTED_KEY', challenge: invalid('The token names a signing key the API does not trust') }, Object.keys(extra)[0])
      }
    })

    it('a token signed by another key under the tenant\'s kid', async () => {
      const attacker = await generateKeyPair('RS256')
      const [, payload] = await parts()
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>
      const token = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: issuer.signingKid }).sign(attacker.privateKey)
      assert.deepEqual(await call(token), { status: 401, code: 'ENTRA_TOKEN_INVALID_SIGNATURE', challenge: invalid('The token signature is invalid') })
    })

    it('a token whose payload was changed after signing (a scope added)', async () => {
      const [header, payload, signature] = await parts()
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>
      const forged = `${header}.${encode({ ...claims, scp: 'Todo.Read Todo.Write' })}.${signature}`
      assert.equal((await call(forged)).code, 'ENTRA_TOKEN_INVALID_SIGNATURE')
    })

    it('a forged token learns only that its signature is invalid, whatever its claims say (audience, issuer, tenant, version, times, scopes)', async () => {
      const [header, payload, signature] = await parts()
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>
      const attacker = await generateKeyPair('RS256')
      const lies: Record<string, unknown>[] = [
        { aud: 'https://another-api.example' },
        { aud: [issuer.clientId, 'https://another-api.example'] },
        { iss: `https://evil.example/${issuer.tenantId}/v2.0` },
        { iss: undefined },
        { tid: randomUUID(), iss: issuer.issuer(2, randomUUID()) },
        { tid: 'contoso' },
        { ver: '1.0' },
        { ver: '1.0', iss: issuer.issuer(1) },
        { ver: '2.0', iss: issuer.issuer(1) },
        { exp: Math.floor(Date.now() / 1000) - 3600 },
        { exp: undefined },
        { nbf: Math.floor(Date.now() / 1000) + 3600 },
        { iat: 'yesterday' },
        { scp: undefined, roles: undefined },
        { scp: ['Todo.Read'] }
      ]
      for (const lie of lies) {
        // JSON drops the claims a lie sets to undefined: those are left out.
        const forged = JSON.parse(JSON.stringify({ ...claims, ...lie })) as Record<string, unknown>
        const resigned = await new SignJWT(forged).setProtectedHeader({ alg: 'RS256', kid: issuer.signingKid }).sign(attacker.privateKey)
        for (const token of [`${header}.${encode(forged)}.${signature}`, resigned]) {
          assert.deepEqual(await call(token), { status: 401, code: 'ENTRA_TOKEN_INVALID_SIGNATURE', challenge: invalid('The token signature is invalid') }, JSON.stringify(lie))
        }
      }
    })

    it('a token whose signature was altered', async () => {
      const [header, payload, signature] = await parts()
      const middle = Math.floor(signature.length / 2)
      const flipped = signature.slice(0, middle) + (signature[middle] === 'A' ? 'B' : 'A') + signature.slice(middle + 1)
      assert.equal((await call(`${header}.${payload}.${flipped}`)).code, 'ENTRA_TOKEN_INVALID_SIGNATURE')
    })

    it('a token with no kid', async () => {
      const token = await issuer.mint({ scopes: ['Todo.Read'], header: { kid: undefined } })
      assert.deepEqual(await call(token), { status: 401, code: 'ENTRA_TOKEN_MALFORMED', challenge: invalid('The token header has no key ID (kid)') })
    })

    it('a token signed with a key the tenant does not publish', async () => {
      const attacker = await generateKeyPair('RS256')
      const [, payload] = await parts()
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>
      const token = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'not-a-tenant-key' }).sign(attacker.privateKey)
      assert.deepEqual(await call(token), { status: 401, code: 'ENTRA_TOKEN_UNKNOWN_KEY', challenge: invalid('The token was signed with a key the tenant does not publish') })
    })

    it('strings that are not JWTs, without echoing them', async () => {
      const samples = ['abc', 'a.b.c', 'eyJhbGciOiJSUzI1NiJ9.e30', `${'a'.repeat(20)}.${'b'.repeat(20)}.${'c'.repeat(20)}`,
        'eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d']
      for (const token of samples) {
        const response = await app.inject({ url: '/me', headers: bearer(token) })
        assert.equal(response.statusCode, 401, token)
        assert.equal(response.json<{ code: string }>().code, 'ENTRA_TOKEN_MALFORMED', token)
        assert.ok(!response.body.includes(token), 'the response must not echo the token')
      }
    })

    it('a token longer than 16 KiB', async () => {
      const token = await issuer.mint({ scopes: ['Todo.Read'], claims: { padding: 'x'.repeat(17 * 1024) } })
      const response = await app.inject({ url: '/me', headers: bearer(token) })
      assert.equal(response.statusCode, 401)
      assert.equal(response.json<{ code: string }>().code, 'ENTRA_TOKEN_MALFORMED')
    })
  })
})

describe('token validation options', () => {
  let issuer: TestIssuer
  before(async () => { issuer = await startTestIssuer() })
  after(async () => { await issuer.close() })

  it('accepts only the configured audiences when audience is given', async () => {
    const app = await buildApp(issuer, { audience: ['https://contoso.example/todo'] })
    try {
      const custom = await issuer.mint({ scopes: ['Todo.Read'], audience: 'https://contoso.example/todo' })
      const byClientId = await issuer.mint({ scopes: ['Todo.Read'] })
      assert.equal((await app.inject({ url: '/me', headers: bearer(custom) })).statusCode, 200)
      assert.equal(outcome(await app.inject({ url: '/me', headers: bearer(byClientId) })).code, 'ENTRA_TOKEN_INVALID_AUDIENCE')
    } finally {
      await app.close()
    }
  })

  it('with tokenVersions [2], refuses v1 tokens and never reads the v1 discovery document', async () => {
    issuer.resetCounts()
    const app = await buildApp(issuer, { tokenVersions: [2] })
    try {
      const v1 = await issuer.mint({ version: 1, scopes: ['Todo.Read'] })
      const v2 = await issuer.mint({ scopes: ['Todo.Read'] })
      assert.deepEqual(outcome(await app.inject({ url: '/me', headers: bearer(v1) })), {
        status: 401,
        code: 'ENTRA_TOKEN_VERSION_MISMATCH',
        challenge: invalid('This API accepts v2.0 tokens only and this is a v1.0 token: set requestedAccessTokenVersion to 2 in the api section of the API\'s app registration manifest (the client\'s v1 or v2 endpoint does not choose the version)')
      })
      assert.equal((await app.inject({ url: '/me', headers: bearer(v2) })).statusCode, 200)
      assert.equal(issuer.count('discovery-v1'), 0)
      assert.equal(issuer.count('jwks-v1'), 0)
    } finally {
      await app.close()
    }
  })

  it('with tokenVersions [2], refuses a forged v1 token for its signature, not for its version', async () => {
    const app = await buildApp(issuer, { tokenVersions: [2] })
    try {
      const [header, payload, signature] = (await issuer.mint({ version: 1, scopes: ['Todo.Read'] })).split('.') as [string, string, string]
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>
      const forged = `${header}.${base64url.encode(JSON.stringify({ ...claims, scp: 'Todo.Read Todo.Write' }))}.${signature}`
      assert.deepEqual(outcome(await app.inject({ url: '/me', headers: bearer(forged) })), {
        status: 401, code: 'ENTRA_TOKEN_INVALID_SIGNATURE', challenge: invalid('The token signature is invalid')
      })
    } finally {
      await app.close()
    }
  })

  it('with tokenVersions [1], refuses v2 tokens as a version this API does not accept', async () => {
    const app = await buildApp(issuer, { tokenVersions: [1] })
    try {
      const v2 = await issuer.mint({ scopes: ['Todo.Read'] })
      assert.deepEqual(outcome(await app.inject({ url: '/me', headers: bearer(v2) })), {
        status: 401,
        code: 'ENTRA_TOKEN_VERSION_MISMATCH',
        challenge: invalid('This API accepts v1.0 tokens only and this is a v2.0 token: set requestedAccessTokenVersion to 1 (or null) in the api section of the API\'s app registration manifest, or accept v2.0 tokens (tokenVersions)')
      })
      assert.equal((await app.inject({ url: '/me', headers: bearer(await issuer.mint({ version: 1, scopes: ['Todo.Read'] })) })).statusCode, 200)
    } finally {
      await app.close()
    }
  })

  it('applies clockTolerance in seconds', async () => {
    const app = await buildApp(issuer, { clockTolerance: 0 })
    try {
      const token = await issuer.mint({ scopes: ['Todo.Read'], expiresIn: -5 })
      assert.equal(outcome(await app.inject({ url: '/me', headers: bearer(token) })).code, 'ENTRA_TOKEN_EXPIRED')
    } finally {
      await app.close()
    }
  })

  it('resolves a verified-domain tenantId through discovery and accepts that tenant\'s tokens', async () => {
    const domainIssuer = await startTestIssuer({ domains: { 'contoso.example': randomUUID() } })
    const tenantId = domainIssuer.tenantId
    await domainIssuer.close()
    const withDomain = await startTestIssuer({ tenantId, domains: { 'contoso.example': tenantId } })
    const app = await buildApp(withDomain, { tenantId: 'contoso.example' })
    try {
      const token = await withDomain.mint({ scopes: ['Todo.Read'] })
      assert.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200)
      assert.ok(withDomain.requests.some((r) => r.path === '/contoso.example/v2.0/.well-known/openid-configuration'))
    } finally {
      await app.close()
      await withDomain.close()
    }
  })

  it('uses a custom realm in every challenge', async () => {
    const app = await buildApp(issuer, { realm: 'todo-api' })
    app.get('/write', { onRequest: requireScopes('Todo.Write') }, () => ({ ok: true }))
    app.get('/members', { onRequest: requireMember() }, () => ({ ok: true }))
    app.get('/step-up', { onRequest: requireAuthContext('c1') }, () => ({ ok: true }))
    try {
      const response = await app.inject({ url: '/me' })
      assert.equal(response.headers['www-authenticate'], 'Bearer realm="todo-api"')
      // A malformed request (the transport's refusal) and a bad token (the verifier's) are in the same realm.
      const twoTokens = await app.inject({ url: '/me', headers: { authorization: 'Bearer a b' } })
      assert.equal(twoTokens.statusCode, 400)
      assert.match(String(twoTokens.headers['www-authenticate']), /^Bearer realm="todo-api", error="invalid_request"/)
      const garbage = await app.inject({ url: '/me', headers: { authorization: 'Bearer not.a.jwt' } })
      assert.equal(garbage.statusCode, 401)
      assert.match(String(garbage.headers['www-authenticate']), /^Bearer realm="todo-api", error="invalid_token"/)
      // And the guards' refusals: a missing scope, a rule beyond scopes, a claims challenge.
      const reader = await issuer.mint({ scopes: ['Todo.Read'], claims: { acct: 1, xms_cc: ['cp1'] } })
      for (const [url, start] of [
        ['/write', 'Bearer realm="todo-api", error="insufficient_scope"'],
        ['/members', 'Bearer realm="todo-api", error="insufficient_scope"'],
        ['/step-up', 'Bearer realm="todo-api", authorization_uri="']
      ] as const) {
        const refused = await app.inject({ url, headers: bearer(reader) })
        assert.ok(String(refused.headers['www-authenticate']).startsWith(start), `${url}: ${String(refused.headers['www-authenticate'])}`)
      }
    } finally {
      await app.close()
    }
  })
})

describe('multi-tenant APIs', () => {
  let issuer: TestIssuer
  const tenantA = randomUUID()
  const tenantB = randomUUID()
  before(async () => { issuer = await startTestIssuer() })
  after(async () => { await issuer.close() })

  it('accept v1 and v2 tokens of an allowed tenant and refuse other tenants', async () => {
    const app = await buildApp(issuer, { tenantId: 'organizations', allowedTenants: [tenantA] })
    try {
      for (const version of [1, 2] as const) {
        const fromA = await issuer.mint({ version, tenantId: tenantA, scopes: ['Todo.Read'] })
        const fromB = await issuer.mint({ version, tenantId: tenantB, scopes: ['Todo.Read'] })
        const ok = await app.inject({ url: '/me', headers: bearer(fromA) })
        assert.equal(ok.statusCode, 200)
        assert.equal(ok.json<{ tenantId: string }>().tenantId, tenantA)
        assert.deepEqual(outcome(await app.inject({ url: '/me', headers: bearer(fromB) })), {
          status: 401,
          code: 'ENTRA_TOKEN_TENANT_NOT_ALLOWED',
          challenge: invalid('The token\'s tenant is not allowed to call this API: sign in with an account of an allowed tenant, or ask the API\'s owner to add this tenant to allowedTenants')
        })
      }
    } finally {
      await app.close()
    }
  })

  it('accept every tenant only when allowedTenants is "*"', async () => {
    const app = await buildApp(issuer, { tenantId: 'common', allowedTenants: '*' })
    try {
      const token = await issuer.mint({ tenantId: tenantB, scopes: ['Todo.Read'] })
      assert.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200)
    } finally {
      await app.close()
    }
  })

  it('refuse a token whose issuer names another tenant than its tid', async () => {
    const app = await buildApp(issuer, { tenantId: 'organizations', allowedTenants: [tenantA, tenantB] })
    try {
      const token = await issuer.mint({ tenantId: tenantA, scopes: ['Todo.Read'], claims: { iss: issuer.issuer(2, tenantB) } })
      assert.equal(outcome(await app.inject({ url: '/me', headers: bearer(token) })).code, 'ENTRA_TOKEN_INVALID_ISSUER')
    } finally {
      await app.close()
    }
  })

  it('refuse a token signed by a key whose issuer field names another tenant (signing-key issuer validation)', async () => {
    const pinnedKid = await issuer.addKey()
    issuer.pinKeyIssuer(pinnedKid, issuer.issuer(2, tenantA))
    const app = await buildApp(issuer, { tenantId: 'organizations', allowedTenants: '*' })
    try {
      const fromA = await issuer.mint({ tenantId: tenantA, scopes: ['Todo.Read'], kid: pinnedKid })
      const fromB = await issuer.mint({ tenantId: tenantB, scopes: ['Todo.Read'], kid: pinnedKid })
      assert.equal((await app.inject({ url: '/me', headers: bearer(fromA) })).statusCode, 200)
      assert.deepEqual(outcome(await app.inject({ url: '/me', headers: bearer(fromB) })), {
        status: 401, code: 'ENTRA_TOKEN_INVALID_ISSUER', challenge: invalid('The token\'s issuer does not match its signing key')
      })
    } finally {
      issuer.pinKeyIssuer(pinnedKid, null)
      issuer.removeKey(pinnedKid)
      await app.close()
    }
  })
})

describe('signing-key issuer with v1 tokens', () => {
  it('matches a v1 token through the v2 form of its issuer, and refuses another tenant\'s key', async () => {
    const issuer = await startTestIssuer({ v1KeysCarryIssuer: true })
    const other = randomUUID()
    const pinned = await issuer.addKey()
    issuer.pinKeyIssuer(pinned, issuer.issuer(2, randomUUID()))
    const app = await buildApp(issuer, { tenantId: 'organizations', allowedTenants: '*' })
    try {
      const v1 = await issuer.mint({ version: 1, tenantId: other, scopes: ['Todo.Read'] })
      assert.equal((await app.inject({ url: '/me', headers: bearer(v1) })).statusCode, 200)

      const foreign = await issuer.mint({ version: 1, tenantId: other, scopes: ['Todo.Read'], kid: pinned })
      assert.equal(outcome(await app.inject({ url: '/me', headers: bearer(foreign) })).code, 'ENTRA_TOKEN_INVALID_ISSUER')
    } finally {
      await app.close()
      await issuer.close()
    }
  })
})

describe('encoding tricks', () => {
  it('refuse a token whose signed part carries non-ASCII characters, even ones a lossy encoding maps onto the signed bytes', () => withIssuer(async (issuer) => {
    const verifier = EntraTokenVerifier.create({ tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url, tokenCache: false })
    try {
      const token = await issuer.mint({ scopes: ['Todo.Read'] })
      await verifier.verify(token)
      const [header, payload, signature] = token.split('.') as [string, string, string]
      // U+0141 and U+0161 have the low bytes of 'A' and 'a': as latin1 they would write the signed bytes back.
      const index = payload.search(/[Aa]/)
      const swapped = payload.slice(0, index) + (payload[index] === 'A' ? '\u0141' : '\u0161') + payload.slice(index + 1)
      await assert.rejects(verifier.verify(`${header}.${swapped}.${signature}`), { statusCode: 401 })
      // Characters outside base64url that a lenient decoder would skip.
      await assert.rejects(verifier.verify(`${header}.${payload.slice(0, 10)}!${payload.slice(10)}.${signature}`), { statusCode: 401 })
    } finally {
      verifier.close()
    }
  }))
})
