import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
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

describe('hostile or unusable key sets', () => {
  const tenantId = '72f988bf-86f1-41af-91ab-2d7cd011db47'
  const clientId = '3a691ed5-bdea-43b1-be30-dcee49f19605'

  /** A real issuer on loopback serving one v2 document and the given key set. */
  const serveKeys = async (keys: () => object[]) => {
    const server = createServer((req, res) => {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const body = req.url?.endsWith('/keys') === true
        ? { keys: keys() }
        : { issuer: `${base}/${tenantId}/v2.0`, jwks_uri: `${base}/${tenantId}/discovery/v2.0/keys` }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
  }
  const sign = (privateKey: KeyObject, kid: string, claims: Record<string, unknown>): string => {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
    const input = `${encode({ alg: 'RS256', typ: 'JWT', kid })}.${encode(claims)}`
    return `${input}.${cryptoSign('sha256', Buffer.from(input), privateKey).toString('base64url')}`
  }
  const claimsFor = (url: string) => {
    const now = Math.floor(Date.now() / 1000)
    return { iss: `${url}/${tenantId}/v2.0`, aud: clientId, tid: tenantId, ver: '2.0', exp: now + 600, iat: now, scp: 'Todo.Read' }
  }

  it('never use an RSA key shorter than 2048 bits, nor two keys published under one kid', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 })
    const strong = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const jwk = (key: KeyObject, kid: string) => ({ ...key.export({ format: 'jwk' }), kid, use: 'sig' })
    const server = await serveKeys(() => [jwk(weak.publicKey, 'weak'), jwk(strong.publicKey, 'twice'), jwk(other.publicKey, 'twice'), jwk(strong.publicKey, 'good')])
    const verifier = EntraTokenVerifier.create({ tenantId, clientId, authorityHost: server.url, tokenVersions: [2] })
    try {
      await verifier.hydrate()
      const claims = claimsFor(server.url)
      await assert.rejects(verifier.verify(sign(weak.privateKey, 'weak', claims)), { code: 'ENTRA_TOKEN_UNKNOWN_KEY' })
      await assert.rejects(verifier.verify(sign(strong.privateKey, 'twice', claims)), { code: 'ENTRA_TOKEN_UNKNOWN_KEY' })
      const identity = await verifier.verify(sign(strong.privateKey, 'good', claims))
      assert.equal(identity.tenantId, tenantId)
    } finally {
      verifier.close()
      await server.close()
    }
  })

  it('answer 503 at once, without a fetch, for an unknown kid right after a failed fetch', () => withIssuer(async (issuer) => {
    let offset = 0
    const app = await buildApp(issuer, { cacheMaxAge: 60_000, clock: () => Date.now() + offset })
    try {
      await app.ready()
      const known = await issuer.mint({ scopes: ['Todo.Read'] })
      const kid = await issuer.addKey()
      const unknown = await issuer.mint({ scopes: ['Todo.Read'], kid })
      issuer.setBehaviour('down')
      offset = 61_000
      // Stale keys: this request is served, and its background refresh fails against the down issuer.
      assert.equal((await app.inject({ url: '/me', headers: bearer(known) })).statusCode, 200)
      await eventually(() => issuer.count('jwks-v2') === 2)
      let response = await app.inject({ url: '/me', headers: bearer(unknown) })
      for (let i = 0; i < 100 && response.statusCode !== 503; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10))
        response = await app.inject({ url: '/me', headers: bearer(unknown) })
      }
      assert.equal(response.statusCode, 503)
      assert.match(String(response.headers['retry-after']), /^[1-9]\d*$/)
      assert.equal(issuer.count('jwks-v2'), 2, 'no fetch during the cooldown after a failure')
    } finally {
      await app.close()
    }
  }))
})
