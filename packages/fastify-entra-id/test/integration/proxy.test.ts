import { test, before, after, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { fastifyEntraId } from '../../src/index.js'
import type { EntraIdPluginOptions } from '../../src/index.js'
import { fastifyEntraIdDownstream } from '../../src/downstream/index.js'
import { selfSignedCertificate, startTestGraph, startTestIssuer, startTestTokenEndpoint } from '../../src/testing/index.js'
import type { TestGraph, TestIssuer, TestTokenEndpoint } from '../../src/testing/index.js'
import { EntraConfigError } from '../../src/core/index.js'
import { bearer } from '../helpers.js'
import { startForwardProxy } from '../forward-proxy.js'
import type { ForwardProxy } from '../forward-proxy.js'

// Every request the plugin makes goes through the operator's forward proxy when the standard variables name one
// (or the `network.proxy` option does), and around it only for the hosts NO_PROXY covers. The issuer is http on
// loopback (absolute-form requests through the proxy); the token endpoint is https (a CONNECT tunnel), trusted
// through `network.caCertificates` alone.

const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy', 'NO_PROXY', 'no_proxy']
const SECRET = 'test-secret-value'
const USER_READ = 'https://graph.microsoft.com/User.Read'

let saved: Record<string, string | undefined>
let issuer: TestIssuer
let tokenEndpoint: TestTokenEndpoint
let graph: TestGraph
let tls: { key: string, cert: string }
let proxy: ForwardProxy

before(async () => {
  // Whatever the machine running the tests says, each test sets the variables it means.
  saved = Object.fromEntries(PROXY_VARIABLES.map((name) => [name, process.env[name]]))
  for (const name of PROXY_VARIABLES) Reflect.deleteProperty(process.env, name)
  issuer = await startTestIssuer()
  tls = selfSignedCertificate()
  tokenEndpoint = await startTestTokenEndpoint(issuer, { tls, clientSecret: SECRET })
  graph = await startTestGraph(issuer)
  proxy = await startForwardProxy()
})

after(async () => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) Reflect.deleteProperty(process.env, name)
    else process.env[name] = value
  }
  await proxy.close()
  await graph.close()
  await tokenEndpoint.close()
  await issuer.close()
})

beforeEach(() => {
  proxy.setBehaviour('forward')
  proxy.requests.length = 0
  issuer.resetCounts()
  tokenEndpoint.requests.length = 0
})

/** An app with `/me` (authenticated) and `/profile` (the caller's Graph profile, on behalf of), built with `env` set. */
async function buildApi(env: Record<string, string>, options: Partial<EntraIdPluginOptions> = {}): Promise<FastifyInstance> {
  const app = Fastify()
  Object.assign(process.env, env)
  try {
    await app.register(fastifyEntraId, {
      tenantId: issuer.tenantId,
      clientId: issuer.clientId,
      authorityHost: issuer.url,
      cooldownDuration: 50,
      ...options,
      network: { caCertificates: tls.cert, ...options.network }
    })
  } finally {
    for (const name of Object.keys(env)) Reflect.deleteProperty(process.env, name)
  }
  await app.register(fastifyEntraIdDownstream, { credential: { clientSecret: SECRET }, authorityHost: tokenEndpoint.url, timeoutMs: 1000 })
  app.get('/me', { onRequest: app.entraId.authenticate }, () => ({ ok: true }))
  app.get('/profile', { onRequest: app.entraId.authenticate }, async (request) => {
    const response = await app.entraIdDownstream.fetch(request, `${graph.url}/v1.0/me`, { scopes: [USER_READ] })
    return await response.json()
  })
  return app
}

const token = (): Promise<string> => issuer.mint({ scopes: ['Todo.Read'], name: 'Adele Vance', username: 'adele@contoso.example' })
const host = (url: string): string => new URL(url).host

test('with HTTPS_PROXY set, discovery, keys, the token endpoint and the downstream call all go through the proxy, and nothing around it', async (t) => {
  const app = await buildApi({ HTTPS_PROXY: proxy.url })
  try {
    const response = await app.inject({ url: '/profile', headers: bearer(await token()) })
    assert.equal(response.statusCode, 200, response.body)
    t.diagnostic(`proxy: ${proxy.summary().join('; ')}`)
    const plain = proxy.requests.filter((r) => r.method !== 'CONNECT')
    // Every request the issuer received was one the proxy forwarded: discovery (v2, v1) and the key set.
    assert.ok(issuer.count('discovery-v2') === 1 && issuer.count('jwks-v2') === 1)
    assert.equal(plain.filter((r) => host(r.target) === host(issuer.url)).length, issuer.count())
    assert.ok(plain.every((r) => r.status === 200))
    // The token endpoint (https): one request, through one tunnel to it.
    assert.equal(tokenEndpoint.requests.length, 1)
    assert.deepEqual(proxy.requests.filter((r) => r.method === 'CONNECT').map((r) => [r.target, r.status]), [[host(tokenEndpoint.url), 200]])
    // The downstream call (http).
    assert.equal(plain.filter((r) => r.target === `${graph.url}/v1.0/me`).length, 1)
  } finally {
    await app.close()
  }
})

test('reads the lower-case variables too (http_proxy), as the Azure SDKs do', async () => {
  const app = await buildApi({ http_proxy: proxy.url })
  try {
    assert.equal((await app.inject({ url: '/me', headers: bearer(await token()) })).statusCode, 200)
    assert.ok(proxy.requests.length >= 2)
    assert.equal(proxy.requests.length, issuer.count())
  } finally {
    await app.close()
  }
})

test('with NO_PROXY covering the host, nothing goes through the proxy', async () => {
  const app = await buildApi({ HTTPS_PROXY: proxy.url, NO_PROXY: 'localhost,127.0.0.1' })
  try {
    const response = await app.inject({ url: '/profile', headers: bearer(await token()) })
    assert.equal(response.statusCode, 200, response.body)
    assert.ok(issuer.count() >= 2)
    assert.equal(tokenEndpoint.requests.length, 1)
    assert.deepEqual(proxy.requests, [])
  } finally {
    await app.close()
  }
})

test('network.proxy names the proxy without the variables; proxy: false ignores them', async () => {
  const given = await buildApi({}, { network: { proxy: proxy.url } })
  try {
    assert.equal((await given.inject({ url: '/me', headers: bearer(await token()) })).statusCode, 200)
    assert.ok(proxy.requests.length >= 2)
  } finally {
    await given.close()
  }
  proxy.requests.length = 0
  const direct = await buildApi({ HTTPS_PROXY: proxy.url }, { network: { proxy: false } })
  try {
    assert.equal((await direct.inject({ url: '/me', headers: bearer(await token()) })).statusCode, 200)
    assert.deepEqual(proxy.requests, [])
  } finally {
    await direct.close()
  }
})

for (const behaviour of ['refuse', 'hang'] as const) {
  test(`a proxy that ${behaviour === 'refuse' ? 'refuses (403)' : 'hangs'} is an outage: 503 with Retry-After, never a 401`, async (t) => {
    proxy.setBehaviour(behaviour)
    const app = await buildApi({ HTTPS_PROXY: proxy.url }, { timeoutDuration: 200 })
    try {
      await app.ready()
      const response = await app.inject({ url: '/me', headers: bearer(await token()) })
      t.diagnostic(`proxy: ${proxy.summary().join('; ')}; answer ${response.statusCode} ${response.body}`)
      assert.equal(response.statusCode, 503, response.body)
      assert.equal(response.json<{ code: string }>().code, 'ENTRA_KEYS_UNAVAILABLE')
      assert.match(String(response.headers['retry-after']), /^[1-9]\d*$/)
      assert.equal(response.headers['www-authenticate'], undefined)
      assert.equal(issuer.count(), 0)
      assert.ok(proxy.requests.length >= 1)
    } finally {
      await app.close()
    }
  })
}

test('a proxy that refuses the token endpoint is an outage of the downstream call: 503 with Retry-After', async () => {
  const app = await buildApi({ HTTPS_PROXY: proxy.url, NO_PROXY: host(issuer.url) })
  try {
    proxy.setBehaviour('refuse')
    const response = await app.inject({ url: '/profile', headers: bearer(await token()) })
    assert.equal(response.statusCode, 503, response.body)
    assert.equal(response.json<{ code: string }>().code, 'ENTRA_DOWNSTREAM_UNAVAILABLE')
    assert.equal(response.headers['retry-after'], '5')
    assert.deepEqual(proxy.requests.map((r) => [r.method, r.target, r.status]), [['CONNECT', host(tokenEndpoint.url), 403]])
    assert.equal(tokenEndpoint.requests.length, 0)
  } finally {
    await app.close()
  }
})

test('refuses a proxy that is not an http(s) URL at registration, naming the variable it came from', async () => {
  await assert.rejects(buildApi({ HTTPS_PROXY: 'socks5://127.0.0.1:1080' }), (error: unknown) =>
    error instanceof EntraConfigError && error.option === 'network.proxy (from HTTPS_PROXY)')
  await assert.rejects(buildApi({}, { network: { proxy: 'proxy.corp:3128' } }), (error: unknown) =>
    error instanceof EntraConfigError && error.option === 'network.proxy')
})
