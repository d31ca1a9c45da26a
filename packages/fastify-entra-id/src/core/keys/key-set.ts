import { KeyObject } from 'node:crypto'
import { createRemoteJWKSet, customFetch } from 'jose'
import type { RemoteJWKSet } from 'jose'
import { KeysUnavailableError } from '../errors/unavailable.js'
import { readBounded } from './discovery.js'
import type { OutboundFetch } from '../network/network-options.js'
import { millisecondsSince, publishKeySetEvent } from '../diagnostics/channels.js'

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
  /** Where the set is fetched through (the `network` option); default the global fetch. */
  readonly network?: { readonly fetch: OutboundFetch } | undefined
}

/** Entra's key sets are a few KiB; a set larger than this is refused rather than parsed. */
const MAX_KEY_SET_BYTES = 256 * 1024

/** Why a key set could not be loaded: its URL and what went wrong, jose's or fetch's error as `cause`. */
export class KeySetFetchError extends Error {
  override readonly name = 'KeySetFetchError'
  readonly code = 'ENTRA_KEY_SET_UNAVAILABLE'
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

/**
 * One JWKS URL. jose's `createRemoteJWKSet` owns fetching (one fetch in flight), the keys fetched, their
 * freshness (`cacheMaxAge`), the unknown-`kid` cooldown and key selection; it reads `Date.now`, and so does
 * everything here: one clock. This class adds only what jose lacks:
 * - a `node:crypto` KeyObject per `kid`, made once per fetch from the key jose selects for `{ alg: 'RS256', kid }`,
 *   so a request costs one Map lookup and a synchronous signature check;
 * - stale-while-revalidate: once jose's set is not `fresh`, a refresh runs in the background and the keys at hand
 *   keep serving, so an outage never blocks or fails a request whose key is known (jose would make it wait);
 * - a failed fetch is not retried before `cooldownDuration` (jose's `coolingDown` counts only successes), so an
 *   outage plus unknown `kid`s cannot become one fetch per request;
 * - each key's `issuer` field, for Entra's signing-key issuer check, and a size cap on the set (jose's
 *   `customFetch` hook: jose would parse whatever it is sent).
 *
 * jose is asked for keys only right after its set was (re)loaded, never to fetch on a request's behalf: so a
 * failed fetch (the identity provider's 503) is never mistaken for a key the set lacks (the token's 401).
 */
export class KeySet {
  readonly url: URL
  readonly #remote: RemoteJWKSet
  readonly #cooldownDuration: number
  readonly #onRemoved: (removedKids: readonly string[]) => void
  #keys: ReadonlyMap<string, VerificationKey> = new Map()
  #loaded = false
  #failedAt = Number.NEGATIVE_INFINITY
  #loading: Promise<void> | null = null

  /**
   * `onRemoved` is called with the `kid`s that disappeared (or changed key) whenever a fetch replaces the keys.
   * `source`, when given, answers instead of fetching `url` (keys given in the options: no network call).
   */
  constructor(url: URL, timing: KeySetTiming, onRemoved: (removedKids: readonly string[]) => void, source?: () => Promise<Response>) {
    this.url = url
    this.#cooldownDuration = timing.cooldownDuration
    this.#onRemoved = onRemoved
    this.#remote = createRemoteJWKSet(url, {
      timeoutDuration: timing.timeoutDuration,
      cooldownDuration: timing.cooldownDuration,
      cacheMaxAge: timing.cacheMaxAge,
      [customFetch]: source === undefined ? (input, init) => fetchBounded(input, init, timing.network?.fetch ?? fetch) : () => source()
    })
  }

  /** True once keys have been loaded at least once; stays true while later refreshes fail. */
  get loaded(): boolean {
    return this.#loaded
  }

  /**
   * Fetches the set now and replaces the keys; concurrent calls share one fetch.
   *
   * @throws {@link KeySetFetchError} naming the URL and the reason.
   */
  load(): Promise<void> {
    this.#loading ??= this.#fetch().finally(() => { this.#loading = null })
    return this.#loading
  }

  /** The key for `kid`, when the set has it now; also starts a background refresh when the set is stale. */
  cached(kid: string): VerificationKey | undefined {
    this.refreshIfStale()
    return this.#keys.get(kid)
  }

  /** Starts a background refresh once jose's set is past `cacheMaxAge` (and no fetch failed recently). */
  refreshIfStale(): void {
    if (!this.#loaded || this.#remote.fresh || this.#loading !== null || this.#inBackoff(Date.now())) return
    this.load().catch(() => { /* the keys already loaded keep serving; #failedAt holds the next retry back */ })
  }

  /**
   * The key for a `kid` the set does not have: the set is refetched unless it was within `cooldownDuration`
   * (a fetch in flight is joined).
   *
   * @throws {@link NoMatchingKeyError} when the set, refetched or not, has no usable key for `kid`.
   * @throws {@link KeysUnavailableError} when the set cannot be fetched.
   */
  async refetchFor(kid: string): Promise<VerificationKey> {
    const now = Date.now()
    if (this.#inBackoff(now)) {
      // Unknown kid during an outage: we cannot tell a rotated key from a forged one, so this is the IdP's 503.
      throw new KeysUnavailableError(this.#retryAfterSeconds(now))
    }
    if (this.#loading === null && this.#remote.coolingDown) {
      throw new NoMatchingKeyError('No usable key for this kid (the key set was fetched within cooldownDuration)')
    }
    try {
      await this.load()
    } catch (cause) {
      throw new KeysUnavailableError(this.#retryAfterSeconds(Date.now()), { cause })
    }
    const key = this.#keys.get(kid)
    if (key === undefined) throw new NoMatchingKeyError('No usable key for this kid')
    return key
  }

  #inBackoff(now: number): boolean {
    return now - this.#failedAt < this.#cooldownDuration
  }

  #retryAfterSeconds(now: number): number {
    return Math.max(1, (this.#failedAt + this.#cooldownDuration - now) / 1000)
  }

  async #fetch(): Promise<void> {
    const start = performance.now()
    try {
      await this.#remote.reload()
    } catch (cause) {
      this.#failedAt = Date.now()
      const error = cause instanceof KeySetFetchError
        ? cause
        : new KeySetFetchError(`Key set ${this.url.href} could not be loaded: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
      publishKeySetEvent(() => ({ url: this.url.href, outcome: 'failed', kids: [...this.#keys.keys()], removedKids: [], durationMs: millisecondsSince(start), error }))
      throw error
    }
    this.#failedAt = Number.NEGATIVE_INFINITY
    const next = await this.#selectKeys()
    const removed = [...this.#keys.values()]
      .filter((old) => next.get(old.kid)?.key.equals(old.key) !== true)
      .map((old) => old.kid)
    this.#keys = next
    this.#loaded = true
    if (removed.length > 0) this.#onRemoved(removed)
    publishKeySetEvent(() => ({ url: this.url.href, outcome: 'loaded', kids: [...next.keys()], removedKids: removed, durationMs: millisecondsSince(start) }))
  }

  /** A KeyObject for every `kid` of the set just loaded for which jose selects exactly one usable key. */
  async #selectKeys(): Promise<Map<string, VerificationKey>> {
    const next = new Map<string, VerificationKey>()
    const tried = new Set<string>()
    for (const jwk of this.#remote.jwks()?.keys ?? []) {
      const kid = jwk.kid
      if (typeof kid !== 'string' || tried.has(kid)) continue
      tried.add(kid)
      let selected: unknown
      try {
        // Just reloaded, so jose answers from the set it holds; it refuses two keys under one kid, a key for
        // encryption, one whose `alg` or `key_ops` forbid RS256 verification, and one that is not a public key.
        selected = await this.#remote({ alg: 'RS256', kid })
      } catch {
        continue
      }
      const issuer = (jwk as { issuer?: unknown }).issuer
      const key = toVerificationKey(kid, selected, typeof issuer === 'string' ? issuer : undefined)
      if (key !== null) next.set(kid, key)
    }
    return next
  }
}

/**
 * The key jose selected as a `node:crypto` KeyObject, or null when it is not an RSA public key of at least 2048
 * bits: jose checks the length when it verifies, and here `node:crypto` verifies.
 */
function toVerificationKey(kid: string, selected: unknown, issuer: string | undefined): VerificationKey | null {
  let key: KeyObject
  try {
    key = selected instanceof KeyObject ? selected : KeyObject.from(selected as Parameters<typeof KeyObject.from>[0])
  } catch {
    return null
  }
  const bits = key.asymmetricKeyDetails?.modulusLength
  if (key.type !== 'public' || key.asymmetricKeyType !== 'rsa' || bits === undefined || bits < 2048) return null
  return { kid, key, issuer }
}

/**
 * jose's fetch, with the answer refused unless it is a 200 of at most {@link MAX_KEY_SET_BYTES} (jose asks for
 * `redirect: 'manual'`, so a redirect is a refusal too, never followed).
 */
async function fetchBounded(url: string, init: RequestInit, send: OutboundFetch): Promise<Response> {
  const response = await send(url, init)
  if (response.status !== 200) {
    await response.body?.cancel()
    throw new KeySetFetchError(`Key set ${url} answered HTTP ${response.status}`)
  }
  const text = await readBounded(response, MAX_KEY_SET_BYTES)
  if (text === null) throw new KeySetFetchError(`Key set ${url} is larger than ${MAX_KEY_SET_BYTES} bytes`)
  return new Response(text, { status: 200, headers: { 'content-type': 'application/json' } })
}
