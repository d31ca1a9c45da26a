import { EntraConfigError } from './errors.js'
import { VerificationCounts } from './verification-counts.js'

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
  /** Verifications before it entered, plus hits since: how much it is worth keeping. */
  uses: number
  /** The lookup epoch of its last use (see TokenCache): an entry unused for a whole epoch is idle. */
  usedIn: number
}

/** What a cache has done since it was made, for metrics and the benchmark. */
export interface TokenCacheStats {
  /** Tokens cached now. */
  readonly entries: number
  /** Their estimated memory, in bytes (bounded by `maxBytes`). */
  readonly estimatedBytes: number
  /** Lookups answered from the cache. */
  readonly hits: number
  /** Lookups of tokens not cached (or no longer valid), which were then verified in full. */
  readonly misses: number
}

// What one entry costs beyond the characters of its token and of its claims' JSON: the entry and its Map slot,
// the index string, the identity object and its two sets, the claims object's own fields. Measured with
// `node --expose-gc --import tsx bench/entry-cost.ts` (Node 24, 10,000 Entra-shaped v2 tokens of 1,579
// characters, payloads of 1,060): 1,497 bytes retained per entry besides the token string, so 437 beyond the
// payload's characters; 600 leaves a margin for larger claims objects.
const ENTRY_OVERHEAD_BYTES = 600

/**
 * Successful verifications of exact token strings. Only the verifier writes to it, after every rule passed; a
 * token that differs in any character (its signature included) is not found, so it is verified in full.
 *
 * - Indexed by the first 12 characters of the signature segment (72 random bits): every request's token is a new
 *   string whose hash V8 must compute, and 12 characters hash in a fraction of the 1.5-2 KB token's time. A hit
 *   still requires the stored token to equal the presented one, character for character.
 * - Admission by frequency (TinyLFU's rule, with exact counts): a token is counted each time it is verified, and
 *   enters the cache from its second verification on, while there is room. Once the cache is full, it takes the
 *   place of the least recently used entry only if it was verified more often than that entry has been used
 *   (its verifications before it entered, plus its hits). So tokens used once never enter, and a stream of new
 *   tokens, even cycling through more tokens than fit, does not churn the cache: the entries keep serving their
 *   hits and the newcomers cost what they would cost without a cache. Counts of tokens not cached are kept in
 *   fixed typed arrays (see VerificationCounts), so counting allocates nothing.
 * - Idle entries give way: lookups are counted in epochs of `maxEntries`, and an entry not used for a whole
 *   epoch makes room for any newcomer whatever its past uses. Without this, a token used heavily and then
 *   dropped (its caller refreshed it) would keep out every new token until `maxAge`.
 */
export class TokenCache<V> {
  readonly #options: ResolvedTokenCacheOptions
  // A Map iterates in insertion order: re-inserting on every hit makes its first key the least recently used.
  // Keys are signature prefixes (see the class comment).
  readonly #entries = new Map<string, Entry<V>>()
  readonly #counts: VerificationCounts
  #bytes = 0
  #hits = 0
  #misses = 0
  #lookups = 0

  constructor(options: ResolvedTokenCacheOptions) {
    this.#options = options
    this.#counts = new VerificationCounts(options.maxEntries)
  }

  /** Number of cached tokens. */
  get size(): number {
    return this.#entries.size
  }

  /** Estimated memory held, in bytes. */
  get bytes(): number {
    return this.#bytes
  }

  /** Entries, estimated bytes, hits and misses so far. */
  get stats(): TokenCacheStats {
    return { entries: this.#entries.size, estimatedBytes: this.#bytes, hits: this.#hits, misses: this.#misses }
  }

  /** The cached value for `token`, unless absent or past its lifetime at `now` (then dropped). */
  get(token: string, now: number): V | undefined {
    this.#lookups++
    const slot = indexOf(token)
    const entry = this.#entries.get(slot)
    if (entry === undefined || entry.token !== token) {
      this.#misses++
      return undefined
    }
    this.#entries.delete(slot)
    if (now >= entry.until) {
      this.#bytes -= entry.bytes
      this.#misses++
      return undefined
    }
    this.#entries.set(slot, entry)
    entry.uses++
    entry.usedIn = this.#epoch()
    this.#hits++
    return entry.value
  }

  /**
   * Counts a verification of `token`, and keeps `value` for it (until `expiresAt`, in milliseconds, or `maxAge`
   * from `now`, whichever comes first) when the admission rule lets it in. `extraBytes` estimates the value's
   * size (the claims).
   */
  set(token: string, value: V, kid: string, expiresAt: number, now: number, extraBytes: number): void {
    const until = Math.min(expiresAt, now + this.#options.maxAge)
    if (until <= now) return
    const bytes = token.length + extraBytes + ENTRY_OVERHEAD_BYTES
    if (bytes > this.#options.maxBytes) return
    const start = signatureStart(token)
    const uses = this.#counts.add(token, start)
    if (uses < 2 || !this.#makeRoom(bytes, uses, now)) return
    this.#counts.forget(token, start)
    const slot = token.slice(start, start + 12)
    this.#drop(slot)
    this.#entries.set(slot, { token, value, kid, until, bytes, uses, usedIn: this.#epoch() })
    this.#bytes += bytes
  }

  /**
   * Evicts what an entry of `bytes` needs, when a newcomer verified `uses` times may have that room: expired
   * and idle entries always go; a least recently used entry in use goes only for a newcomer used more often.
   */
  #makeRoom(bytes: number, uses: number, now: number): boolean {
    const idleBefore = this.#epoch() - 1
    while (this.#entries.size >= this.#options.maxEntries || this.#bytes + bytes > this.#options.maxBytes) {
      const oldest = this.#entries.entries().next()
      if (oldest.done === true) return false
      const [slot, entry] = oldest.value
      if (now < entry.until && entry.usedIn >= idleBefore && entry.uses >= uses) return false
      this.#drop(slot)
    }
    return true
  }

  #epoch(): number {
    return Math.floor(this.#lookups / this.#options.maxEntries)
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
    this.#counts.clear()
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
 * (longer ones are views that would keep the whole token alive).
 */
function indexOf(token: string): string {
  const start = signatureStart(token)
  return token.slice(start, start + 12)
}

function signatureStart(token: string): number {
  return token.lastIndexOf('.') + 1
}
