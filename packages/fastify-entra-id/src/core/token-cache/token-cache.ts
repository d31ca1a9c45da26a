import { hash } from 'node:crypto'
import { EntraConfigError } from '../../util/config-error.js'
import { VerificationCounts, hashOf, mix } from './verification-counts.js'
import { RecordStore } from './record-store.js'

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


/**
 * How a cached value is kept while it is not in use: as a string (for identities, the token version and the
 * claims' JSON), turned back into a value equal to the first on a later hit.
 */
export interface TokenCacheCodec<V> {
  /** The record of `value`: everything {@link decode} needs. */
  encode(value: V): string
  /** A value equal to the one `record` was made of. */
  decode(record: string): V
}

// The hot tier: values in use, kept as they are (with their token strings) so a hit on them costs a comparison.
const HOT_SLOTS = 256
// A value enters the hot tier on a hit that came within this many lookups of the entry's previous use.
const HOT_WINDOW = 4 * HOT_SLOTS
// What a hot value costs beyond the characters of its token and of its record: the identity object, its sets
// and the claims object's own fields (`node --expose-gc --import tsx bench/entry-cost.ts`: 1,497 bytes retained
// per identity besides its token, for claims of 1,060 base64url characters; 600 beyond them leaves a margin).
const HOT_OVERHEAD_BYTES = 600
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
 *   previous use (within {@link HOT_WINDOW} lookups) also keeps the value in the hot tier, 256 values with their
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
  // The index: chains of entries by hash, from buckets.
  readonly #buckets: Int32Array
  readonly #bucketMask: number
  readonly #chain: Int32Array
  readonly #hash: Uint32Array
  // Per entry: lifetime, use counts, key, record.
  readonly #until: Float64Array
  readonly #lastUse: Float64Array
  readonly #uses: Uint32Array
  readonly #usedIn: Uint32Array
  readonly #kid: Uint32Array
  readonly #firstChunk: Int32Array
  readonly #recordBytes: Uint32Array
  readonly #hotSlot: Int32Array
  // Least recently used first: a doubly linked list through the entries.
  readonly #older: Int32Array
  readonly #newer: Int32Array
  #oldest = NONE
  #newest = NONE
  readonly #freeEntries: Int32Array
  #freeEntryCount: number
  #size = 0
  // The records, each the SHA-256 digest of its token and its value's record (recordBytes: both).
  readonly #records: RecordStore
  // The hot tier.
  readonly #hotBudget: number
  readonly #hotEntry = new Int32Array(HOT_SLOTS).fill(NONE)
  readonly #hotTokens: (string | undefined)[] = new Array<string | undefined>(HOT_SLOTS).fill(undefined)
  readonly #hotValues: (V | undefined)[] = new Array<V | undefined>(HOT_SLOTS).fill(undefined)
  readonly #hotBytesOf = new Uint32Array(HOT_SLOTS)
  readonly #hotReferenced = new Uint8Array(HOT_SLOTS)
  #hand = 0
  #hotBytes = 0
  // Signing keys' IDs, numbered (entries keep the number).
  readonly #kidNumbers = new Map<string, number>()
  #hits = 0
  #misses = 0
  #lookups = 0

  constructor(options: ResolvedTokenCacheOptions, codec: TokenCacheCodec<V>) {
    this.#options = options
    this.#codec = codec
    this.#counts = new VerificationCounts(options.maxEntries)
    this.#hotBudget = Math.min(1 << 20, Math.floor(options.maxBytes / 16))
    this.#records = new RecordStore(options.maxBytes - this.#hotBudget)
    // Every entry takes a chunk at least.
    const capacity = Math.max(1, Math.min(options.maxEntries, this.#records.chunkLimit))
    this.#capacity = capacity
    let buckets = 16
    while (buckets < 2 * capacity) buckets *= 2
    this.#buckets = new Int32Array(buckets).fill(NONE)
    this.#bucketMask = buckets - 1
    this.#chain = new Int32Array(capacity)
    this.#hash = new Uint32Array(capacity)
    this.#until = new Float64Array(capacity)
    this.#lastUse = new Float64Array(capacity)
    this.#uses = new Uint32Array(capacity)
    this.#usedIn = new Uint32Array(capacity)
    this.#kid = new Uint32Array(capacity)
    this.#firstChunk = new Int32Array(capacity)
    this.#recordBytes = new Uint32Array(capacity)
    this.#hotSlot = new Int32Array(capacity).fill(NONE)
    this.#older = new Int32Array(capacity)
    this.#newer = new Int32Array(capacity)
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
    return this.#records.usedBytes + this.#hotBytes
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
    let digest: Buffer | undefined
    for (let entry = this.#buckets[mix(tokenHash) & this.#bucketMask] as number; entry !== NONE; entry = this.#chain[entry] as number) {
      if (this.#hash[entry] !== tokenHash) continue
      const slot = this.#hotSlot[entry] as number
      const hot = slot !== NONE && this.#hotTokens[slot] === token
      if (!hot) {
        digest ??= hash('sha256', token, 'buffer')
        if (!this.#records.matches(this.#firstChunk[entry] as number, digest)) continue
      }
      if (now >= (this.#until[entry] as number)) {
        this.#drop(entry)
        break
      }
      this.#touch(entry)
      const sinceLastUse = this.#lookups - (this.#lastUse[entry] as number)
      this.#lastUse[entry] = this.#lookups
      this.#uses[entry] = (this.#uses[entry] as number) + 1
      this.#hits++
      if (hot) {
        this.#hotReferenced[slot] = 1
        // Set with the slot's token: a value, whatever V allows.
        return this.#hotValues[slot]
      }
      const record = this.#records.read(this.#firstChunk[entry] as number, this.#recordBytes[entry] as number)
      const value = this.#codec.decode(record)
      if (sinceLastUse <= HOT_WINDOW) this.#heat(entry, token, value, token.length + Math.ceil(record.length * 4 / 3) + HOT_OVERHEAD_BYTES)
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
    for (let entry = this.#buckets[mix(tokenHash) & this.#bucketMask] as number; entry !== NONE; entry = this.#chain[entry] as number) {
      if (this.#hash[entry] === tokenHash && this.#records.matches(this.#firstChunk[entry] as number, digest)) {
        this.#drop(entry)
        break
      }
    }
    if (!this.#makeRoom(recordBytes, uses, now)) return
    this.#counts.forget(token, start)
    const entry = this.#freeEntries[--this.#freeEntryCount] as number
    this.#firstChunk[entry] = this.#records.commit(digest, recordBytes)
    this.#recordBytes[entry] = recordBytes
    this.#hash[entry] = tokenHash
    this.#until[entry] = until
    this.#lastUse[entry] = this.#lookups
    this.#uses[entry] = uses
    this.#usedIn[entry] = this.#epoch()
    this.#kid[entry] = this.#kidNumber(kid)
    const bucket = mix(tokenHash) & this.#bucketMask
    this.#chain[entry] = this.#buckets[bucket] as number
    this.#buckets[bucket] = entry
    this.#older[entry] = this.#newest
    this.#newer[entry] = NONE
    if (this.#newest === NONE) this.#oldest = entry
    else this.#newer[this.#newest] = entry
    this.#newest = entry
    this.#size++
  }

  /** Drops every entry verified with one of `kids`: keys that left the key set must not keep vouching. */
  deleteKids(kids: readonly string[]): void {
    const gone = new Set<number>()
    for (const kid of kids) {
      const number = this.#kidNumbers.get(kid)
      if (number !== undefined) gone.add(number)
    }
    for (let entry = this.#oldest; entry !== NONE;) {
      const next = this.#newer[entry] as number
      if (gone.has(this.#kid[entry] as number)) this.#drop(entry)
      entry = next
    }
  }

  /** Drops everything. */
  clear(): void {
    for (let slot = 0; slot < HOT_SLOTS; slot++) if (this.#hotEntry[slot] !== NONE) this.#cool(slot)
    this.#buckets.fill(NONE)
    this.#hotSlot.fill(NONE)
    this.#resetEntries()
    this.#counts.clear()
  }

  #resetEntries(): void {
    for (let i = 0; i < this.#capacity; i++) this.#freeEntries[i] = this.#capacity - 1 - i
    this.#freeEntryCount = this.#capacity
    this.#oldest = NONE
    this.#newest = NONE
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
      const oldest = this.#oldest
      if (oldest === NONE) return false
      if (now < (this.#until[oldest] as number) && (this.#usedIn[oldest] as number) >= idleBefore && (this.#uses[oldest] as number) >= uses) return false
      this.#drop(oldest)
    }
    return true
  }

  #epoch(): number {
    return Math.floor(this.#lookups / this.#options.maxEntries)
  }

  /** Makes `entry` the most recently used, and counts its use in this epoch. */
  #touch(entry: number): void {
    this.#usedIn[entry] = this.#epoch()
    if (entry === this.#newest) return
    this.#unlink(entry)
    this.#older[entry] = this.#newest
    this.#newer[entry] = NONE
    if (this.#newest === NONE) this.#oldest = entry
    else this.#newer[this.#newest] = entry
    this.#newest = entry
  }

  #unlink(entry: number): void {
    const older = this.#older[entry] as number
    const newer = this.#newer[entry] as number
    if (older === NONE) this.#oldest = newer
    else this.#newer[older] = newer
    if (newer === NONE) this.#newest = older
    else this.#older[newer] = older
  }

  #drop(entry: number): void {
    const slot = this.#hotSlot[entry] as number
    if (slot !== NONE) this.#cool(slot)
    this.#unlink(entry)
    const bucket = mix(this.#hash[entry] as number) & this.#bucketMask
    if (this.#buckets[bucket] === entry) {
      this.#buckets[bucket] = this.#chain[entry] as number
    } else {
      let before = this.#buckets[bucket] as number
      while (this.#chain[before] !== entry) before = this.#chain[before] as number
      this.#chain[before] = this.#chain[entry] as number
    }
    this.#records.release(this.#firstChunk[entry] as number, this.#recordBytes[entry] as number)
    this.#freeEntries[this.#freeEntryCount++] = entry
    this.#size--
  }

  /** Keeps `value` in the hot tier for `entry`, evicting (CLOCK: a value hit since the hand last passed stays). */
  #heat(entry: number, token: string, value: V, bytes: number): void {
    if (bytes > this.#hotBudget) return
    for (;;) {
      const slot = this.#hand
      this.#hand = (slot + 1) % HOT_SLOTS
      if (this.#hotEntry[slot] !== NONE) {
        if (this.#hotReferenced[slot] === 1) {
          this.#hotReferenced[slot] = 0
          continue
        }
        this.#cool(slot)
      }
      if (this.#hotBytes + bytes > this.#hotBudget) continue
      this.#hotEntry[slot] = entry
      this.#hotTokens[slot] = token
      this.#hotValues[slot] = value
      this.#hotBytesOf[slot] = bytes
      this.#hotReferenced[slot] = 0
      this.#hotSlot[entry] = slot
      this.#hotBytes += bytes
      return
    }
  }

  #cool(slot: number): void {
    this.#hotSlot[this.#hotEntry[slot] as number] = NONE
    this.#hotEntry[slot] = NONE
    this.#hotTokens[slot] = undefined
    this.#hotValues[slot] = undefined
    this.#hotBytes -= this.#hotBytesOf[slot] as number
    this.#hotReferenced[slot] = 0
  }

  #kidNumber(kid: string): number {
    let number = this.#kidNumbers.get(kid)
    if (number === undefined) {
      number = this.#kidNumbers.size
      this.#kidNumbers.set(kid, number)
    }
    return number
  }
}

function signatureStart(token: string): number {
  return token.lastIndexOf('.') + 1
}
