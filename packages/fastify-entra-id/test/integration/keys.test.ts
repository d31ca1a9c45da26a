import { describe, it } from 'node:test'
import type { TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { createServer } from 'node:http'
import type { ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { EntraTokenVerifier, KeySetFetchError, KeysUnavailableError } from '../../src/core/index.js'
import type { IssuerBehaviour } from '../../src/testing/index.js'
import { Signal, bearer, buildApp, nextKeySetEvent, outcome, withIssuer } from '../helpers.js'

/** Freezes `Date` (jose's clock and the verifier's) at now, for the test to move. */
function freezeDate(t: TestContext): { advance: (ms: number) => void } {
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() })
  return { advance: (ms) => { t.mock.timers.setTime(Date.now() + ms) } }
}

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

  it('let an unknown kid refetch the keys again once cooldownDuration has passed, without waiting for it', (t) => withIssuer(async (issuer) => {
    const time = freezeDate(t)
    const app = await buildApp(issuer, { cooldownDuration: 30_000 })
    try {
      await app.ready()
      const kid = await issuer.addKey()
      const token = await issuer.mint({ scopes: ['Todo.Read'], kid })
      assert.equal(outcome(await app.inject({ url: '/me', headers: bearer(token) })).code, 'ENTRA_TOKEN_UNKNOWN_KEY')
      time.advance(29_999)
      assert.equal(outcome(await app.inject({ url: '/me', headers: bearer(token) })).code, 'ENTRA_TOKEN_UNKNOWN_KEY')
      assert.equal(issuer.count('jwks-v2'), 1)
      time.advance(1)
      assert.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200)
      assert.equal(issuer.count('jwks-v2'), 2)
    } finally {
      await app.close()
    }
  }))

  it('refresh keys in the background after cacheMaxAge, and then refuse tokens of a key that was removed', (t) => withIssuer(async (issuer) => {
    const time = freezeDate(t)
    const app = await buildApp(issuer, { cacheMaxAge: 60_000, tokenVersions: [2] })
    try {
      await app.ready()
      const retiring = issuer.signingKid
      const oldToken = await issuer.mint({ scopes: ['Todo.Read'] })
      await issuer.rotateKeys()
      issuer.removeKey(retiring)
      assert.equal((await app.inject({ url: '/me', headers: bearer(oldToken) })).statusCode, 200)

      time.advance(60_000)
      const refreshed = nextKeySetEvent()
      // The request that finds the keys stale is served from them, and starts the refresh.
      assert.equal((await app.inject({ url: '/me', headers: bearer(oldToken) })).statusCode, 200)
      const event = await refreshed
      assert.deepEqual([event.outcome, event.removedKids], ['loaded', [retiring]])
      assert.equal(issuer.count('jwks-v2'), 2)
      assert.equal(outcome(await app.inject({ url: '/me', headers: bearer(oldToken) })).code, 'ENTRA_TOKEN_UNKNOWN_KEY')
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
      const loaded = new Signal()
      const app = await buildApp(issuer, { cooldownDuration: 50, onLoad: () => { loaded.notify() }, ...extra })
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
        await loaded.until(() => app.entraId.isReady())
        assert.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200)
      } finally {
        await app.close()
      }
    }))
  }

  it('keep accepting valid tokens with the cached keys while the identity provider is down, and stay ready', (t) => withIssuer(async (issuer) => {
    const time = freezeDate(t)
    const app = await buildApp(issuer, { cacheMaxAge: 60_000, cooldownDuration: 0 })
    try {
      await app.ready()
      const token = await issuer.mint({ scopes: ['Todo.Read'] })
      const unknownKid = await issuer.addKey()
      const rotated = await issuer.mint({ scopes: ['Todo.Read'], kid: unknownKid })
      issuer.setBehaviour('down')
      time.advance(11 * 60_000)
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
    let failures = 0
    const failed = new Signal()
    const app = await buildApp(issuer, { cooldownDuration: 20, onLoadError: () => { failures++; failed.notify() } })
    await app.ready()
    await failed.until(() => failures >= 3)
    await app.close()
    const after = issuer.count()
    // An absence needs a window to be seen in: five retry periods.
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

  for (const [name, answer, reason] of [
    ['a redirect', (res: ServerResponse) => res.writeHead(302, { location: 'https://evil.example/keys' }).end(), /answered HTTP 302$/],
    ['no keys array', (res: ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":{}}'), /could not be loaded: JSON Web Key Set malformed$/],
    ['not JSON', (res: ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end('<html>'), /could not be loaded: Failed to parse/],
    ['more than 256 KiB', (res: ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end(`{"keys":[],"pad":"${'x'.repeat(300 * 1024)}"}`), /is larger than 262144 bytes$/]
  ] as const) {
    it(`are refused (503, the URL and reason in the cause) when the JWKS URL answers ${name}`, async () => {
      let redirectsFollowed = 0
      const server = createServer((req, res) => {
        const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
        if (req.url?.startsWith('/evil') === true) redirectsFollowed++
        if (req.url?.endsWith('/keys') === true) answer(res)
        else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer: `${base}/${tenantId}/v2.0`, jwks_uri: `${base}/${tenantId}/discovery/v2.0/keys` }))
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      const verifier = EntraTokenVerifier.create({ tenantId, clientId, authorityHost: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, tokenVersions: [2] })
      try {
        await assert.rejects(verifier.hydrate(), (error: { code?: unknown, statusCode?: unknown, cause?: unknown }) => {
          assert.equal(error.code, 'ENTRA_KEYS_UNAVAILABLE')
          assert.equal(error.statusCode, 503)
          assert.ok(error.cause instanceof KeySetFetchError, 'the cause says it was the key set')
          assert.equal(error.cause.code, 'ENTRA_KEY_SET_UNAVAILABLE')
          const message = (error.cause as Error).message
          assert.match(message, /^Key set http:\/\/127\.0\.0\.1:\d+\/.+\/keys /)
          assert.match(message, reason)
          return true
        })
        assert.equal(verifier.isReady, false)
        assert.equal(redirectsFollowed, 0)
      } finally {
        verifier.close()
        await new Promise<void>((resolve) => server.close(() => resolve()))
      }
    })
  }

  it('answer 503 at once, without a fetch, for an unknown kid right after a failed fetch, and refetch once cooldownDuration has passed', (t) => withIssuer(async (issuer) => {
    const time = freezeDate(t)
    const app = await buildApp(issuer, { cacheMaxAge: 60_000, tokenVersions: [2] })
    try {
      await app.ready()
      const known = await issuer.mint({ scopes: ['Todo.Read'] })
      const kid = await issuer.addKey()
      const unknown = await issuer.mint({ scopes: ['Todo.Read'], kid })
      issuer.setBehaviour('down')
      time.advance(60_000)
      const failed = nextKeySetEvent()
      // Stale keys: this request is served, and its background refresh fails against the down issuer.
      assert.equal((await app.inject({ url: '/me', headers: bearer(known) })).statusCode, 200)
      assert.equal((await failed).outcome, 'failed')
      const response = await app.inject({ url: '/me', headers: bearer(unknown) })
      assert.equal(response.statusCode, 503)
      assert.equal(response.headers['retry-after'], '30')
      assert.equal(issuer.count('jwks-v2'), 2, 'no fetch during the cooldown after a failure')
      issuer.setBehaviour('normal')
      time.advance(29_999)
      assert.equal((await app.inject({ url: '/me', headers: bearer(unknown) })).statusCode, 503)
      time.advance(1)
      assert.equal((await app.inject({ url: '/me', headers: bearer(unknown) })).statusCode, 200)
    } finally {
      await app.close()
    }
  }))
})
