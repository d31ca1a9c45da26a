/**
 * How often tokens that are not in the token cache have been verified: the counts its admission rule reads. Kept
 * in two typed arrays allocated once, by a 32-bit hash of the first 12 characters of the token's signature (72
 * random bits), so counting a request allocates nothing. A map of strings would allocate an index per new token
 * and keep it alive until cleared: under a stream of one-off tokens, enough surviving garbage to make V8 grow its
 * young generation by tens of MiB (measured by `npm run bench`, peak RSS with 100,000 distinct tokens).
 *
 * A slot holds one token's count; a token has a pair of slots, and takes over the one with the lower count when
 * both are taken, so counts age by themselves (the table has four slots for each of `capacity` tokens: 320 KiB
 * for the default 10,000), and a token may lose a count now and then, which only delays its admission. Two tokens share a count only when their 32-bit fingerprints are equal as well as their slots.
 */
export class VerificationCounts {
  readonly #fingerprints: Uint32Array
  readonly #counts: Uint8Array
  readonly #mask: number

  /** `capacity`: how many tokens the counts are meant for (the cache's `maxEntries`). */
  constructor(capacity: number) {
    let size = 1024
    while (size < 4 * capacity) size *= 2
    this.#fingerprints = new Uint32Array(size)
    this.#counts = new Uint8Array(size)
    this.#mask = size - 1
  }

  /** Counts one more verification of `token`, whose signature starts at `start`; returns its count (1 at first). */
  add(token: string, start: number): number {
    const hash = hashOf(token, start)
    const fingerprint = hash === 0 ? 1 : hash
    const slot = this.#slotOf(hash, fingerprint)
    if (this.#fingerprints[slot] !== fingerprint) {
      this.#fingerprints[slot] = fingerprint
      this.#counts[slot] = 1
      return 1
    }
    const count = Math.min((this.#counts[slot] as number) + 1, 255)
    this.#counts[slot] = count
    return count
  }

  /** Forgets `token`'s count: it entered the cache, which counts its uses from there. */
  forget(token: string, start: number): void {
    const hash = hashOf(token, start)
    const fingerprint = hash === 0 ? 1 : hash
    const slot = this.#slotOf(hash, fingerprint)
    if (this.#fingerprints[slot] === fingerprint) {
      this.#fingerprints[slot] = 0
      this.#counts[slot] = 0
    }
  }

  /**
   * The slot of a token: of the two slots of its pair, the one holding its fingerprint, else an empty one, else
   * the one with the lower count. With one slot per token, two tokens sharing it and used in turn would take it
   * from each other forever, and neither would ever count 2 (a seventh of the benchmark's 10,000 cycled tokens).
   */
  #slotOf(hash: number, fingerprint: number): number {
    const first = mix(hash) & this.#mask & ~1
    const second = first + 1
    if (this.#fingerprints[first] === fingerprint) return first
    if (this.#fingerprints[second] === fingerprint) return second
    if (this.#fingerprints[first] === 0) return first
    if (this.#fingerprints[second] === 0) return second
    return (this.#counts[first] as number) <= (this.#counts[second] as number) ? first : second
  }

  /** Forgets every count. */
  clear(): void {
    this.#fingerprints.fill(0)
    this.#counts.fill(0)
  }
}

/**
 * FNV-1a over the 12 characters of `token` from `start` (the first of its signature segment: 72 random bits, so
 * a 32-bit hash of them spreads well). Also the token cache's index.
 */
export function hashOf(token: string, start: number): number {
  const end = Math.min(start + 12, token.length)
  let hash = 0x811c9dc5
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ token.charCodeAt(i), 0x01000193)
  return hash >>> 0
}

/**
 * MurmurHash3's finalizer: spreads every bit of the hash into the low bits the slot is taken from. The hash
 * itself is the fingerprint (0, which marks an empty slot, becomes 1).
 */
export function mix(hash: number): number {
  let h = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}
