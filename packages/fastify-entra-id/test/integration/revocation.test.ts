import { after, before, describe, it, mock } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { EntraConfigError } from '../../src/index.js'
import { EntraTokenVerifier } from '../../src/core/index.js'
import type { EntraIdOptions, RevocationFacts } from '../../src/core/index.js'
import { startTestIssuer } from '../../src/testing/index.js'
import type { TestIssuer } from '../../src/testing/index.js'
import { bearer, buildApp, outcome } from '../helpers.js'

const REVOKED = 'Bearer realm="api", error="invalid_token", error_description="The token has been revoked: its caller, client, session or the token itself is on this API\'s deny-list; ask the API\'s owner"'

describe('revocation', () => {
  let issuer: TestIssuer
  before(async () => { issuer = await startTestIssuer() })
  after(async () => { await issuer.close() })

  /** A hydrated verifier whose clock is `now()`, with `extra` options. */
  async function verifierWith(extra: Partial<EntraIdOptions>): Promise<EntraTokenVerifier> {
    const verifier = EntraTokenVerifier.create({ tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url, ...extra })
    await verifier.hydrate()
    return verifier
  }

  it('refuses a token whose caller the check revokes with 401 ENTRA_TOKEN_REVOKED, and tells the check the facts, never the token', async () => {
    const offboarded = randomUUID()
    const told: RevocationFacts[] = []
    const app = await buildApp(issuer, {
      revocation: { isRevoked: async (facts) => { told.push(facts); await Promise.resolve(); return facts.oid === offboarded } }
    })
    try {
      const revokedToken = await issuer.mint({ objectId: offboarded, scopes: ['Todo.Read'] })
      assert.deepEqual(outcome(await app.inject({ url: '/me', headers: bearer(revokedToken) })),
        { status: 401, code: 'ENTRA_TOKEN_REVOKED', challenge: REVOKED })
      assert.equal((await app.inject({ url: '/me', headers: bearer(await issuer.mint({ scopes: ['Todo.Read'] })) })).statusCode, 200)
      const facts = told[0]
      assert.ok(facts !== undefined)
      const claims = JSON.parse(Buffer.from(revokedToken.split('.')[1] ?? '', 'base64url').toString()) as Record<string, string>
      assert.deepEqual(facts, { oid: offboarded, sub: claims.sub, uti: claims.uti, sid: null, tid: issuer.tenantId, clientId: claims.azp })
      assert.ok(!JSON.stringify(told).includes(revokedToken.split('.')[2] ?? ''), 'no part of the token reaches the check')
    } finally {
      await app.close()
    }
  })

  it('takes effect within maxAge, for a token already in the token cache too, and is asked once per token within it', async () => {
    let now = Date.now()
    const denied = new Set<string>()
    let asked = 0
    const verifier = await verifierWith({
      clock: () => now,
      revocation: { maxAge: 30_000, isRevoked: ({ uti }) => { asked++; return uti !== null && denied.has(uti) } }
    })
    try {
      const token = await issuer.mint({ scopes: ['Todo.Read'] })
      for (let i = 0; i < 3; i++) await verifier.verify(token)
      assert.equal(verifier.cachedTokens, 1, 'the token is in the token cache')
      assert.equal(asked, 1, 'one question: the answer is cached')
      const uti = (await verifier.verify(token)).claims.uti
      assert.ok(uti !== undefined)
      denied.add(uti)
      now += 29_999
      assert.ok(!(verifier.identify(token) instanceof Promise), 'still within maxAge: the cached answer, synchronously')
      assert.equal(verifier.cachedIdentity(token)?.claims.uti, uti)
      now += 1
      assert.equal(verifier.cachedIdentity(token), undefined, 'the answer has expired: nothing is known synchronously')
      await assert.rejects(verifier.verify(token), { code: 'ENTRA_TOKEN_REVOKED', statusCode: 401 })
      assert.equal(asked, 2)
      assert.throws(() => verifier.identify(token), { code: 'ENTRA_TOKEN_REVOKED' }, 'the refusal is cached too')
      assert.equal(verifier.tokenCacheStats.hits >= 4, true, 'the refusals came after token-cache hits')
      assert.equal(verifier.cachedIdentity(token), undefined)
    } finally {
      verifier.close()
    }
  })

  it('keys the answers of tokens without a uti by their facts: one caller\'s answer is never another\'s', async () => {
    const denied = randomUUID()
    const asked: (string | null)[] = []
    const verifier = await verifierWith({ revocation: { isRevoked: ({ oid, uti }) => { asked.push(uti); return oid === denied } } })
    try {
      const [revoked, other] = await Promise.all([denied, randomUUID()].map((objectId) => issuer.mint({ objectId, scopes: ['Todo.Read'], claims: { uti: undefined } })))
      for (let i = 0; i < 2; i++) {
        await assert.rejects(verifier.verify(revoked ?? ''), { code: 'ENTRA_TOKEN_REVOKED' })
        assert.equal((await verifier.verify(other ?? '')).claims.uti, undefined)
      }
      assert.deepEqual(asked, [null, null], 'one question per caller, each answer cached under its own facts')
    } finally {
      verifier.close()
    }
  })

  it('asks once for concurrent requests with one token', async () => {
    let asked = 0
    let answer: (revoked: boolean) => void = () => undefined
    const verifier = await verifierWith({
      revocation: { isRevoked: () => { asked++; return new Promise<boolean>((resolve) => { answer = resolve }) } }
    })
    try {
      const token = await issuer.mint({ scopes: ['Todo.Read'] })
      const pending = [1, 2, 3].map(async () => verifier.verify(token))
      await new Promise<void>((resolve) => { setImmediate(resolve) })
      answer(true)
      for (const result of await Promise.allSettled(pending)) {
        assert.equal(result.status === 'rejected' && (result.reason as { code: string }).code, 'ENTRA_TOKEN_REVOKED')
      }
      assert.equal(asked, 1)
    } finally {
      verifier.close()
    }
  })

  it('answers 503 with Retry-After, never the token, when the check throws, rejects or answers nonsense; caches nothing', async () => {
    const failures: (() => boolean | Promise<boolean>)[] = [
      () => { throw new Error('database down') },
      () => Promise.reject(new Error('connection reset')),
      () => 'no' as unknown as boolean
    ]
    let calls = 0
    const app = await buildApp(issuer, { revocation: { isRevoked: () => (failures[calls++] ?? (() => false))() } })
    try {
      const token = await issuer.mint({ scopes: ['Todo.Read'] })
      for (let i = 0; i < failures.length; i++) {
        const response = await app.inject({ url: '/me', headers: bearer(token) })
        assert.equal(response.statusCode, 503)
        assert.equal(response.json<{ code: string }>().code, 'ENTRA_REVOCATION_CHECK_FAILED')
        assert.equal(response.headers['retry-after'], '5')
        assert.equal(response.headers['www-authenticate'], undefined)
      }
      assert.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200, 'the next request asks again')
      assert.equal(calls, 4)
    } finally {
      await app.close()
    }
  })

  it('counts a check that does not answer within timeoutDuration as failed: 503 by default, accepted with failOpen', async () => {
    const hanging = await verifierWith({ revocation: { timeoutDuration: 500, isRevoked: () => new Promise<boolean>(() => undefined) } })
    const open = await verifierWith({ revocation: { timeoutDuration: 500, failOpen: true, isRevoked: () => new Promise<boolean>(() => undefined) } })
    const token = await issuer.mint({ scopes: ['Todo.Read'] })
    mock.timers.enable({ apis: ['setTimeout'] })
    try {
      const refused = hanging.verify(token)
      const accepted = open.verify(token)
      await new Promise<void>((resolve) => { setImmediate(resolve) })
      mock.timers.tick(499)
      let settled = false
      void refused.then(() => { settled = true }, () => { settled = true })
      await new Promise<void>((resolve) => { setImmediate(resolve) })
      assert.equal(settled, false, 'still waiting at 499 ms')
      mock.timers.tick(1)
      await assert.rejects(refused, { code: 'ENTRA_REVOCATION_CHECK_FAILED', statusCode: 503, retryAfter: 5 })
      assert.equal((await accepted).tenantId, issuer.tenantId)
    } finally {
      mock.timers.reset()
      hanging.close()
      open.close()
    }
  })

  it('refuses a bad revocation option at creation, naming it', () => {
    const base = { tenantId: issuer.tenantId, clientId: issuer.clientId }
    assert.throws(() => EntraTokenVerifier.create({ ...base, revocation: {} as never }), (e) => e instanceof EntraConfigError && e.option === 'revocation')
    assert.throws(() => EntraTokenVerifier.create({ ...base, revocation: { isRevoked: () => false, maxAge: -1 } }),
      (e) => e instanceof EntraConfigError && e.option === 'revocation.maxAge')
    assert.throws(() => EntraTokenVerifier.create({ ...base, revocation: { isRevoked: () => false, failOpen: 'yes' as never } }),
      (e) => e instanceof EntraConfigError && e.option === 'revocation.failOpen')
  })
})
