import { test, before, after, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import { Agent } from 'node:https'
import { inspect } from 'node:util'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { fastifyEntraId } from '../../src/index.js'
import { fastifyEntraIdDownstream } from '../../src/downstream/index.js'
import type { DownstreamOptions } from '../../src/downstream/index.js'
import { GRAPH_APP_ID, selfSignedCertificate, startTestGraph, startTestIssuer, startTestTokenEndpoint } from '../../src/testing/index.js'
import type { TestGraph, TestIssuer, TestTokenEndpoint } from '../../src/testing/index.js'
import { bearer, outcome } from '../helpers.js'
import { CHANNELS } from '../../src/core/index.js'
import type { DownstreamEvent } from '../../src/core/index.js'

const SECRET = 'test-secret-value'
const USER_READ = 'https://graph.microsoft.com/User.Read'

let issuer: TestIssuer
let tokenEndpoint: TestTokenEndpoint
let graph: TestGraph
let tls: { key: string, cert: string }
let clientCert: { key: string, cert: string }
let agent: Agent
let federatedFile: string
let federatedExpected = 'federated-token-1'
let tmp: string

before(async () => {
  issuer = await startTestIssuer()
  tls = selfSignedCertificate()
  clientCert = selfSignedCertificate('todo-api')
  tmp = mkdtempSync(join(tmpdir(), 'entra-obo-'))
  federatedFile = join(tmp, 'azure-identity-token')
  writeFileSync(federatedFile, 'federated-token-1\n')
  tokenEndpoint = await startTestTokenEndpoint(issuer, {
    tls,
    clientSecret: SECRET,
    clientCertificate: clientCert.cert,
    federatedAssertion: () => federatedExpected
  })
  graph = await startTestGraph(issuer)
  // The test CA, trusted by the agent msal-node's requests go through, and by nothing else in the process.
  agent = new Agent({ ca: tls.cert, keepAlive: false })
})

after(async () => {
  agent.destroy()
  await tokenEndpoint.close()
  await graph.close()
  await issuer.close()
  rmSync(tmp, { recursive: true, force: true })
})

beforeEach(() => {
  tokenEndpoint.setBehaviour('normal')
  graph.setBehaviour('normal')
  tokenEndpoint.requests.length = 0
  graph.requests.length = 0
})

/**
 * An API registered at the loopback https token endpoint (discovery and keys from the loopback issuer), with
 * `GET /profile` answering the caller's Graph profile through on-behalf-of, and `GET /token` a token's provenance.
 */
async function buildApi(options: Partial<DownstreamOptions> = {}, multiTenant = false): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(fastifyEntraId, multiTenant
    ? { tenantId: 'organizations', allowedTenants: '*', clientId: issuer.clientId, authorityHost: issuer.url }
    : { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url })
  // The plugin's authority host is the issuer's (http, for discovery); msal-node asks the https token endpoint.
  await app.register(fastifyEntraIdDownstream, { credential: { clientSecret: SECRET }, agent, authorityHost: tokenEndpoint.url, ...options })
  app.get('/profile', { onRequest: app.entraId.authenticate }, async (request) => {
    const response = await app.entraIdDownstream.fetch(request, `${graph.url}/v1.0/me`, { scopes: [USER_READ] })
    return await response.json()
  })
  app.get('/token', { onRequest: app.entraId.authenticate }, async (request) => {
    const token = await app.entraIdDownstream.acquireToken(request, [USER_READ])
    return { fromCache: token.fromCache, auth: JSON.stringify(request.auth), inspected: inspect(request.auth, { depth: 10 }) }
  })
  return app
}

const user = (options: { tenantId?: string, objectId?: string } = {}): Promise<string> =>
  issuer.mint({ scopes: ['Todo.Read'], name: 'Adele Vance', username: 'adele@contoso.example', ...options })

test('answers the caller\'s Graph profile with a token obtained on their behalf (the OBO grant, the caller\'s token as assertion)', async () => {
  const app = await buildApi()
  const token = await user()
  const response = await app.inject({ url: '/profile', headers: bearer(token) })
  assert.equal(response.statusCode, 200, response.body)
  const profile = response.json<{ displayName: string, mail: string, jobTitle: string }>()
  assert.deepEqual([profile.displayName, profile.mail, profile.jobTitle], ['Adele Vance', 'adele@contoso.example', 'Test Engineer'])
  assert.equal(tokenEndpoint.count(), 1)
  const [request] = tokenEndpoint.requests
  assert.equal(request?.tenant, issuer.tenantId)
  assert.equal(request?.form.grant_type, 'urn:ietf:params:oauth:grant-type:jwt-bearer')
  assert.equal(request?.form.requested_token_use, 'on_behalf_of')
  assert.equal(request?.form.assertion, token)
  assert.equal(request?.form.client_id, issuer.clientId)
  assert.equal(request?.form.client_secret, SECRET)
  assert.ok(request?.form.scope?.split(' ').includes(USER_READ))
  assert.deepEqual(graph.requests.map((r) => [r.path, r.status, r.audience, r.scopes]), [['/v1.0/me', 200, GRAPH_APP_ID, 'User.Read']])
  assert.equal(request?.issued?.oid, (JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as { oid: string }).oid, 'the Graph token is for the same user')
  await app.close()
})

test('reuses a cached token for the same caller\'s token and scopes, counted at the token endpoint', async () => {
  const app = await buildApi()
  const token = await user()
  const first = await app.inject({ url: '/token', headers: bearer(token) })
  const second = await app.inject({ url: '/token', headers: bearer(token) })
  assert.deepEqual([first.json<{ fromCache: boolean }>().fromCache, second.json<{ fromCache: boolean }>().fromCache], [false, true])
  assert.equal(tokenEndpoint.count(), 1)
  await app.inject({ url: '/token', headers: bearer(await user()) })
  assert.equal(tokenEndpoint.count(), 2, 'another caller gets a token of their own')
  assert.equal(app.entraIdDownstream.cachedTokens, 2)
  await app.close()
})

test('publishes each acquisition on the downstream channel: acquired from Entra, from the cache, or the refusal\'s code', async () => {
  const app = await buildApi()
  const events: DownstreamEvent[] = []
  const listener = (message: unknown): void => { events.push(message as DownstreamEvent) }
  subscribe(CHANNELS.downstream, listener)
  try {
    const token = await user()
    await app.inject({ url: '/token', headers: bearer(token) })
    await app.inject({ url: '/token', headers: bearer(token) })
    tokenEndpoint.setBehaviour('http-503')
    await app.inject({ url: '/token', headers: bearer(await user()) })
  } finally {
    unsubscribe(CHANNELS.downstream, listener)
    await app.close()
  }
  assert.deepEqual(events.map(({ flow, outcome }) => [flow, outcome]),
    [['on-behalf-of', 'acquired'], ['on-behalf-of', 'cached'], ['on-behalf-of', 'ENTRA_DOWNSTREAM_UNAVAILABLE']])
  assert.ok(events.every((event) => event.durationMs >= 0))
})

test('keeps at most maxCachedTokens in the cache, dropping the oldest', async () => {
  const app = await buildApi({ maxCachedTokens: 2 })
  const tokens = [await user(), await user(), await user()]
  for (const token of tokens) assert.equal((await app.inject({ url: '/token', headers: bearer(token) })).statusCode, 200)
  assert.equal(tokenEndpoint.count(), 3)
  assert.ok(app.entraIdDownstream.cachedTokens <= 2, `cache holds ${app.entraIdDownstream.cachedTokens}`)
  assert.equal((await app.inject({ url: '/token', headers: bearer(tokens[2] as string) })).json<{ fromCache: boolean }>().fromCache, true, 'the newest stays')
  assert.equal((await app.inject({ url: '/token', headers: bearer(tokens[0] as string) })).json<{ fromCache: boolean }>().fromCache, false, 'the oldest was dropped')
  assert.equal(tokenEndpoint.count(), 4)
  await app.close()
})

test('a multi-tenant API asks for the token in the caller\'s own tenant', async () => {
  const app = await buildApi({}, true)
  const otherTenant = '5f1c0d2e-7a4b-4c3d-9e8f-0a1b2c3d4e5f'
  const response = await app.inject({ url: '/profile', headers: bearer(await user({ tenantId: otherTenant })) })
  assert.equal(response.statusCode, 200, response.body)
  assert.deepEqual(tokenEndpoint.requests.map((r) => r.tenant), [otherTenant])
  await app.close()
})

test('passes Entra\'s interaction_required claims to the caller as a 401 insufficient_claims challenge', async () => {
  const app = await buildApi()
  const claims = '{"access_token":{"capolids":{"essential":true,"values":["c1a2b3c4-0000-4000-8000-000000000001"]}}}'
  tokenEndpoint.setBehaviour('interaction-required', claims)
  const response = await app.inject({ url: '/profile', headers: bearer(await user()) })
  assert.deepEqual(outcome(response), {
    status: 401,
    code: 'ENTRA_INSUFFICIENT_CLAIMS',
    challenge: `Bearer realm="api", authorization_uri="${issuer.url}/${issuer.tenantId}/oauth2/v2.0/authorize", error="insufficient_claims", claims="${Buffer.from(claims).toString('base64')}"`
  })
  assert.equal(graph.requests.length, 0)
  await app.close()
})

test('passes a downstream API\'s 401 insufficient_claims challenge (continuous access evaluation) to the caller', async () => {
  const app = await buildApi()
  const claims = '{"access_token":{"nbf":{"essential":true,"value":"1764600000"}}}'
  graph.setBehaviour('claims-challenge', claims)
  const response = await app.inject({ url: '/profile', headers: bearer(await user()) })
  assert.deepEqual(outcome(response), {
    status: 401,
    code: 'ENTRA_INSUFFICIENT_CLAIMS',
    challenge: `Bearer realm="api", authorization_uri="${issuer.url}/${issuer.tenantId}/oauth2/v2.0/authorize", error="insufficient_claims", claims="${Buffer.from(claims).toString('base64')}"`
  })
  await app.close()
})

test('answers 403 ENTRA_CONSENT_REQUIRED when Entra says AADSTS65001 (no consent for the downstream permission)', async () => {
  const app = await buildApi()
  tokenEndpoint.setBehaviour('consent-required')
  const response = await app.inject({ url: '/profile', headers: bearer(await user()) })
  const result = outcome(response)
  assert.deepEqual([result.status, result.code], [403, 'ENTRA_CONSENT_REQUIRED'])
  assert.match(String(result.challenge), /^Bearer realm="api", error="insufficient_scope", error_description="Consent is needed/)
  await app.close()
})

test('answers 503 ENTRA_DOWNSTREAM_UNAVAILABLE with Retry-After when Entra answers 5xx', async () => {
  const app = await buildApi()
  tokenEndpoint.setBehaviour('http-503')
  const response = await app.inject({ url: '/profile', headers: bearer(await user()) })
  assert.equal(response.statusCode, 503, response.body)
  assert.equal(response.json<{ code: string }>().code, 'ENTRA_DOWNSTREAM_UNAVAILABLE')
  assert.equal(response.headers['retry-after'], '5')
  assert.equal(response.headers['www-authenticate'], undefined)
  // msal-node then throttles the same request (60 s without a Retry-After from Entra): no second request to Entra.
  tokenEndpoint.setBehaviour('normal')
  const again = await app.inject({ url: '/profile', headers: bearer(await user()) })
  assert.deepEqual([again.statusCode, again.json<{ code: string }>().code, tokenEndpoint.count()], [503, 'ENTRA_DOWNSTREAM_UNAVAILABLE', 1])
  await app.close()
})

test('answers 503 ENTRA_DOWNSTREAM_UNAVAILABLE when Entra does not answer within timeoutMs', async () => {
  const app = await buildApi({ timeoutMs: 300, retryAfterSeconds: 2 })
  tokenEndpoint.setBehaviour('hang')
  const response = await app.inject({ url: '/profile', headers: bearer(await user()) })
  assert.deepEqual([response.statusCode, response.json<{ code: string }>().code, response.headers['retry-after']], [503, 'ENTRA_DOWNSTREAM_UNAVAILABLE', '2'])
  assert.equal(tokenEndpoint.count(), 1)
  await app.close()
})

test('answers 503 ENTRA_DOWNSTREAM_UNAVAILABLE when the downstream API does not answer within timeoutMs', async () => {
  const app = await buildApi({ timeoutMs: 300 })
  graph.setBehaviour('hang')
  const response = await app.inject({ url: '/profile', headers: bearer(await user()) })
  assert.deepEqual([response.statusCode, response.json<{ code: string }>().code], [503, 'ENTRA_DOWNSTREAM_UNAVAILABLE'])
  assert.deepEqual([tokenEndpoint.count(), graph.requests.length], [1, 1])
  await app.close()
})

test('refuses an app-only caller with 403 ENTRA_USER_REQUIRED, without asking Entra (on-behalf-of needs a user)', async () => {
  const app = await buildApi()
  const response = await app.inject({ url: '/profile', headers: bearer(await issuer.mint({ appOnly: true, roles: ['Todo.Read.All'] })) })
  assert.deepEqual([outcome(response).status, outcome(response).code], [403, 'ENTRA_USER_REQUIRED'])
  assert.equal(tokenEndpoint.count(), 0)
  await app.close()
})

test('a credential Entra refuses (invalid_client) is a 500 ENTRA_DOWNSTREAM_REJECTED, not the caller\'s fault', async () => {
  const app = await buildApi({ credential: { clientSecret: 'wrong' } })
  const response = await app.inject({ url: '/profile', headers: bearer(await user()) })
  assert.deepEqual([response.statusCode, response.json<{ code: string }>().code], [500, 'ENTRA_DOWNSTREAM_REJECTED'])
  assert.equal(tokenEndpoint.requests[0]?.status, 401)
  await app.close()
})

test('authenticates with a certificate: a client assertion signed by its key, no secret', async () => {
  const app = await buildApi({ credential: { certificate: { privateKey: clientCert.key, certificate: clientCert.cert } } })
  const response = await app.inject({ url: '/profile', headers: bearer(await user()) })
  assert.equal(response.statusCode, 200, response.body)
  const form = tokenEndpoint.requests[0]?.form ?? {}
  assert.equal(form.client_secret, undefined)
  assert.equal(form.client_assertion_type, 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
  await app.close()
})

test('authenticates with a federated token file, re-read when it is rotated', async () => {
  writeFileSync(federatedFile, 'federated-token-1\n')
  federatedExpected = 'federated-token-1'
  const app = await buildApi({ credential: { clientAssertionFile: federatedFile } })
  assert.equal((await app.inject({ url: '/profile', headers: bearer(await user()) })).statusCode, 200)
  // Workload identity writes a new token to the file; the next request to Entra must carry it.
  writeFileSync(federatedFile, 'federated-token-2\n')
  federatedExpected = 'federated-token-2'
  assert.equal((await app.inject({ url: '/profile', headers: bearer(await user()) })).statusCode, 200)
  assert.deepEqual(tokenEndpoint.requests.map((r) => [r.form.client_assertion, r.status]), [['federated-token-1', 200], ['federated-token-2', 200]])
  await app.close()
})

test('request.auth printed or JSON-stringified does not show the incoming token', async () => {
  const app = await buildApi()
  const token = await user()
  const body = (await app.inject({ url: '/token', headers: bearer(token) })).json<{ auth: string, inspected: string }>()
  const signature = token.split('.')[2] as string
  assert.ok(!body.auth.includes(signature) && !body.inspected.includes(signature))
  assert.ok(!body.auth.includes(token.split('.')[1] as string))
  await app.close()
})

test('refuses to register without a credential, or with an http authorityHost', async () => {
  const app = Fastify()
  await app.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url })
  await assert.rejects(async () => { await app.register(fastifyEntraIdDownstream, { authorityHost: tokenEndpoint.url } as DownstreamOptions) },
    { code: 'ENTRA_CONFIG_INVALID', option: 'credential' })
  await app.close()
  const other = Fastify()
  await other.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url })
  await assert.rejects(async () => { await other.register(fastifyEntraIdDownstream, { credential: { clientSecret: SECRET } }) },
    { code: 'ENTRA_CONFIG_INVALID', option: 'authorityHost' })
  await other.close()
})

test('the loopback Graph refuses a token that is not for Graph', async () => {
  const response = await fetch(`${graph.url}/v1.0/me`, { headers: bearer(await user()) })
  assert.equal(response.status, 401)
  assert.equal(GRAPH_APP_ID.length, 36)
})
