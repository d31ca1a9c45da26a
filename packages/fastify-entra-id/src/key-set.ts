import { createPublicKey } from 'node:crypto'
import type { JsonWebKey, KeyObject } from 'node:crypto'
import { createRemoteJWKSet, customFetch } from 'jose'
import { KeysUnavailableError } from './errors.js'

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

// jose codes that say "this token names a key we do not have", which is the token's problem, not the IdP's.
const TOKEN_KEY_ERRORS = new Set(['ERR_JWKS_NO_MATCHING_KEY', 'ERR_JWKS_MULTIPLE_MATCHING_KEYS', 'ERR_JOSE_NOT_SUPPORTED'])

/**
 * Raised when the set has no usable key for a `kid`, after at most one rate-limited refetch. It becomes the
 * `cause` of a 401, so, like that refusal, it carries no stack frames (jose's code, when it had one, is in the
 * message instead of a cause with frames of its own).
 */
export class NoMatchingKeyError extends Error {
  override readonly name = 'NoMatchingKeyError'
  readonly code = 'ERR_JWKS_NO_MATCHING_KEY'
  constructor(message: string) {
    super(message)
    this.stack = `${this.name}: ${message}`
  }
}

/**
 * One JWKS URL. jose's `createRemoteJWKSet` fetches it, keeps it and, for a `kid` it does not know, refetches
 * it at most once per `cooldownDuration`. On top of that this class provides what a resource server needs:
 * - keys by `kid` as `node:crypto` KeyObjects, built once per fetch, so a request costs one Map lookup;
 * - stale-while-revalidate: jose is told keys never go stale, and a refresh after `cacheMaxAge` runs in the
 *   background, so an identity-provider outage never blocks or fails requests whose key is already known;
 * - a failed fetch is not retried before `cooldownDuration` (jose's own cooldown counts only successes), so an
 *   outage plus unknown `kid`s cannot turn into one fetch per request;
 * - each key's `issuer` field, for Entra's signing-key issuer check.
 */
export class KeySet {
  readonly url: URL
  readonly #timing: KeySetTiming
  readonly #remote: ReturnType<typeof createRemoteJWKSet>
  #keys = new Map<string, VerificationKey>()
  #fetched = false
  #loadedAt = Number.NEGATIVE_INFINITY
  #failedAt = Number.NEGATIVE_INFINITY
  #refreshing: Promise<void> | null = null
  readonly #onRemoved: (removedKids: readonly string[]) => void

  /** `onRemoved` is called with the `kid`s that disappeared whenever a fetch replaces the keys. */
  constructor(url: URL, timing: KeySetTiming, onRemoved: (removedKids: readonly string[]) => void) {
    this.url = url
    this.#timing = timing
    this.#onRemoved = onRemoved
    this.#remote = createRemoteJWKSet(url, {
      timeoutDuration: timing.timeoutDuration,
      cooldownDuration: timing.cooldownDuration,
      cacheMaxAge: Number.POSITIVE_INFINITY,
      [customFetch]: async (input, init) => {
        const response = await fetch(input, init)
        // jose parses the body; once it has, #sync re-reads the set jose kept.
        if (response.status === 200) this.#fetched = true
        return response
      }
    })
  }

  /** True once keys have been loaded at least once; stays true while later refreshes fail. */
  get loaded(): boolean {
    return this.#loadedAt !== Number.NEGATIVE_INFINITY
  }

  /** Loads (or reloads) the keys now; concurrent calls share jose's single fetch in flight. */
  async load(): Promise<void> {
    try {
      await this.#remote.reload()
    } catch (cause) {
      this.#failedAt = this.#timing.clock()
      throw cause
    }
    this.#sync()
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
    if (now - this.#loadedAt >= this.#timing.cacheMaxAge) this.#refreshInBackground(now)
  }

  /**
   * The key for a `kid` the set does not have yet: jose refetches the set unless it did so within
   * `cooldownDuration`.
   *
   * @throws {@link NoMatchingKeyError} when the set, refetched or not, has no such key.
   * @throws {@link KeysUnavailableError} when the set cannot be fetched.
   */
  async refetchFor(kid: string, now: number): Promise<VerificationKey> {
    if (now - this.#failedAt < this.#timing.cooldownDuration) {
      // Unknown kid during an outage: we cannot tell a rotated key from a forged one, so this is the IdP's 503.
      throw new KeysUnavailableError(this.#retryAfterSeconds(now))
    }
    try {
      await this.#remote({ alg: 'RS256', kid }, undefined)
    } catch (error) {
      if (TOKEN_KEY_ERRORS.has((error as { code?: unknown }).code as string)) {
        throw new NoMatchingKeyError(`No usable key for this kid (${String((error as { code?: unknown }).code)})`)
      }
      this.#failedAt = now
      throw new KeysUnavailableError(this.#retryAfterSeconds(now), { cause: error })
    } finally {
      if (this.#fetched) this.#sync()
    }
    const key = this.#keys.get(kid)
    if (key === undefined) throw new NoMatchingKeyError('No usable key for this kid')
    return key
  }

  #retryAfterSeconds(now: number): number {
    return Math.max(1, (this.#failedAt + this.#timing.cooldownDuration - now) / 1000)
  }

  #refreshInBackground(now: number): void {
    if (this.#refreshing !== null || now - this.#failedAt < this.#timing.cooldownDuration) return
    this.#refreshing = this.load()
      .catch(() => { /* #failedAt is set by load(); the keys already loaded keep serving */ })
      .finally(() => { this.#refreshing = null })
  }

  #sync(): void {
    this.#fetched = false
    const jwks = this.#remote.jwks()
    if (jwks === undefined) return
    const next = new Map<string, VerificationKey>()
    const seen = new Set<string>()
    for (const jwk of jwks.keys) {
      const kid = jwk.kid
      if (typeof kid !== 'string') continue
      // Two keys under one kid are ambiguous: neither is used (jose refuses them likewise).
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
 * The JWK as an RS256 verification key, or null when it cannot serve as one. The same tests jose applies when
 * it selects a key: RSA, `use` absent or `sig`, `alg` absent or `RS256`, `key_ops` absent or with `verify`, and
 * a modulus of at least 2048 bits.
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
