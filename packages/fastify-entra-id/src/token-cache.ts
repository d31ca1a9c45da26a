import { EntraConfigError } from './errors.js'

/** Settings of the verified-token cache. */
export interface TokenCacheOptions {
  /** Most tokens kept. Default 10000. */
  maxEntries?: number | undefined
  /** Most memory the cached tokens and claims may take, estimated, in bytes. Default 16777216 (16 MiB). */
  maxBytes?: number | undefined
  /** Longest time one verification is reused, in milliseconds; never past the token's `exp`. Default 300000 (5 minutes). */
  maxAge?: number | undefined
}

/** The validated settings. */
export interface ResolvedTokenCacheOptions {
  readonly maxEntries: number
  readonly maxBytes: number
  readonly maxAge: number
}

/** Validates {@link TokenCacheOptions}; `false` turns the cache off. */
export function resolveTokenCacheOptions(value: TokenCacheOptions | false | undefined): ResolvedTokenCacheOptions | null {
  if (value === false) return null
  if (value !== undefined && (value === null || typeof value !== 'object')) {
    throw new EntraConfigError('tokenCache', 'must be false or an object { maxEntries, maxBytes, maxAge }')
  }
  const positive = (v: number | undefined, fallback: number, name: string): number => {
    if (v === undefined) return fallback
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
      throw new EntraConfigError(`tokenCache.${name}`, 'must be a positive integer')
    }
    return v
  }
  return {
    maxEntries: positive(value?.maxEntries, 10_000, 'maxEntries'),
    maxBytes: positive(value?.maxBytes, 16 * 1024 * 1024, 'maxBytes'),
    maxAge: positive(value?.maxAge, 300_000, 'maxAge')
  }
}

interface Entry<V> {
  readonly token: string
  readonly value: V
  readonly kid: string
  /** When the entry stops being served, in milliseconds: the earlier of `exp` (plus tolerance) and `maxAge`. */
  readonly until: number
  readonly bytes: number
}

// What one entry costs beyond its token: the Map slot, the entry, the identity object and its two sets.
const ENTRY_OVERHEAD_BYTES = 600

/**
 * Successful verifications of exact token strings, least recently used evicted first. Only the verifier writes
 * to it, after every rule passed; a token that differs in any character (its signature included) is not found,
 * so it is verified in full.
 *
 * - Indexed by the first 12 characters of the signature segment (72 random bits): every request's token is a new
 *   string whose hash V8 must compute, and 12 characters hash in a fraction of the 1.5-2 KB token's time. A hit
 *   still requires the stored token to equal the presented one, character for character.
 * - Admission on second sight: a token enters the cache the second time it is verified, so tokens used once
 *   (most of them, under load from many callers) neither evict tokens in use nor churn the heap. The first
 *   sight is remembered as just its 12-character index, in a set cleared when it outgrows `maxEntries`.
 */
export class TokenCache<V> {
  readonly #options: ResolvedTokenCacheOptions
  // A Map iterates in insertion order: re-inserting on every hit makes its first key the least recently used.
  // Keys are signature prefixes (see the class comment).
  readonly #entries = new Map<string, Entry<V>>()
  readonly #seenOnce = new Set<string>()
  #bytes = 0

  constructor(options: ResolvedTokenCacheOptions) {
    this.#options = options
  }

  /** Number of cached tokens. */
  get size(): number {
    return this.#entries.size
  }

  /** Estimated memory held, in bytes. */
  get bytes(): number {
    return this.#bytes
  }

  /** The cached value for `token`, unless absent or past its lifetime at `now` (then dropped). */
  get(token: string, now: number): V | undefined {
    const slot = indexOf(token)
    const entry = this.#entries.get(slot)
    if (entry === undefined || entry.token !== token) return undefined
    this.#entries.delete(slot)
    if (now >= entry.until) {
      this.#bytes -= entry.bytes
      return undefined
    }
    this.#entries.set(slot, entry)
    return entry.value
  }

  /**
   * Keeps `value` for `token` until `expiresAt` (milliseconds) or `maxAge` from `now`, whichever comes first.
   * `extraBytes` estimates the value's size (the claims).
   */
  set(token: string, value: V, kid: string, expiresAt: number, now: number, extraBytes: number): void {
    const until = Math.min(expiresAt, now + this.#options.maxAge)
    if (until <= now) return
    const bytes = token.length + extraBytes + ENTRY_OVERHEAD_BYTES
    if (bytes > this.#options.maxBytes) return
    const slot = indexOf(token)
    if (!this.#seenOnce.delete(slot)) {
      if (this.#seenOnce.size >= this.#options.maxEntries) this.#seenOnce.clear()
      this.#seenOnce.add(slot)
      return
    }
    const previous = this.#entries.get(slot)
    if (previous !== undefined) {
      this.#entries.delete(slot)
      this.#bytes -= previous.bytes
    }
    this.#entries.set(slot, { token, value, kid, until, bytes })
    this.#bytes += bytes
    while (this.#entries.size > this.#options.maxEntries || this.#bytes > this.#options.maxBytes) {
      const oldest = this.#entries.keys().next()
      if (oldest.done === true) break
      this.#drop(oldest.value)
    }
  }

  /** Drops every entry verified with one of `kids`: keys that left the key set must not keep vouching. */
  deleteKids(kids: readonly string[]): void {
    const gone = new Set(kids)
    for (const [slot, entry] of this.#entries) {
      if (gone.has(entry.kid)) this.#drop(slot)
    }
  }

  /** Drops everything. */
  clear(): void {
    this.#entries.clear()
    this.#seenOnce.clear()
    this.#bytes = 0
  }

  #drop(slot: string): void {
    const entry = this.#entries.get(slot)
    if (entry === undefined) return
    this.#entries.delete(slot)
    this.#bytes -= entry.bytes
  }
}

/**
 * The index of a token: the first 12 characters of its signature segment. V8 copies substrings this short
 * (longer ones are views that would keep the whole token alive in the first-sight set).
 */
function indexOf(token: string): string {
  const start = token.lastIndexOf('.') + 1
  return token.slice(start, start + 12)
}
