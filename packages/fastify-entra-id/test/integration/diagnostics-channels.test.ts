import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { AsyncLocalStorage } from 'node:async_hooks'
import { subscribe, tracingChannel, unsubscribe } from 'node:diagnostics_channel'
import type { FastifyInstance } from 'fastify'
import { requireScopes } from '../../src/index.js'
import { CHANNELS } from '../../src/core/index.js'
import type { DiscoveryEvent, KeySetEvent, RefusalEvent, TokenCacheEvictionEvent, VerificationMessage } from '../../src/core/index.js'
import { startTestIssuer } from '../../src/testing/index.js'
import type { TestIssuer } from '../../src/testing/index.js'
import { bearer, entraApp, withIssuer } from '../helpers.js'

// What a tool subscribed to the plugin's channels sees, as the documentation describes it, for the events one
// application goes through: start-up, tokens verified and cached, refusals, a key rotation.

interface Seen { readonly channel: string, readonly message: unknown }

const VERIFY_EVENTS = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'] as const

describe('the diagnostics channels', () => {
  let issuer: TestIssuer
  let app: FastifyInstance
  const seen: Seen[] = []
  const listeners: Array<() => void> = []
  const tokens: string[] = []

  before(async () => {
    issuer = await startTestIssuer()
    for (const name of [CHANNELS.keySet, CHANNELS.discovery, CHANNELS.tokenCache, CHANNELS.refusal, CHANNELS.downstream]) {
      const listener = (message: unknown): void => { seen.push({ channel: name, message: structuredClone(snapshot(message)) }) }
      subscribe(name, listener)
      listeners.push(() => { unsubscribe(name, listener) })
    }
    const verify = tracingChannel(CHANNELS.verify)
    for (const event of VERIFY_EVENTS) {
      // A copy at each event: the same message object is completed as the verification goes.
      const listener = (message: unknown): void => { seen.push({ channel: `verify:${event}`, message: structuredClone(snapshot(message)) }) }
      verify[event].subscribe(listener)
      listeners.push(() => { verify[event].unsubscribe(listener) })
    }
    app = await entraApp(issuer, { cooldownDuration: 1 })
    app.get('/me', { onRequest: app.entraId.authenticate }, () => ({ ok: true }))
    app.post('/write', { onRequest: requireScopes('Todo.Write') }, () => ({ ok: true }))
    await app.ready()
  })
  after(async () => {
    for (const undo of listeners) undo()
    await app.close()
    await issuer.close()
  })

  /** The events seen since the last call. */
  function taken(): Seen[] {
    return seen.splice(0)
  }

  async function call(token: string | undefined, method: 'GET' | 'POST' = 'GET'): Promise<number> {
    if (token !== undefined) tokens.push(token)
    const response = await app.inject({ method, url: method === 'GET' ? '/me' : '/write', headers: token === undefined ? {} : bearer(token) })
    return response.statusCode
  }

  it('publishes each discovery document and key set fetched at start-up, timed', () => {
    const events = taken()
    const discovery = events.filter((event) => event.channel === CHANNELS.discovery).map((event) => event.message as DiscoveryEvent)
    assert.deepEqual(discovery.map(({ url, outcome }) => ({ url, outcome })).sort((a, b) => a.url.localeCompare(b.url)), [
      { url: `${issuer.url}/${issuer.tenantId}/.well-known/openid-configuration`, outcome: 'loaded' },
      { url: `${issuer.url}/${issuer.tenantId}/v2.0/.well-known/openid-configuration`, outcome: 'loaded' }
    ])
    const keys = events.filter((event) => event.channel === CHANNELS.keySet).map((event) => event.message as KeySetEvent)
    assert.equal(keys.length, 2)
    for (const event of [...discovery, ...keys]) assert.ok(typeof event.durationMs === 'number' && event.durationMs >= 0)
    for (const event of keys) assert.deepEqual({ outcome: event.outcome, removedKids: event.removedKids, kids: event.kids.length }, { outcome: 'loaded', removedKids: [], kids: 1 })
  })

  it('traces each verification: the result at end when no fetch was needed, and whether the token cache answered', async () => {
    const token = await issuer.mint({ scopes: ['Todo.Read'] })
    for (let i = 0; i < 3; i++) assert.equal(await call(token), 200)
    const events = taken()
    assert.deepEqual(events.map((event) => event.channel), ['verify:start', 'verify:end', 'verify:start', 'verify:end', 'verify:start', 'verify:end'])
    const ends = events.filter((event) => event.channel === 'verify:end').map((event) => event.message as VerificationMessage)
    assert.deepEqual(ends.map((message) => message.cached), [false, false, true])
    for (const message of ends) {
      assert.equal(typeof message.startTime, 'number')
      assert.deepEqual(scopesOf(message), ['Todo.Read'])
      assert.equal(message.error, undefined)
    }
  })

  it('publishes a refusal with its code and status, and a refused verification at error then end', async () => {
    assert.equal(await call(await issuer.mint({ expiresIn: -600 })), 401)
    assert.equal(await call(await issuer.mint({ scopes: ['Todo.Read'] }), 'POST'), 403)
    assert.equal(await call(undefined), 401)
    const events = taken()
    const refusals = events.filter((event) => event.channel === CHANNELS.refusal).map((event) => event.message as RefusalEvent)
    assert.deepEqual(refusals, [
      { code: 'ENTRA_TOKEN_EXPIRED', status: 401 },
      { code: 'ENTRA_INSUFFICIENT_SCOPE', status: 403 },
      { code: 'ENTRA_TOKEN_MISSING', status: 401 }
    ])
    const expired = events.slice(0, 3)
    assert.deepEqual(expired.map((event) => event.channel), ['verify:start', 'verify:error', 'verify:end'])
    assert.equal((expired[2]?.message as { error: { code: string } }).error.code, 'ENTRA_TOKEN_EXPIRED')
  })

  it('traces a verification that waited for a new key asynchronously, and evicts the tokens of a removed key', async () => {
    const cached = await issuer.mint({ scopes: ['Todo.Read'] })
    for (let i = 0; i < 2; i++) await call(cached)
    taken()
    const oldKid = kidOf(cached)
    await issuer.rotateKeys()
    issuer.removeKey(oldKid)
    const rotated = await issuer.mint({ scopes: ['Todo.Read'] })
    assert.notEqual(kidOf(rotated), oldKid)
    assert.equal(await call(rotated), 200)
    const events = taken()
    const verify = events.filter((event) => event.channel.startsWith('verify:'))
    assert.deepEqual(verify.map((event) => event.channel), ['verify:start', 'verify:end', 'verify:asyncStart', 'verify:asyncEnd'])
    assert.equal((verify[1]?.message as VerificationMessage).result, undefined)
    assert.deepEqual(scopesOf(verify[3]?.message), ['Todo.Read'])
    const fetched = events.find((event) => event.channel === CHANNELS.keySet)?.message as KeySetEvent
    assert.deepEqual(fetched.removedKids, [oldKid])
    assert.deepEqual(events.filter((event) => event.channel === CHANNELS.tokenCache).map((event) => event.message as TokenCacheEvictionEvent),
      [{ reason: 'key-removed', count: 2 }], 'the tokens cached by this test and the second one, both of the old key')
  })

  it('carries no token in any message', () => {
    const all = JSON.stringify(seen)
    for (const token of tokens) {
      assert.ok(!all.includes(token))
      assert.ok(!all.includes(token.split('.')[2] ?? ''), 'a signature')
    }
  })
})

describe('a store bound to the verification channel', () => {
  // How APM tools give a verification its own context (a span, a transaction): bindStore on `start`. Whatever runs
  // for the verification, the key fetch it waits for included, must see that store.
  it('is the active store for everything the verification runs, the key fetch it waited for included', async () => {
    await withIssuer(async (issuer) => {
      // No cool-down: the key set loaded at start-up may be fetched again at once, for the rotated key.
      const app = await entraApp(issuer, { cooldownDuration: 0 })
      app.get('/me', { onRequest: app.entraId.authenticate }, () => ({ ok: true }))
      await app.ready()
      const store = new AsyncLocalStorage<VerificationMessage>()
      const start = tracingChannel<VerificationMessage>(CHANNELS.verify).start
      start.bindStore(store)
      const storesAtKeySet: unknown[] = []
      const onKeySet = (): void => { storesAtKeySet.push(store.getStore()) }
      subscribe(CHANNELS.keySet, onKeySet)
      try {
        await issuer.rotateKeys()
        const token = await issuer.mint({ scopes: ['Todo.Read'] })
        const response = await app.inject({ url: '/me', headers: bearer(token) })
        assert.equal(response.statusCode, 200, response.body)
        assert.equal(storesAtKeySet.length, 1, 'the new key was fetched once, for this verification')
        const verification = storesAtKeySet[0] as VerificationMessage | undefined
        assert.equal(typeof verification?.startTime, 'number')
        assert.deepEqual([...verification?.result?.scopes ?? []], ['Todo.Read'], 'the store is the message of the verification that waited')
        assert.equal(store.getStore(), undefined, 'and only inside it')
      } finally {
        unsubscribe(CHANNELS.keySet, onKeySet)
        start.unbindStore(store)
        await app.close()
      }
    })
  })
})

/** The scopes of a snapshot's `result`, the identity accepted. */
function scopesOf(message: unknown): unknown {
  return (message as { result?: { scopes: unknown } }).result?.scopes
}

function kidOf(token: string): string {
  return (JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()) as { kid: string }).kid
}

/** A message as plain data (an error as its name, code, message and cause), so it can be kept and searched. */
function snapshot(message: unknown): unknown {
  if (message instanceof Error) {
    return { name: message.name, code: (message as { code?: unknown }).code, message: message.message, cause: snapshot(message.cause) }
  }
  if (message === null || typeof message !== 'object') return message
  if (Array.isArray(message)) return message.map(snapshot)
  const plain: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(message)) plain[key] = snapshot(value)
  if ('result' in message && message.result !== undefined) {
    const identity = message.result as { scopes: readonly string[], claims: unknown }
    plain.result = { scopes: [...identity.scopes], claims: identity.claims }
  }
  return plain
}
