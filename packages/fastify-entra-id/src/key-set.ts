import { createRemoteJWKSet, customFetch } from 'jose'
import type { CryptoKey, FlattenedJWSInput, JWSHeaderParameters } from 'jose'
import { KeysUnavailableError } from './errors.js'

/** A key the verifier may use, as published in a JWKS. */
interface KeyInfo {
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
 * One JWKS URL, wrapped around jose's `createRemoteJWKSet`. jose fetches, caches and selects keys; this class
 * adds what a resource server needs on top:
 * - stale-while-revalidate: jose is told keys never go stale, and a refresh after `cacheMaxAge` runs in the
 *   background, so an identity-provider outage never blocks or fails requests whose key is already known;
 * - a failed fetch is not retried before `cooldownDuration` (jose's own cooldown only counts successes), so an
 *   outage plus unknown `kid`s cannot turn into one fetch per request;
 * - a `kid` → key-metadata map, for Entra's signing-key issuer check.
 */
export class KeySet {
  readonly url: URL
  readonly #timing: KeySetTiming
  readonly #remote: ReturnType<typeof createRemoteJWKSet>
  #keys = new Map<string, KeyInfo>()
  #fetched = false
  #loadedAt = Number.NEGATIVE_INFINITY
  #failedAt = Number.NEGATIVE_INFINITY
  #refreshing: Promise<void> | null = null
  #onChange: ((removedKids: readonly string[]) => void) | null = null

  constructor(url: URL, timing: KeySetTiming, fetchImpl: typeof fetch = fetch) {
    this.url = url
    this.#timing = timing
    this.#remote = createRemoteJWKSet(url, {
      timeoutDuration: timing.timeoutDuration,
      cooldownDuration: timing.cooldownDuration,
      cacheMaxAge: Number.POSITIVE_INFINITY,
      [customFetch]: async (input, init) => {
        const response = await fetchImpl(input, init)
        // The body is parsed by jose; after it returns we re-read the set it kept (see #sync).
        if (response.status === 200) this.#fetched = true
        return response
      }
    })
  }

  /** True once keys have been loaded at least once; stays true while later refreshes fail. */
  get loaded(): boolean {
    return this.#loadedAt !== Number.NEGATIVE_INFINITY
  }

  /** Called with the `kid`s that disappeared whenever a fetch replaces the keys. */
  onChange(listener: (removedKids: readonly string[]) => void): void {
    this.#onChange = listener
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

  /** Key metadata by `kid`, or undefined when the set does not publish that `kid`. */
  key(kid: string): KeyInfo | undefined {
    return this.#keys.get(kid)
  }

  /**
   * The key lookup given to jose's `jwtVerify`. Throws jose's "no matching key" for a `kid` the set does not
   * have (after at most one rate-limited refetch) and {@link KeysUnavailableError} when keys cannot be fetched.
   */
  readonly resolve = async (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> => {
    const now = this.#timing.clock()
    if (now - this.#loadedAt >= this.#timing.cacheMaxAge) this.#refreshInBackground(now)
    const kid = header.kid
    if (kid !== undefined && !this.#keys.has(kid) && now - this.#failedAt < this.#timing.cooldownDuration) {
      // Unknown kid during an outage: we cannot tell a rotated key from a forged one, so this is the IdP's 503.
      throw new KeysUnavailableError(this.retryAfterSeconds(now))
    }
    try {
      return await this.#remote(header, token)
    } catch (error) {
      if (TOKEN_KEY_ERRORS.has((error as { code?: unknown }).code as string)) throw error
      this.#failedAt = now
      throw new KeysUnavailableError(this.retryAfterSeconds(now), { cause: error })
    } finally {
      if (this.#fetched) this.#sync()
    }
  }

  /** Seconds until a fetch may be tried again. */
  retryAfterSeconds(now: number): number {
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
    const next = new Map<string, KeyInfo>()
    for (const jwk of jwks.keys) {
      if (typeof jwk.kid !== 'string') continue
      const issuer = (jwk as { issuer?: unknown }).issuer
      next.set(jwk.kid, { issuer: typeof issuer === 'string' ? issuer : undefined })
    }
    const removed = [...this.#keys.keys()].filter((kid) => !next.has(kid))
    this.#keys = next
    this.#loadedAt = this.#timing.clock()
    if (removed.length > 0) this.#onChange?.(removed)
  }
}
