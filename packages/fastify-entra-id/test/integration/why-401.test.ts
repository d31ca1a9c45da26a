import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomUUID } from 'node:crypto'
import { SignJWT, base64url, generateKeyPair } from 'jose'
import type { FastifyInstance } from 'fastify'
import { startTestIssuer } from '../../src/testing/index.js'
import type { TestIssuer } from '../../src/testing/index.js'
import { bearer, buildApp, logSink, outcome } from '../helpers.js'
import type { AppOptions } from '../helpers.js'

// The refusals behind the most common "why 401?" questions: each has its own code and says what to do instead,
// through a real Fastify app and the loopback issuer. The API's clock stands still at NOW (milliseconds), so a
// refusal that counts seconds reads the same on every run.
const NOW = Date.now()
const SECONDS = Math.floor(NOW / 1000)
const REALM = 'Bearer realm="api"'
const invalid = (description: string): string => `${REALM}, error="invalid_token", error_description="${description}"`

const GRAPH = 'The token is for Microsoft Graph: request a token for this API\'s scope instead'
const ID_TOKEN = 'The token is an ID token, which tells the client who signed in, not an access token: have the client request an access token for one of this API\'s scopes (with MSAL, acquireTokenSilent or acquireTokenPopup with that scope, not the idToken of the sign-in result) and send that'
const OTHER_APP = 'The token is for another application (aud): request a token for this API\'s scope instead'
const OTHER_TENANT = 'The token is from another tenant and this API accepts its own tenant only: request the token from this API\'s tenant (its authority, not common or organizations), signed in as a member or guest of it'
const V1_TO_V2_ONLY = 'This API accepts v2.0 tokens only and this is a v1.0 token: set requestedAccessTokenVersion to 2 in the api section of the API\'s app registration manifest (the client\'s v1 or v2 endpoint does not choose the version)'
const V2_TO_V1_ONLY = 'This API accepts v1.0 tokens only and this is a v2.0 token: set requestedAccessTokenVersion to 1 (or null) in the api section of the API\'s app registration manifest, or accept v2.0 tokens (tokenVersions)'
const expired = (seconds: number): string => `The token expired ${seconds} s ago: request a new token (if it was just issued, a clock is wrong)`

const GRAPH_AUDIENCES = [
  '00000003-0000-0000-c000-000000000000',
  'https://graph.microsoft.com',
  'https://graph.microsoft.com/',
  'https://graph.microsoft.us',
  'https://dod-graph.microsoft.us',
  'https://microsoftgraph.chinacloudapi.cn'
]

/** The string claims of a token longer than a version number: none of them may appear in a refusal. */
function claimStrings(token: string): string[] {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>
  return Object.values(payload).filter((v): v is string => typeof v === 'string' && v.length >= 8)
}

/** Re-signs `token`'s claims with another key under its own header: a forgery whose claims say the same. */
async function forged(token: string): Promise<string> {
  const [header, payload] = token.split('.') as [string, string]
  const attacker = await generateKeyPair('RS256')
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>
  const protectedHeader = JSON.parse(Buffer.from(header, 'base64url').toString()) as { alg: string }
  return new SignJWT(claims).setProtectedHeader(protectedHeader).sign(attacker.privateKey)
}

/**
 * A token shaped like Microsoft Graph's: Graph signs a header holding the SHA-256 of the nonce, and hands the
 * client the header with the nonce itself, so the signature never verifies over what the client sends.
 */
async function graphShapedToken(issuer: TestIssuer, audience: string): Promise<string> {
  const nonce = base64url.encode(randomUUID())
  const hashed = base64url.encode(createHash('sha256').update(nonce).digest())
  const signed = await issuer.mint({ version: 1, now: SECONDS, scopes: ['User.Read'], audience, header: { nonce: hashed } })
  const [header, payload, signature] = signed.split('.') as [string, string, string]
  const sent = { ...(JSON.parse(Buffer.from(header, 'base64url').toString()) as Record<string, unknown>), nonce }
  return `${base64url.encode(JSON.stringify(sent))}.${payload}.${signature}`
}

describe('refusals that teach ("why 401?")', () => {
  let issuer: TestIssuer
  let app: FastifyInstance
  const apps: FastifyInstance[] = []

  const appWith = async (options: AppOptions = {}): Promise<FastifyInstance> => {
    const built = await buildApp(issuer, { clock: () => NOW, ...options })
    apps.push(built)
    await built.ready()
    return built
  }
  const callOn = async (on: FastifyInstance, token: string) => {
    const response = await on.inject({ url: '/me', headers: bearer(token) })
    for (const text of [response.body, String(response.headers['www-authenticate'])]) {
      for (const value of claimStrings(token)) assert.ok(!text.includes(value), `a refusal never echoes the token's content (${value})`)
      assert.ok(!text.includes(token.split('.')[0] as string), 'nor its header')
    }
    return outcome(response)
  }
  const call = (token: string) => callOn(app, token)

  before(async () => {
    issuer = await startTestIssuer()
    app = await appWith()
  })
  after(async () => {
    for (const built of apps) await built.close()
    await issuer.close()
  })

  describe('a Microsoft Graph token', () => {
    it('is refused from its header\'s nonce, before any key lookup, even under a kid the API has never seen', async () => {
      const token = await issuer.mint({ now: SECONDS, scopes: ['User.Read'], audience: '00000003-0000-0000-c000-000000000000', header: { nonce: 'abc', kid: 'graph-kid-unknown-here' } })
      issuer.resetCounts()
      assert.deepEqual(await call(token), { status: 401, code: 'ENTRA_TOKEN_FOR_GRAPH', challenge: invalid(GRAPH) })
      assert.equal(issuer.count(), 0, 'no key set was fetched for it')
    })

    it('is refused as Graph\'s when shaped as Graph signs it (the hashed nonce signed, the nonce sent), for each Graph audience', async () => {
      for (const audience of GRAPH_AUDIENCES) {
        assert.deepEqual(await call(await graphShapedToken(issuer, audience)), { status: 401, code: 'ENTRA_TOKEN_FOR_GRAPH', challenge: invalid(GRAPH) }, audience)
      }
    })

    it('is refused as Graph\'s by its verified audience when its header has no nonce, in the global and national clouds', async () => {
      for (const audience of GRAPH_AUDIENCES) {
        for (const version of [1, 2] as const) {
          const token = await issuer.mint({ version, now: SECONDS, scopes: ['User.Read'], audience })
          assert.deepEqual(await call(token), { status: 401, code: 'ENTRA_TOKEN_FOR_GRAPH', challenge: invalid(GRAPH) }, `${audience} v${version}`)
        }
      }
    })

    it('is refused as Graph\'s before its version, its tenant or its expiry are looked at', async () => {
      const v2Only = await appWith({ tokenVersions: [2] })
      const graphV1 = await issuer.mint({ version: 1, now: SECONDS, scopes: ['User.Read'], audience: 'https://graph.microsoft.com' })
      assert.equal((await callOn(v2Only, graphV1)).code, 'ENTRA_TOKEN_FOR_GRAPH')
      const fromElsewhere = await issuer.mint({ now: SECONDS, tenantId: randomUUID(), scopes: ['User.Read'], audience: 'https://graph.microsoft.com', expiresIn: -3600 })
      assert.equal((await call(fromElsewhere)).code, 'ENTRA_TOKEN_FOR_GRAPH')
    })

    it('a nonce on a token that is not Graph\'s (this API\'s audience, a forged signature) is refused all the same, saying nothing of the API', async () => {
      const token = await forged(await issuer.mint({ now: SECONDS, scopes: ['Todo.Read'], header: { nonce: 'not-graph' } }))
      const response = await app.inject({ url: '/me', headers: bearer(token) })
      assert.deepEqual(outcome(response), { status: 401, code: 'ENTRA_TOKEN_FOR_GRAPH', challenge: invalid(GRAPH) })
      assert.ok(!response.body.includes(issuer.clientId) && !response.body.includes(issuer.tenantId))
    })

    it('a forged token claiming a Graph audience (no nonce) learns only that its signature is invalid', async () => {
      const token = await forged(await issuer.mint({ now: SECONDS, scopes: ['User.Read'], audience: 'https://graph.microsoft.com' }))
      assert.equal((await call(token)).code, 'ENTRA_TOKEN_INVALID_SIGNATURE')
    })
  })

  describe('an ID token sent as an access token', () => {
    it('is refused as an ID token, v2 and v1, whatever the client it was issued to', async () => {
      for (const version of [2, 1] as const) {
        for (const audience of [undefined, randomUUID(), issuer.clientId]) {
          const token = await issuer.mintIdToken({ version, now: SECONDS, ...(audience === undefined ? {} : { audience }) })
          assert.deepEqual(await call(token), { status: 401, code: 'ENTRA_TOKEN_ID_TOKEN', challenge: invalid(ID_TOKEN) }, `v${version} ${audience ?? 'default'}`)
        }
      }
    })

    it('is refused as an ID token by its nonce, at_hash or c_hash, even when it names its client (it was "another application" before)', async () => {
      const spa = randomUUID()
      // A single-page app's ID token as a new user pastes it: its own registration's aud, a nonce, an email, no
      // permissions; one that also names its client (azp, or appid in v1) was taken for another application's.
      const cases: [string, Record<string, unknown>][] = [
        ['azp and a nonce', { azp: spa, email: 'ada@contoso.example' }],
        ['appid and c_hash, no nonce (v1)', { appid: spa, c_hash: 'LDktKdoQak3Pk0cnXxCltA', nonce: undefined }],
        ['azp and at_hash, no nonce', { azp: spa, at_hash: 'fLmgGjvOqPH4S6E8QLRGvQ', nonce: undefined }]
      ]
      for (const [what, claims] of cases) {
        const token = await issuer.mintIdToken({ now: SECONDS, audience: spa, claims })
        assert.deepEqual(await call(token), { status: 401, code: 'ENTRA_TOKEN_ID_TOKEN', challenge: invalid(ID_TOKEN) }, what)
      }
    })

    it('does not take an app-only or agent token without permissions for one (idtyp app, no roles)', async () => {
      for (const claims of [{ idtyp: 'app' }, { idtyp: 'app', azp: undefined, nonce: randomUUID() }]) {
        const token = await issuer.mint({ now: SECONDS, appOnly: true, roles: [], claims })
        const { code } = await call(token)
        assert.notEqual(code, 'ENTRA_TOKEN_ID_TOKEN', JSON.stringify(claims))
        assert.equal((await call(token)).status, 401)
      }
    })

    it('is refused when the client and the API are one registration and the user has app roles (it was accepted before)', async () => {
      const token = await issuer.mintIdToken({ now: SECONDS, audience: issuer.clientId, roles: ['Todo.Read.All'] })
      assert.deepEqual(await call(token), { status: 401, code: 'ENTRA_TOKEN_ID_TOKEN', challenge: invalid(ID_TOKEN) })
    })

    it('is refused as an ID token before its version or tenant are looked at', async () => {
      const v1Only = await appWith({ tokenVersions: [1] })
      assert.equal((await callOn(v1Only, await issuer.mintIdToken({ now: SECONDS }))).code, 'ENTRA_TOKEN_ID_TOKEN')
      assert.equal((await call(await issuer.mintIdToken({ now: SECONDS, tenantId: randomUUID() }))).code, 'ENTRA_TOKEN_ID_TOKEN')
    })

    it('a forged ID token learns only that its signature is invalid', async () => {
      assert.equal((await call(await forged(await issuer.mintIdToken({ now: SECONDS })))).code, 'ENTRA_TOKEN_INVALID_SIGNATURE')
    })
  })

  describe('a token for another application of the tenant', () => {
    it('is refused as another application\'s (a GUID or an App ID URI), without listing the API\'s audiences', async () => {
      const custom = await appWith({ audience: ['https://contoso.example/todo', issuer.clientId] })
      for (const audience of [randomUUID(), 'api://another-app', 'https://contoso.example/billing']) {
        const token = await issuer.mint({ now: SECONDS, scopes: ['Todo.Read'], audience })
        for (const on of [app, custom]) {
          const response = await on.inject({ url: '/me', headers: bearer(token) })
          assert.deepEqual(outcome(response), { status: 401, code: 'ENTRA_TOKEN_INVALID_AUDIENCE', challenge: invalid(OTHER_APP) }, audience)
          for (const accepted of [issuer.clientId, 'api://', 'contoso.example/todo']) assert.ok(!response.body.includes(accepted), accepted)
        }
      }
    })

    it('is refused as another application\'s before its version says anything', async () => {
      const v2Only = await appWith({ tokenVersions: [2] })
      const token = await issuer.mint({ version: 1, now: SECONDS, scopes: ['Todo.Read'], audience: randomUUID() })
      assert.deepEqual(await callOn(v2Only, token), { status: 401, code: 'ENTRA_TOKEN_INVALID_AUDIENCE', challenge: invalid(OTHER_APP) })
    })
  })

  describe('a token from another tenant, to a single-tenant API', () => {
    it('is refused as another tenant\'s (v2 and v1), without naming either tenant', async () => {
      for (const version of [2, 1] as const) {
        const token = await issuer.mint({ version, now: SECONDS, scopes: ['Todo.Read'], tenantId: randomUUID() })
        const response = await app.inject({ url: '/me', headers: bearer(token) })
        assert.deepEqual(outcome(response), { status: 401, code: 'ENTRA_TOKEN_TENANT_NOT_ALLOWED', challenge: invalid(OTHER_TENANT) }, `v${version}`)
        assert.ok(!response.body.includes(issuer.tenantId))
      }
    })

    it('a forged one learns only that its signature is invalid', async () => {
      const token = await forged(await issuer.mint({ now: SECONDS, scopes: ['Todo.Read'], tenantId: randomUUID() }))
      assert.equal((await call(token)).code, 'ENTRA_TOKEN_INVALID_SIGNATURE')
    })
  })

  describe('a token of a version the API does not accept', () => {
    it('names requestedAccessTokenVersion and what to set it to, both ways', async () => {
      const v2Only = await appWith({ tokenVersions: [2] })
      const v1Only = await appWith({ tokenVersions: [1] })
      const v1 = await issuer.mint({ version: 1, now: SECONDS, scopes: ['Todo.Read'] })
      const v2 = await issuer.mint({ version: 2, now: SECONDS, scopes: ['Todo.Read'] })
      assert.deepEqual(await callOn(v2Only, v1), { status: 401, code: 'ENTRA_TOKEN_VERSION_MISMATCH', challenge: invalid(V1_TO_V2_ONLY) })
      assert.deepEqual(await callOn(v1Only, v2), { status: 401, code: 'ENTRA_TOKEN_VERSION_MISMATCH', challenge: invalid(V2_TO_V1_ONLY) })
    })
  })

  describe('an expired token', () => {
    it('says how long ago it expired, in whole seconds from exp', async () => {
      for (const [lifetime, ago] of [[-301, 301], [-400, 400], [-86_400, 86_400]] as const) {
        const token = await issuer.mint({ now: SECONDS, scopes: ['Todo.Read'], expiresIn: lifetime })
        assert.deepEqual(await call(token), { status: 401, code: 'ENTRA_TOKEN_EXPIRED', challenge: invalid(expired(ago)) }, String(lifetime))
      }
    })

    it('says the same when the token was cached while valid and has expired since', async () => {
      let now = NOW
      const moving = await appWith({ clock: () => now })
      const token = await issuer.mint({ now: SECONDS, scopes: ['Todo.Read'], expiresIn: 60 })
      // The second verification puts a token in the cache (see the tokenCache option).
      for (let i = 0; i < 3; i++) assert.equal((await moving.inject({ url: '/me', headers: bearer(token) })).statusCode, 200)
      assert.ok(moving.entraId.verifier.cachedTokens > 0, 'the token is cached')
      now = NOW + (60 + 300 + 25) * 1000
      assert.deepEqual(await callOn(moving, token), { status: 401, code: 'ENTRA_TOKEN_EXPIRED', challenge: invalid(expired(325)) })
    })
  })

  it('logs what an audience, issuer or tenant refusal is about: the token\'s claim against what the API accepts, never in the answer', async () => {
    const sink = logSink()
    const logged = await appWith({ fastify: { logger: { level: 'info', stream: sink.stream } } })
    const elsewhere = randomUUID()
    const otherTenant = randomUUID()
    const forged = new URL(issuer.issuer(2))
    forged.port = '1'
    const cases: [string, Record<string, unknown>][] = [
      [await issuer.mint({ now: SECONDS, scopes: ['Todo.Read'], audience: elsewhere }),
        { code: 'ENTRA_TOKEN_INVALID_AUDIENCE', details: { aud: elsewhere, audiences: [issuer.clientId, `api://${issuer.clientId}`] } }],
      [await issuer.mint({ now: SECONDS, scopes: ['Todo.Read'], tenantId: otherTenant }),
        { code: 'ENTRA_TOKEN_TENANT_NOT_ALLOWED', details: { iss: issuer.issuer(2, otherTenant), tid: otherTenant, issuers: [issuer.issuer(2)] } }],
      [await issuer.mint({ now: SECONDS, scopes: ['Todo.Read'], claims: { iss: forged.href } }),
        { code: 'ENTRA_TOKEN_INVALID_ISSUER', details: { iss: forged.href, tid: issuer.tenantId, issuers: [issuer.issuer(2), issuer.issuer(1)] } }]
    ]
    for (const [token, expected] of cases) {
      const before = sink.lines().length
      const response = await logged.inject({ url: '/me', headers: bearer(token) })
      const line = sink.lines().slice(before).find((l) => l.msg !== 'incoming request' && l.msg !== 'request completed')
      const err = line?.err as { code?: unknown, details?: unknown } | undefined
      assert.deepEqual({ code: err?.code, details: err?.details }, expected)
      const { details } = expected as { details: Record<string, unknown> }
      for (const value of Object.values(details).flat()) assert.ok(!response.body.includes(String(value)) && !JSON.stringify(response.headers).includes(String(value)), `${String(value)} is not in the answer`)
      for (const part of token.split('.')) assert.ok(!JSON.stringify(line).includes(part), 'the token is not logged')
    }
  })

  it('logs each refusal once, at info, with its code and without the token', async () => {
    const sink = logSink()
    const logged = await appWith({ fastify: { logger: { level: 'info', stream: sink.stream } } })
    const v2Only = await appWith({ tokenVersions: [2], fastify: { logger: { level: 'info', stream: sink.stream } } })
    const refusals: [FastifyInstance, string, string][] = [
      [logged, await graphShapedToken(issuer, 'https://graph.microsoft.com'), 'ENTRA_TOKEN_FOR_GRAPH'],
      [logged, await issuer.mint({ now: SECONDS, scopes: ['User.Read'], audience: 'https://graph.microsoft.com' }), 'ENTRA_TOKEN_FOR_GRAPH'],
      [logged, await issuer.mintIdToken({ now: SECONDS }), 'ENTRA_TOKEN_ID_TOKEN'],
      [logged, await issuer.mint({ now: SECONDS, scopes: ['Todo.Read'], audience: randomUUID() }), 'ENTRA_TOKEN_INVALID_AUDIENCE'],
      [logged, await issuer.mint({ now: SECONDS, scopes: ['Todo.Read'], tenantId: randomUUID() }), 'ENTRA_TOKEN_TENANT_NOT_ALLOWED'],
      [v2Only, await issuer.mint({ version: 1, now: SECONDS, scopes: ['Todo.Read'] }), 'ENTRA_TOKEN_VERSION_MISMATCH'],
      [logged, await issuer.mint({ now: SECONDS, scopes: ['Todo.Read'], expiresIn: -400 }), 'ENTRA_TOKEN_EXPIRED']
    ]
    for (const [on, token, code] of refusals) {
      const before = sink.lines().length
      const response = await on.inject({ url: '/me', headers: bearer(token) })
      assert.equal(response.statusCode, 401, code)
      const lines = sink.lines().slice(before)
      const refusalLines = lines.filter((l) => l.msg !== 'incoming request' && l.msg !== 'request completed')
      assert.equal(refusalLines.length, 1, `${code}: one line, got ${JSON.stringify(refusalLines)}`)
      assert.equal(refusalLines[0]?.level, 30, `${code}: at info`)
      assert.equal((refusalLines[0]?.err as { code?: unknown } | undefined)?.code, code)
      const text = JSON.stringify(lines)
      for (const part of token.split('.')) assert.ok(!text.includes(part), `${code}: the token is not logged`)
    }
  })
})
