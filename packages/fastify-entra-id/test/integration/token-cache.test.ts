import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { requireScopes } from '../../src/index.js'
import { EntraTokenVerifier } from '../../src/core/index.js'
import { TokenCache } from '../../src/core/token-cache/token-cache.js'
import { resolveTokenCacheOptions } from '../../src/core/token-cache/cache-options.js'
import { VerificationCounts, hashOf, mix } from '../../src/core/token-cache/verification-counts.js'
import { bearer, buildApp, nextKeySetEvent, outcome, withIssuer } from '../helpers.js'

describe('the verified-token cache', () => {
  it('serves a repeated token from the cache, and still refuses it once it expires', () => withIssuer(async (issuer) => {
    let offset = 0
    const verifier = EntraTokenVerifier.create({ tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url, clock: () => Date.now() + offset })
    try {
      await verifier.hydrate()
      const token = await issuer.mint({ scopes: ['Todo.Read'], expiresIn: 60 })
      // Admission on second sight: the first verification only remembers the token.
      await verifier.verify(token)
      assert.equal(verifier.cachedTokens, 0)
      await verifier.verify(token)
      assert.equal(verifier.cachedTokens, 1)
      await verifier.verify(token)
      assert.equal(verifier.cachedTokens, 1)
      assert.deepEqual({ ...verifier.tokenCacheStats, estimatedBytes: undefined }, { entries: 1, estimatedBytes: undefined, hits: 1, misses: 2 })
      offset = (60 + 300 + 1) * 1000
      await assert.rejects(verifier.verify(token), { code: 'ENTRA_TOKEN_EXPIRED' })
      assert.equal(verifier.cachedTokens, 0)
    } finally {
      verifier.close()
    }
  }))

  it('identify answers without a promise whenever no fetch is needed, throws its refusals, and waits (a promise) only for keys', () => withIssuer(async (issuer) => {
    const verifier = EntraTokenVerifier.create({ tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url, cooldownDuration: 0 })
    try {
      const token = await issuer.mint({ scopes: ['Todo.Read'] })
      const cold = verifier.identify(token)
      assert.ok(cold instanceof Promise, 'before the keys are loaded, a promise')
      const first = await cold
      const second = verifier.identify(token)
      assert.ok(!(second instanceof Promise), 'a new verification with the key at hand needs no promise')
      assert.notEqual(second, first, 'the first sight is not cached')
      const hit = verifier.identify(token)
      assert.ok(!(hit instanceof Promise), 'a cached token needs no promise')
      assert.notEqual(hit, second, 'an entry is kept as a record: its first hit builds the identity again')
      assert.deepEqual(hit, second, 'an identity equal to the verified one')
      assert.equal(verifier.cachedIdentity(token), hit, 'a hit soon after the last keeps the identity in the hot tier')
      assert.throws(() => verifier.identify('not.a.jwt'), { code: 'ENTRA_TOKEN_MALFORMED' })
      await assert.rejects(verifier.verify('not.a.jwt'), { code: 'ENTRA_TOKEN_MALFORMED' }, 'verify always answers with a promise')
      const unknownKid = await issuer.mint({ scopes: ['Todo.Read'], kid: await issuer.addKey() })
      const refetching = verifier.identify(unknownKid)
      assert.ok(refetching instanceof Promise, 'a kid the set lacks: a promise, for the refetch')
      assert.equal((await refetching).tenantId, issuer.tenantId)
    } finally {
      verifier.close()
    }
  }))

  it('a hit on an entry kept as a record returns an identity equal to the verified one: frozen, with its scopes and roles', () => withIssuer(async (issuer) => {
    const verifier = EntraTokenVerifier.create({ tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url })
    try {
      await verifier.hydrate()
      const token = await issuer.mint({ scopes: ['Todo.Read', 'Todo.Write'], roles: ['Todo.Admin'], name: 'Zoë Ødegård' })
      await verifier.verify(token)
      const verified = await verifier.verify(token)
      assert.equal(verifier.cachedTokens, 1)
      // A copy of the string, as a new request brings: the hit must not depend on the very string verified.
      const hit = verifier.cachedIdentity(` ${token}`.slice(1))
      assert.ok(hit !== undefined)
      assert.notEqual(hit, verified)
      assert.deepEqual(hit, verified)
      assert.equal(hit.name, 'Zoë Ødegård', 'non-ASCII claims survive the record')
      assert.deepEqual([...hit.scopes], ['Todo.Read', 'Todo.Write'])
      assert.deepEqual([...hit.roles], ['Todo.Admin'])
      assert.equal(hit.tokenVersion, verified.tokenVersion)
      assert.equal(hit.expiresAt.getTime(), verified.expiresAt.getTime())
      assert.ok(Object.isFrozen(hit) && Object.isFrozen(hit.claims) && Object.isFrozen(hit.claims.roles), 'shared by every request: frozen')
      assert.throws(() => { (hit.scopes as Set<string>).add('Todo.Admin') })
    } finally {
      verifier.close()
    }
  }))

  it('re-checks exp on every hit: a cached token is refused past exp plus tolerance even before maxAge', () => withIssuer(async (issuer) => {
    let offset = 0
    const verifier = EntraTokenVerifier.create({
      tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url, clockTolerance: 0,
      clock: () => Date.now() + offset, tokenCache: { maxAge: 3_600_000 }
    })
    try {
      await verifier.hydrate()
      const token = await issuer.mint({ scopes: ['Todo.Read'], expiresIn: 30 })
      await verifier.verify(token)
      await verifier.verify(token)
      assert.equal(verifier.cachedTokens, 1)
      offset = 31_000
      await assert.rejects(verifier.verify(token), { code: 'ENTRA_TOKEN_EXPIRED' })
    } finally {
      verifier.close()
    }
  }))

  it('never lets a token with a changed signature hit the cache', () => withIssuer(async (issuer) => {
    const app = await buildApp(issuer)
    try {
      const token = await issuer.mint({ scopes: ['Todo.Read'] })
      for (let i = 0; i < 2; i++) assert.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200)
      assert.equal(app.entraId.verifier.cachedTokens, 1)
      const [header, payload, signature] = token.split('.') as [string, string, string]
      const middle = Math.floor(signature.length / 2)
      const altered = `${header}.${payload}.${signature.slice(0, middle)}${signature[middle] === 'A' ? 'B' : 'A'}${signature.slice(middle + 1)}`
      assert.equal(outcome(await app.inject({ url: '/me', headers: bearer(altered) })).code, 'ENTRA_TOKEN_INVALID_SIGNATURE')
      assert.equal(outcome(await app.inject({ url: '/me', headers: bearer(`${header}.${payload}.`) })).code, 'ENTRA_TOKEN_INVALID_SIGNATURE')
    } finally {
      await app.close()
    }
  }))

  it('still authorizes every request: a cached token lacking a scope is refused by the guard each time', () => withIssuer(async (issuer) => {
    const app = await buildApp(issuer)
    app.get('/write', { preHandler: requireScopes('Todo.Write') }, () => ({ ok: true }))
    try {
      const token = await issuer.mint({ scopes: ['Todo.Read'] })
      assert.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200)
      for (let i = 0; i < 3; i++) assert.equal((await app.inject({ url: '/write', headers: bearer(token) })).statusCode, 403)
    } finally {
      await app.close()
    }
  }))

  it('drops the entries of a key that left the key set', (t) => withIssuer(async (issuer) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() })
    // One key set (v2 only), so the refresh that drops the entries is the one that removes the key.
    const verifier = EntraTokenVerifier.create({
      tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url, tokenVersions: [2],
      cacheMaxAge: 60_000
    })
    try {
      await verifier.hydrate()
      const retiring = issuer.signingKid
      const oldToken = await issuer.mint({ scopes: ['Todo.Read'] })
      await issuer.rotateKeys()
      const newToken = await issuer.mint({ scopes: ['Todo.Read'] })
      await verifier.verify(oldToken)
      await verifier.verify(oldToken)
      assert.equal(verifier.cachedTokens, 1)
      issuer.removeKey(retiring)
      t.mock.timers.setTime(Date.now() + 60_000)
      const refreshed = nextKeySetEvent()
      await verifier.verify(oldToken) // served from the cache; starts the background refresh
      assert.deepEqual((await refreshed).removedKids, [retiring])
      assert.equal(verifier.cachedTokens, 0)
      await assert.rejects(verifier.verify(oldToken), { code: 'ENTRA_TOKEN_UNKNOWN_KEY' })
      await verifier.verify(newToken)
    } finally {
      verifier.close()
    }
  }))

  it('can be turned off', () => withIssuer(async (issuer) => {
    const verifier = EntraTokenVerifier.create({ tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url, tokenCache: false })
    try {
      const token = await issuer.mint({ scopes: ['Todo.Read'] })
      await verifier.verify(token)
      await verifier.verify(token)
      assert.equal(verifier.cachedTokens, 0)
    } finally {
      verifier.close()
    }
  }))
})

describe('TokenCache bounds', () => {
  const NUMBERS = { encode: (value: number) => String(value), decode: Number }
  const STRINGS = { encode: (value: string) => value, decode: (record: string) => record }
  const token = (i: number) => `eyJ${String(i).padStart(8, '0')}.${'p'.repeat(1200)}.${String(i).padStart(8, '0')}${'s'.repeat(334)}`

  it('holds at most maxEntries and maxBytes (records and hot values) under 100,000 distinct tokens; once full, newcomers verified as often as the entries do not churn it', () => {
    const options = resolveTokenCacheOptions(undefined)
    assert.ok(options !== null)
    // Records of 2 KB: the 15 MiB left beside the hot tier hold 7,680 of them, fewer than maxEntries.
    const cache = new TokenCache<number>(options, { encode: (value) => String(value).padEnd(2000), decode: Number })
    const now = Date.now()
    let peakBytes = 0
    let peakEntries = 0
    for (let i = 0; i < 100_000; i++) {
      // Twice: a token is admitted the second time it is verified.
      cache.set(token(i), i, 'kid', now + 3_600_000, now)
      cache.set(token(i), i, 'kid', now + 3_600_000, now)
      if (i % 1000 === 999) cache.get(token(0), now) // keep one entry in use
      peakBytes = Math.max(peakBytes, cache.bytes)
      peakEntries = Math.max(peakEntries, cache.size)
    }
    assert.ok(peakEntries <= options.maxEntries, `entries ${peakEntries}`)
    assert.ok(peakBytes <= options.maxBytes, `bytes ${peakBytes}`)
    assert.ok(peakEntries > 7000, `the records fill their 15 MiB: ${peakEntries}`)
    assert.equal(cache.get(token(0), now), 0, 'an entry in use stays')
    assert.equal(cache.get(token(1), now), 1, 'an entry of the first fill stays: newcomers used as often do not evict it')
    assert.equal(cache.get(token(99_999), now), undefined, 'a newcomer verified twice does not replace an entry used twice')
  })

  it('keeps a value in use as it is: hits soon after the last return the same value, a hit long after builds an equal one', () => {
    const cache = new TokenCache<{ n: number }>({ maxEntries: 2000, maxBytes: 1 << 24, maxAge: 60_000 }, { encode: (value) => String(value.n), decode: (record) => ({ n: Number(record) }) })
    for (let n = 0; n < 2; n++) cache.set(token(0), { n: 0 }, 'kid', 60_000, 0)
    const first = cache.get(token(0), 1)
    assert.deepEqual(first, { n: 0 })
    assert.equal(cache.get(token(0), 1), first, 'the hot tier serves the value the last hit built')
    // 2,000 tokens in between: more lookups than the hot window, and more values than the hot tier holds.
    for (let i = 1; i <= 2000; i++) for (let n = 0; n < 2; n++) cache.set(token(i), { n: i }, 'kid', 60_000, 0)
    for (let round = 0; round < 2; round++) for (let i = 1; i < 2000; i++) cache.get(token(i), 1)
    const later = cache.get(token(0), 1)
    assert.deepEqual(later, { n: 0 })
    assert.notEqual(later, first, 'cooled: decoded from its record again')
    assert.ok(cache.bytes <= (1 << 24))
  })

  it('when full, lets in a token verified more often than the least recently used entry was used, evicting that entry', () => {
    const cache = new TokenCache<number>({ maxEntries: 3, maxBytes: 1 << 20, maxAge: 60_000 }, NUMBERS)
    for (const i of [1, 2, 3]) for (let n = 0; n < 2; n++) cache.set(token(i), i, 'kid', 60_000, 0)
    assert.equal(cache.get(token(1), 1), 1) // 1 is now the most recently used; 2 the least
    for (let n = 0; n < 2; n++) cache.set(token(4), 4, 'kid', 60_000, 0)
    assert.equal(cache.get(token(4), 1), undefined, 'two verifications do not beat an entry used twice')
    cache.set(token(4), 4, 'kid', 60_000, 0)
    assert.equal(cache.get(token(4), 1), 4, 'the third does')
    assert.equal(cache.get(token(2), 1), undefined, 'the least recently used entry made room')
    assert.equal(cache.get(token(3), 1), 3)
    assert.equal(cache.get(token(1), 1), 1)
    assert.deepEqual(cache.stats, { entries: 3, estimatedBytes: cache.bytes, hits: 4, misses: 2 })
  })

  it('when full, an entry unused for a whole epoch of maxEntries lookups makes room, however often it was used before', () => {
    // A busy caller's token, dropped when its caller refreshed it, must not keep new tokens out until maxAge.
    const cache = new TokenCache<number>({ maxEntries: 4, maxBytes: 1 << 20, maxAge: 60_000 }, NUMBERS)
    for (let n = 0; n < 2; n++) cache.set(token(0), 0, 'kid', 60_000, 0)
    for (let n = 0; n < 1000; n++) cache.get(token(0), 1)
    for (const i of [1, 2, 3]) {
      for (let n = 0; n < 2; n++) cache.set(token(i), i, 'kid', 60_000, 0)
    }
    const newcomer = (): number | undefined => {
      for (let n = 0; n < 2; n++) cache.set(token(9), 9, 'kid', 60_000, 0)
      return cache.get(token(9), 1)
    }
    assert.equal(newcomer(), undefined, 'token 0 was just used: it stays')
    for (let n = 0; n < 8; n++) cache.get(token(1 + (n % 3)), 1) // two epochs of 4 lookups without token 0
    assert.equal(newcomer(), 9, 'idle for an epoch, token 0 made room')
    assert.equal(cache.get(token(0), 1), undefined)
  })

  it('when full, an expired entry always makes room', () => {
    const cache = new TokenCache<number>({ maxEntries: 1, maxBytes: 1 << 20, maxAge: 60_000 }, NUMBERS)
    for (let n = 0; n < 2; n++) cache.set(token(1), 1, 'kid', 1_000, 0)
    for (let n = 0; n < 2; n++) cache.set(token(2), 2, 'kid', 60_000, 1_000)
    assert.equal(cache.get(token(2), 1_001), 2)
  })

  it('finds an entry only for the exact token: another token with the same signature segment misses', () => {
    const cache = new TokenCache<string>({ maxEntries: 10, maxBytes: 1 << 20, maxAge: 60_000 }, STRINGS)
    cache.set('header.payload.signature', 'verified', 'kid', 60_000, 0)
    cache.set('header.payload.signature', 'verified', 'kid', 60_000, 0)
    assert.equal(cache.get('header.forged-payload.signature', 1), undefined)
    assert.equal(cache.get('header.payload.signature', 1), 'verified')
    assert.equal(cache.get('header.payload.signature', 1), 'verified', 'now from the hot tier')
    assert.equal(cache.get('header.forged-payload.signature', 1), undefined, 'the hot tier compares the whole token too')
  })

  it('admits a token the second time it is verified, and keeps the first-sight set bounded', () => {
    const cache = new TokenCache<number>({ maxEntries: 100, maxBytes: 1 << 20, maxAge: 60_000 }, NUMBERS)
    for (let i = 0; i < 1000; i++) cache.set(token(i), i, 'kid', 60_000, 0)
    assert.equal(cache.size, 0, 'tokens seen once are not cached')
    cache.set(token(999), 999, 'kid', 60_000, 0)
    assert.equal(cache.get(token(999), 1), 999)
    assert.equal(cache.size, 1)
  })

  it('counts verifications without a string per token: each token its own count, 10,000 tokens in a table made once', () => {
    const counts = new VerificationCounts(10_000)
    const start = (t: string): number => t.lastIndexOf('.') + 1
    for (let i = 0; i < 10_000; i++) assert.equal(counts.add(token(i), start(token(i))), 1)
    let second = 0
    for (let i = 0; i < 10_000; i++) if (counts.add(token(i), start(token(i))) === 2) second++
    // A token hashing to a slot another took over has lost its count: rare, and it only delays an admission.
    assert.ok(second > 8_000, `${second} of 10,000 kept their count`)
    counts.forget(token(7), start(token(7)))
    assert.equal(counts.add(token(7), start(token(7))), 1)
    for (let n = 0; n < 300; n++) counts.add(token(8), start(token(8)))
    assert.equal(counts.add(token(8), start(token(8))), 255, 'saturates')
  })

  it('counts two tokens of one slot pair used in turn each on its own', () => {
    // The smallest table: 1,024 slots in 512 pairs, so tokens sharing a pair are quickly found.
    const counts = new VerificationCounts(1)
    const start = (t: string): number => t.lastIndexOf('.') + 1
    const pairOf = (t: string): number => mix(hashOf(t, start(t))) & 1023 & ~1
    const a = token(0)
    let b = token(1)
    for (let i = 2; pairOf(b) !== pairOf(a); i++) b = token(i)
    for (let round = 1; round <= 3; round++) {
      assert.equal(counts.add(a, start(a)), round)
      assert.equal(counts.add(b, start(b)), round)
    }
  })

  it('never keeps an entry past its expiry or maxAge', () => {
    const cache = new TokenCache<string>({ maxEntries: 10, maxBytes: 1 << 20, maxAge: 1000 }, STRINGS)
    for (let i = 0; i < 2; i++) {
      cache.set('a.b.c', 'short', 'kid', 5_000, 0)
      cache.set('d.e.f', 'expiring', 'kid', 500, 0)
    }
    assert.equal(cache.get('d.e.f', 499), 'expiring')
    assert.equal(cache.get('d.e.f', 500), undefined)
    assert.equal(cache.get('a.b.c', 999), 'short')
    assert.equal(cache.get('a.b.c', 1000), undefined)
    assert.equal(cache.size, 0)
  })

  it('rejects bad settings at registration', () => {
    for (const bad of [{ maxEntries: 0 }, { maxBytes: -1 }, { maxAge: 1.5 }, 'yes']) {
      assert.throws(() => resolveTokenCacheOptions(bad as never), { code: 'ENTRA_CONFIG_INVALID' })
    }
  })
})
