import { hash } from 'node:crypto'
import type { ResolvedTokenCacheOptions, TokenCacheStats } from './cache-options.js'
import { HotTier, hotTierBudget } from './hot-tier.js'
import { KidNumbers } from './kid-numbers.js'
import { RecencyList } from './recency-list.js'
import { RecordStore } from './record-store.js'
import { TokenIndex, signatureStart } from './token-index.js'
import { VerificationCounts, hashOf } from './verification-counts.js'
import { publishEviction } from '../diagnostics/channels.js'
import type { TokenCacheCodec } from './token-codec.js'

export type { TokenCacheCodec } from './token-codec.js'

const NONE = -1

/**
 * Successful verifications of exact token strings. Only the verifier writes to it, after every rule passed; a
 * token that differs in any character (its signature included) is not found, so it is verified in full.
 *
 * - Compact storage: an entry is a record in off-heap memory (the SHA-256 digest of its token, and its value as
 *   the codec encodes it: for an identity, the claims' JSON) and a few numbers in typed arrays made once, so
 *   the cache holds no JavaScript object per entry. Why: objects that survive garbage collections while the
 *   cache fills make V8 grow its young generation, and with Node's defaults that cost three times `maxBytes`
 *   of RSS on top of the entries (measured by `bench/cache-memory.ts`).
 * - A hit on a record checks the digest of the presented token (collision-resistant: no other token finds the
 *   entry), then decodes the value: a new value equal to the first. A hit that comes soon after the entry's
 *   previous use (within 1,024 lookups) also keeps the value in the hot tier (see HotTier), 256 values with their
 *   token strings (CLOCK eviction), whose hits cost one string comparison and allocate nothing.
 * - Indexed by a 32-bit hash of the first 12 characters of the signature segment (72 random bits): every
 *   request's token is a new string, and 12 characters hash in a fraction of the 1.5-2 KB token's time. A miss
 *   costs that hash and an array probe.
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
 * - `maxBytes` bounds the records' chunks plus the hot tier's estimate (at most a sixteenth of it, 1 MiB at
 *   most). The index is apart: about 70 bytes per `maxEntries` slot, in typed arrays made once.
 */
export class TokenCache<V> {
  readonly #options: ResolvedTokenCacheOptions
  readonly #codec: TokenCacheCodec<V>
  readonly #counts: VerificationCounts
  readonly #capacity: number
  readonly #index: TokenIndex
  // Per entry: lifetime, use counts, key, record.
  readonly #until: Float64Array
  readonly #lastUse: Float64Array
  readonly #uses: Uint32Array
  readonly #usedIn: Uint32Array
  readonly #kid: Uint32Array
  readonly #firstChunk: Int32Array
  readonly #recordBytes: Uint32Array
  readonly #recency: RecencyList
  readonly #freeEntries: Int32Array
  #freeEntryCount: number
  #size = 0
  // The records, each the SHA-256 digest of its token and its value's record (recordBytes: both).
  readonly #records: RecordStore
  readonly #hot: HotTier<V>
  readonly #kidNumbers = new KidNumbers()
  #hits = 0
  #misses = 0
  #lookups = 0

  constructor(options: ResolvedTokenCacheOptions, codec: TokenCacheCodec<V>) {
    this.#options = options
    this.#codec = codec
    this.#counts = new VerificationCounts(options.maxEntries)
    const hotBudget = hotTierBudget(options.maxBytes)
    this.#records = new RecordStore(options.maxBytes - hotBudget)
    // Every entry takes a chunk at least.
    const capacity = Math.max(1, Math.min(options.maxEntries, this.#records.chunkLimit))
    this.#capacity = capacity
    this.#index = new TokenIndex(capacity)
    this.#until = new Float64Array(capacity)
    this.#lastUse = new Float64Array(capacity)
    this.#uses = new Uint32Array(capacity)
    this.#usedIn = new Uint32Array(capacity)
    this.#kid = new Uint32Array(capacity)
    this.#firstChunk = new Int32Array(capacity)
    this.#recordBytes = new Uint32Array(capacity)
    this.#hot = new HotTier(hotBudget, capacity)
    this.#recency = new RecencyList(capacity)
    this.#freeEntries = new Int32Array(capacity)
    this.#freeEntryCount = 0
    this.#resetEntries()
  }

  /** Number of cached tokens. */
  get size(): number {
    return this.#size
  }

  /** Estimated memory held, in bytes: the records' chunks and the hot tier's values. */
  get bytes(): number {
    return this.#records.usedBytes + this.#hot.bytes
  }

  /** Entries, estimated bytes, hits and misses so far. */
  get stats(): TokenCacheStats {
    return { entries: this.#size, estimatedBytes: this.bytes, hits: this.#hits, misses: this.#misses }
  }

  /** The cached value for `token`, unless absent or past its lifetime at `now` (then dropped). */
  get(token: string, now: number): V | undefined {
    this.#lookups++
    const start = signatureStart(token)
    const tokenHash = hashOf(token, start)
    const { next, hashes } = this.#index
    let digest: Buffer | undefined
    for (let entry = this.#index.first(tokenHash); entry !== NONE; entry = next[entry] as number) {
      if (hashes[entry] !== tokenHash) continue
      const slot = this.#hot.slotOf(entry, token)
      if (slot === NONE) {
        digest ??= hash('sha256', token, 'buffer')
        if (!this.#records.matches(this.#firstChunk[entry] as number, digest)) continue
      }
      if (now >= (this.#until[entry] as number)) {
        this.#drop(entry)
        publishEviction('expired', 1)
        break
      }
      this.#touch(entry)
      const sinceLastUse = this.#lookups - (this.#lastUse[entry] as number)
      this.#lastUse[entry] = this.#lookups
      this.#uses[entry] = (this.#uses[entry] as number) + 1
      this.#hits++
      if (slot !== NONE) return this.#hot.hit(slot)
      const record = this.#records.read(this.#firstChunk[entry] as number, this.#recordBytes[entry] as number)
      const value = this.#codec.decode(record)
      this.#hot.offer(entry, token, value, record.length, sinceLastUse)
      return value
    }
    this.#misses++
    return undefined
  }

  /**
   * Counts a verification of `token` (signed with key `kid`), and keeps `value` for it (until `expiresAt`, in
   * milliseconds, or `maxAge` from `now`, whichever comes first) when the admission rule lets it in.
   */
  set(token: string, value: V, kid: string, expiresAt: number, now: number): void {
    const until = Math.min(expiresAt, now + this.#options.maxAge)
    if (until <= now) return
    const start = signatureStart(token)
    const uses = this.#counts.add(token, start)
    if (uses < 2) return
    const recordBytes = this.#records.stage(this.#codec.encode(value))
    if (this.#records.tooLarge(recordBytes)) return
    const digest = hash('sha256', token, 'buffer')
    // The same token verified twice at once (both waited for a key) must not take two entries.
    const tokenHash = hashOf(token, start)
    const { next, hashes } = this.#index
    for (let entry = this.#index.first(tokenHash); entry !== NONE; entry = next[entry] as number) {
      if (hashes[entry] === tokenHash && this.#records.matches(this.#firstChunk[entry] as number, digest)) {
        this.#drop(entry)
        break
      }
    }
    if (!this.#makeRoom(recordBytes, uses, now)) return
    this.#counts.forget(token, start)
    const entry = this.#freeEntries[--this.#freeEntryCount] as number
    this.#firstChunk[entry] = this.#records.commit(digest, recordBytes)
    this.#recordBytes[entry] = recordBytes
    this.#until[entry] = until
    this.#lastUse[entry] = this.#lookups
    this.#uses[entry] = uses
    this.#usedIn[entry] = this.#epoch()
    this.#kid[entry] = this.#kidNumbers.numberOf(kid)
    this.#index.add(entry, tokenHash)
    this.#recency.push(entry)
    this.#size++
  }

  /** Drops every entry verified with one of `kids`: keys that left the key set must not keep vouching. */
  deleteKids(kids: readonly string[]): void {
    const gone = this.#kidNumbers.numbersOf(kids)
    let dropped = 0
    for (let entry = this.#recency.oldest; entry !== NONE;) {
      const next = this.#recency.newerThan(entry)
      if (gone.has(this.#kid[entry] as number)) {
        this.#drop(entry)
        dropped++
      }
      entry = next
    }
    publishEviction('key-removed', dropped)
  }

  /** Drops everything. */
  clear(): void {
    this.#hot.clear()
    this.#index.clear()
    this.#resetEntries()
    this.#counts.clear()
  }

  #resetEntries(): void {
    for (let i = 0; i < this.#capacity; i++) this.#freeEntries[i] = this.#capacity - 1 - i
    this.#freeEntryCount = this.#capacity
    this.#recency.clear()
    this.#size = 0
    this.#records.reset()
  }

  /**
   * Evicts what a record of `recordBytes` needs, when a newcomer verified `uses` times may have that room: expired
   * and idle entries always go; a least recently used entry in use goes only for a newcomer used more often.
   */
  #makeRoom(recordBytes: number, uses: number, now: number): boolean {
    const idleBefore = this.#epoch() - 1
    while (this.#size >= this.#capacity || !this.#records.fits(recordBytes)) {
      const oldest = this.#recency.oldest
      if (oldest === NONE) return false
      const expired = now >= (this.#until[oldest] as number)
      if (!expired && (this.#usedIn[oldest] as number) >= idleBefore && (this.#uses[oldest] as number) >= uses) return false
      this.#drop(oldest)
      publishEviction(expired ? 'expired' : 'capacity', 1)
    }
    return true
  }

  #epoch(): number {
    return Math.floor(this.#lookups / this.#options.maxEntries)
  }

  /** Makes `entry` the most recently used, and counts its use in this epoch. */
  #touch(entry: number): void {
    this.#usedIn[entry] = this.#epoch()
    this.#recency.touch(entry)
  }

  #drop(entry: number): void {
    this.#hot.cool(entry)
    this.#recency.remove(entry)
    this.#index.remove(entry)
    this.#records.release(this.#firstChunk[entry] as number, this.#recordBytes[entry] as number)
    this.#freeEntries[this.#freeEntryCount++] = entry
    this.#size--
  }
}
