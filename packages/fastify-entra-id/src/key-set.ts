/**
 * The tenant's signing keys, fetched from one JWKS URL and owned here outright (not by jose's
 * `createRemoteJWKSet`), because what a resource server needs of it is what jose's remote set decides on its own
 * terms: it judges freshness and cooldown by `Date.now()` (not the verifier's clock), blocks a request on a stale
 * set instead of serving it while refreshing, counts only successful fetches for its cooldown (an outage plus
 * unknown `kid`s would then fetch per request), and hands out WebCrypto keys where the verifier checks RS256
 * synchronously with `node:crypto` KeyObjects. Using it meant watching it through `customFetch`, re-reading
 * `jwks()` and rebuilding keys beside it on a second clock. Here one clock (`clock`) drives everything:
 * - one fetch in flight, by the hardened fetch of discovery.ts (no redirects, timeout, bounded body);
 * - keys by `kid` as KeyObjects, built once per fetch, so a request costs one Map lookup;
 * - stale-while-revalidate: after `cacheMaxAge` a refresh runs in the background, and the keys at hand keep
 *   serving, so an identity-provider outage never blocks or fails requests whose key is known;
 * - an unknown `kid` refetches at most once per `cooldownDuration` after a fetch, and not at all within
 *   `cooldownDuration` of a failed one (then 503: a rotated key cannot be told from a forged one); a `kid` found
 *   missing is never remembered as missing, so a rotated-in key is found by the next allowed fetch.
 *
 * @packageDocumentation
 */
import { createPublicKey } from 'node:crypto'
import type { JsonWebKey, KeyObject } from 'node:crypto'
import { KeysUnavailableError } from './errors.js'
import { DiscoveryError, fetchJson } from './discovery.js'

/** A verification key of the set, ready for `node:crypto`. */
export interface VerificationKey {
  readonly kid: string
  readonly key: KeyObject
  /** The key's `issuer` field (Entra's v2 key sets carry one, possibly with `{tenantid}`), else undefined. */
  readonly issuer: string | undefined
}

/** Timing settings of a key set, from the resolved options (milliseconds). */
export interface KeySetTiming {
  readonly timeoutDuration: number
  readonly cooldownDuration: number
  readonly cacheMaxAge: number
  readonly clock: () => number
}

/**
 * Raised when the set has no usable key for a `kid`, after at most one rate-limited refetch. It becomes the
 * `cause` of a 401, so, like that refusal, it carries no stack frames.
 */
export class NoMatchingKeyError extends Error {
  override readonly name = 'NoMatchingKeyError'
  readonly code = 'ERR_JWKS_NO_MATCHING_KEY'
  constructor(message: string) {
    super(message)
    this.stack = `${this.name}: ${message}`
  }
}

/** The keys of one JWKS URL. */
export class KeySet {
  readonly url: URL
  readonly #timing: KeySetTiming
  readonly #onRemoved: (removedKids: readonly string[]) => void
  #keys = new Map<string, VerificationKey>()
  #loadedAt = Number.NEGATIVE_INFINITY
  #failedAt = Number.NEGATIVE_INFINITY
  #fetching: Promise<void> | null = null

  /** `onRemoved` is called with the `kid`s that disappeared whenever a fetch replaces the keys. */
  constructor(url: URL, timing: KeySetTiming, onRemoved: (removedKids: readonly string[]) => void) {
    this.url = url
    this.#timing = timing
    this.#onRemoved = onRemoved
  }

  /** True once keys have been loaded at least once; stays true while later refreshes fail. */
  get loaded(): boolean {
    return this.#loadedAt !== Number.NEGATIVE_INFINITY
  }

  /** Loads (or reloads) the keys now; concurrent calls share the one fetch in flight. */
  load(): Promise<void> {
    this.#fetching ??= this.#fetch().finally(() => { this.#fetching = null })
    return this.#fetching
  }

  /**
   * The key for `kid`, when the set has it now. Also starts a background refresh when the set is older than
   * `cacheMaxAge`; the keys at hand keep serving meanwhile.
   */
  cached(kid: string, now: number): VerificationKey | undefined {
    this.refreshIfStale(now)
    return this.#keys.get(kid)
  }

  /** Starts a background refresh when the keys are older than `cacheMaxAge` (and no fetch failed recently). */
  refreshIfStale(now: number): void {
    if (now - this.#loadedAt < this.#timing.cacheMaxAge || this.#fetching !== null) return
    if (now - this.#failedAt < this.#timing.cooldownDuration) return
    this.load().catch(() => { /* #failedAt is set; the keys already loaded keep serving */ })
  }

  /**
   * The key for a `kid` the set does not have: the set is refetched unless it was within `cooldownDuration`.
   *
   * @throws {@link NoMatchingKeyError} when the set, refetched or not, has no such key.
   * @throws {@link KeysUnavailableError} when the set cannot be fetched.
   */
  async refetchFor(kid: string, now: number): Promise<VerificationKey> {
    if (now - this.#failedAt < this.#timing.cooldownDuration) {
      // Unknown kid during an outage: we cannot tell a rotated key from a forged one, so this is the IdP's 503.
      throw new KeysUnavailableError(this.#retryAfterSeconds(now))
    }
    if (this.#fetching === null && now - this.#loadedAt < this.#timing.cooldownDuration) {
      throw new NoMatchingKeyError('No usable key for this kid (the key set was fetched within the cooldown)')
    }
    try {
      await this.load()
    } catch (error) {
      throw new KeysUnavailableError(this.#retryAfterSeconds(this.#timing.clock()), { cause: error })
    }
    const key = this.#keys.get(kid)
    if (key === undefined) throw new NoMatchingKeyError('No usable key for this kid')
    return key
  }

  #retryAfterSeconds(now: number): number {
    return Math.max(1, (this.#failedAt + this.#timing.cooldownDuration - now) / 1000)
  }

  async #fetch(): Promise<void> {
    let document: unknown
    try {
      document = await fetchJson(this.url.href, this.#timing.timeoutDuration, 'Key set')
      if (document === null || typeof document !== 'object' || !Array.isArray((document as { keys?: unknown }).keys)) {
        throw new DiscoveryError(`Key set ${this.url.href} is not a JWK Set (RFC 7517 §5: an object with a "keys" array)`)
      }
    } catch (cause) {
      this.#failedAt = this.#timing.clock()
      throw cause
    }
    this.#replace((document as { keys: unknown[] }).keys)
  }

  #replace(jwks: readonly unknown[]): void {
    const next = new Map<string, VerificationKey>()
    const seen = new Set<string>()
    for (const jwk of jwks) {
      if (jwk === null || typeof jwk !== 'object') continue
      const kid = (jwk as { kid?: unknown }).kid
      if (typeof kid !== 'string') continue
      // Two keys under one kid are ambiguous: neither is used.
      if (seen.has(kid)) {
        next.delete(kid)
        continue
      }
      seen.add(kid)
      const key = toVerificationKey(jwk as JsonWebKey & { kid: string })
      if (key !== null) next.set(kid, key)
    }
    const removed = [...this.#keys.keys()].filter((kid) => !next.has(kid))
    this.#keys = next
    this.#loadedAt = this.#timing.clock()
    if (removed.length > 0) this.#onRemoved(removed)
  }
}

/**
 * The JWK as an RS256 verification key, or null when it cannot serve as one: RSA, `use` absent or `sig`, `alg`
 * absent or `RS256`, `key_ops` absent or with `verify` (RFC 7517 §4.2-4.4), and a modulus of at least 2048 bits
 * (RFC 7518 §3.3).
 */
function toVerificationKey(jwk: JsonWebKey & { kid: string }): VerificationKey | null {
  const { kty, use, alg, key_ops: keyOps } = jwk as { kty?: unknown, use?: unknown, alg?: unknown, key_ops?: unknown }
  if (kty !== 'RSA' || (use !== undefined && use !== 'sig') || (alg !== undefined && alg !== 'RS256')) return null
  if (keyOps !== undefined && !(Array.isArray(keyOps) && keyOps.includes('verify'))) return null
  if (typeof jwk.n !== 'string' || typeof jwk.e !== 'string') return null
  let key: KeyObject
  try {
    key = createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e }, format: 'jwk' })
  } catch {
    return null
  }
  const bits = key.asymmetricKeyDetails?.modulusLength
  if (key.asymmetricKeyType !== 'rsa' || bits === undefined || bits < 2048) return null
  const issuer = (jwk as { issuer?: unknown }).issuer
  return { kid: jwk.kid, key, issuer: typeof issuer === 'string' ? issuer : undefined }
}
