import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { EntraTokenVerifier, KeysUnavailableError } from '../src/index.js'
import type { IssuerBehaviour } from '../src/testing/index.js'
import { bearer, buildApp, eventually, outcome, withIssuer } from './helpers.js'

describe('discovery and signing keys', () => {
  it('load once at start-up, and 100 concurrent requests reuse those keys', () => withIssuer(async (issuer) => {
    const app = await buildApp(issuer)
    try {
      await app.ready()
      assert.equal(app.entraId.isReady(), true)
      const counts = () => [issuer.count('discovery-v2'), issuer.count('discovery-v1'), issuer.count('jwks-v2'), issuer.count('jwks-v1')]
      assert.deepEqual(counts(), [1, 1, 1, 1])
      const token = await issuer.mint({ scopes: ['Todo.Read'] })
      const responses = await Promise.all(Array.from({ length: 100 }, () => app.inject({ url: '/me', headers: bearer(token) })))
      assert.ok(responses.every((r) => r.statusCode === 200))
      assert.deepEqual(counts(), [1, 1, 1, 1])
    } finally {
      await app.close()
    }
  }))

  it('allow one discovery fetch per document and one JWKS fetch per key set when 100 requests hit a cold verifier', () => withIssuer(async (issuer) => {
    // Slow answers keep every request waiting on the same fetches.
    issuer.setBehaviour('slow', { delayMs: 100 })
    const verifier = EntraTokenVerifier.create({ tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url })
    try {
      const token = await issuer.mint({ scopes: ['Todo.Read'] })
      const results = await Promise.all(Array.from({ length: 100 }, () => verifier.verify(token)))
      assert.equal(results.length, 100)
      assert.equal(issuer.count('discovery-v2'), 1)
      assert.equal(issuer.count('discovery-v1'), 1)
      assert.equal(issuer.count('jwks-v2'), 1)
      assert.equal(issuer.count('jwks-v1'), 1)
    } finally {
      verifier.close()
    }
  }))

  it('accept a token signed with a rotated-in key after exactly one key-set refetch', () => withIssuer(async (issuer) => {
    const app = await buildApp(issuer, { cooldownDuration: 0 })
    try {
      await app.ready()
      const before = issuer.count('jwks-v2')
      const oldToken = await issuer.mint({ scopes: ['Todo.Read'] })
      await issuer.rotateKeys()
      const newToken = await issuer.mint({ scopes: ['Todo.Read'] })
      assert.equal((await app.inject({ url: '/me', headers: bearer(newToken) })).statusCode, 200)
      assert.equal(issuer.count('jwks-v2'), before + 1)
      assert.equal((await app.inject({ url: '/me', headers: bearer(newToken) })).statusCode, 200)
      assert.equal((await app.inject({ url: '/me', headers: bearer(oldToken) })).statusCode, 200)
      assert.equal(issuer.count('jwks-v2'), before + 1)
    } finally {
      await app.close()
    }
  }))

  it('do not refetch keys for unknown kids within the cooldown after a fetch', () => withIssuer(async (issuer) => {
    const app = await buildApp(issuer)
    try {
      await app.ready()
      const kid = await issuer.addKey()
      const token = await issuer.mint({ scopes: ['Todo.Read'], kid })
      for (let i = 0; i < 5; i++) {
        assert.equal(outcome(await app.inject({ url: '/me', headers: bearer(token) })).code, 'ENTRA_TOKEN_UNKNOWN_KEY')
      }
      assert.equal(issuer.count('jwks-v2'), 1)
    } finally {
      await app.close()
    }
  }))

  it('refresh keys in the background after cacheMaxAge, and then refuse tokens of a key that was removed', () => withIssuer(async (issuer) => {
    let offset = 0
    const app = await buildApp(issuer, { cacheMaxAge: 60_000, clock: () => Date.now() + offset })
    try {
      await app.ready()
      const retiring = issuer.signingKid
      const oldToken = await issuer.mint({ scopes: ['Todo.Read'] })
      await issuer.rotateKeys()
      issuer.removeKey(retiring)
      assert.equal((await app.inject({ url: '/me', headers: bearer(oldToken) })).statusCode, 200)

      offset = 61_000
      // The request that finds the keys stale is served from them, and starts the refresh.
      assert.equal((await app.inject({ url: '/me', headers: bearer(oldToken) })).statusCode, 200)
      await eventually(() => issuer.count('jwks-v2') === 2)
      await eventually(() => app.entraId.verifier.isReady)
      let result = outcome(await app.inject({ url: '/me', headers: bearer(oldToken) }))
      for (let i = 0; i < 50 && result.status === 200; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10))
        result = outcome(await app.inject({ url: '/me', headers: bearer(oldToken) }))
      }
      assert.equal(result.code, 'ENTRA_TOKEN_UNKNOWN_KEY')
      const newToken = await issuer.mint({ scopes: ['Todo.Read'] })
      assert.equal((await app.inject({ url: '/me', headers: bearer(newToken) })).statusCode, 200)
    } finally {
      await app.close()
    }
  }))

  for (const [behaviour, extra] of [
    ['down', {}],
    ['http-500', {}],
    ['garbage', {}],
    ['slow', { timeoutDuration: 100 }]
  ] as const satisfies readonly (readonly [IssuerBehaviour, object])[]) {
    it(`when the identity provider is ${behaviour} at start-up: the server starts, protected routes answer 503 with Retry-After, and keys load once it recovers`, () => withIssuer(async (issuer) => {
      issuer.setBehaviour(behaviour, { delayMs: 2000 })
      const token = await issuer.mint({ scopes: ['Todo.Read'] })
      const app = await buildApp(issuer, { cooldownDuration: 50, ...extra })
      try {
        await app.ready()
        assert.equal(app.entraId.isReady(), false)
        const response = await app.inject({ url: '/me', headers: bearer(token) })
        assert.equal(response.statusCode, 503)
        assert.equal(response.json<{ code: string }>().code, 'ENTRA_KEYS_UNAVAILABLE')
        assert.match(String(response.headers['retry-after']), /^[1-9]\d*$/)
        assert.equal(response.headers['www-authenticate'], undefined)
        assert.equal((await app.inject({ url: '/public' })).statusCode, 200)

        issuer.setBehaviour('normal')
        await eventually(() => app.entraId.isReady())
        assert.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200)
      } finally {
        await app.close()
      }
    }))
  }

  it('keep accepting valid tokens with the cached keys while the identity provider is down, and stay ready', () => withIssuer(async (issuer) => {
    let offset = 0
    const app = await buildApp(issuer, { cacheMaxAge: 60_000, cooldownDuration: 0, clock: () => Date.now() + offset })
    try {
      await app.ready()
      const token = await issuer.mint({ scopes: ['Todo.Read'] })
      const unknownKid = await issuer.addKey()
      const rotated = await issuer.mint({ scopes: ['Todo.Read'], kid: unknownKid })
      issuer.setBehaviour('down')
      offset = 11 * 60_000
      for (let i = 0; i < 3; i++) {
        assert.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200)
      }
      assert.equal(app.entraId.isReady(), true)
      // A kid the cached set lacks cannot be told apart from a forgery while keys cannot be fetched: 503, not 401.
      const response = await app.inject({ url: '/me', headers: bearer(rotated) })
      assert.equal(response.statusCode, 503)
      assert.equal(response.json<{ code: string }>().code, 'ENTRA_KEYS_UNAVAILABLE')

      issuer.setBehaviour('normal')
      assert.equal((await app.inject({ url: '/me', headers: bearer(rotated) })).statusCode, 200)
    } finally {
      await app.close()
    }
  }))

  it('stop retrying once the app is closed', () => withIssuer(async (issuer) => {
    issuer.setBehaviour('down')
    const app = await buildApp(issuer, { cooldownDuration: 20 })
    await app.ready()
    await eventually(() => issuer.count('discovery-v2') >= 3)
    await app.close()
    const after = issuer.count()
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(issuer.count(), after)
  }))
})

describe('hostile or broken discovery documents', () => {
  const serve = async (document: (base: string) => { status: number, body: string, headers?: Record<string, string> }) => {
    const server = createServer((req, res) => {
      const answer = document(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(answer.body)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
  }
  const tenantId = '72f988bf-86f1-41af-91ab-2d7cd011db47'
  const cases: [string, (base: string) => { status: number, body: string, headers?: Record<string, string> }][] = [
    ['a jwks_uri over plain http to a non-loopback host', (base) => ({ status: 200, body: JSON.stringify({ issuer: `${base}/${tenantId}/v2.0`, jwks_uri: 'http://keys.example/keys' }) })],
    ['no issuer', () => ({ status: 200, body: JSON.stringify({ jwks_uri: 'https://keys.example/keys' }) })],
    ['a redirect', () => ({ status: 302, body: '', headers: { location: 'https://evil.example/' } })],
    ['a multi-tenant issuer template for a single-tenant API', (base) => ({ status: 200, body: JSON.stringify({ issuer: `${base}/{tenantid}/v2.0`, jwks_uri: `${base}/keys` }) })],
    ['an oversized document', () => ({ status: 200, body: JSON.stringify({ issuer: 'x', padding: 'x'.repeat(300 * 1024) }) })]
  ]
  for (const [name, document] of cases) {
    it(`are refused (keys unavailable, 503) when they have ${name}`, async () => {
      const server = await serve(document)
      const verifier = EntraTokenVerifier.create({ tenantId, clientId: '00000000-0000-0000-0000-000000000001', authorityHost: server.url, tokenVersions: [2] })
      try {
        await assert.rejects(verifier.hydrate(), (error: unknown) => error instanceof KeysUnavailableError && error.statusCode === 503)
        assert.equal(verifier.isReady, false)
      } finally {
        verifier.close()
        await server.close()
      }
    })
  }
})
