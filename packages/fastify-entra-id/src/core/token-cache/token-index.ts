import { mix } from './verification-counts.js'

const NONE = -1

/**
 * The token cache's index: its entries, numbered, chained by the 32-bit hash of their token (see hashOf) from
 * buckets, at most one entry per two buckets, in typed arrays made once. A lookup reads {@link next} and
 * {@link hashes} itself: walking a chain is the cache's innermost loop, so it costs array reads and no call.
 */
export class TokenIndex {
  /** Per entry: the next entry of its chain, or -1. */
  readonly next: Int32Array
  /** Per entry: the hash of its token. */
  readonly hashes: Uint32Array
  /** Per bucket: the first entry of its chain, or -1. */
  readonly #heads: Int32Array
  readonly #mask: number

  /** An index of entries `0` to `entries - 1`, empty. */
  constructor(entries: number) {
    let buckets = 16
    while (buckets < 2 * entries) buckets *= 2
    this.#heads = new Int32Array(buckets).fill(NONE)
    this.#mask = buckets - 1
    this.next = new Int32Array(entries)
    this.hashes = new Uint32Array(entries)
  }

  /** The first entry of the chain where the entry of a token hashed `tokenHash` would be, or -1. */
  first(tokenHash: number): number {
    return this.#heads[mix(tokenHash) & this.#mask] as number
  }

  /** Adds `entry`, for a token hashed `tokenHash`. */
  add(entry: number, tokenHash: number): void {
    const bucket = mix(tokenHash) & this.#mask
    this.hashes[entry] = tokenHash
    this.next[entry] = this.#heads[bucket] as number
    this.#heads[bucket] = entry
  }

  /** Takes `entry`, in the index, out of it. */
  remove(entry: number): void {
    const bucket = mix(this.hashes[entry] as number) & this.#mask
    if (this.#heads[bucket] === entry) {
      this.#heads[bucket] = this.next[entry] as number
    } else {
      let before = this.#heads[bucket] as number
      while (this.next[before] !== entry) before = this.next[before] as number
      this.next[before] = this.next[entry] as number
    }
  }

  /** Empties the index. */
  clear(): void {
    this.#heads.fill(NONE)
  }
}

/** Where the signature segment of `token` starts: its hash is taken from there (see hashOf). */
export function signatureStart(token: string): number {
  return token.lastIndexOf('.') + 1
}
