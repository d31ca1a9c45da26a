/**
 * The token cache's hot tier: values in use, kept as they are (with their token strings) so that a hit on one
 * costs a string comparison and allocates nothing, where a hit on a record costs a SHA-256 digest and a decode.
 * 256 slots, CLOCK eviction, bounded in bytes; slots are numbered, and so are the cache's entries they belong to.
 */

const NONE = -1

const SLOTS = 256
// A value enters the hot tier on a hit that came within this many lookups of the entry's previous use.
const WINDOW = 4 * SLOTS
// What a hot value costs beyond the characters of its token and of its record: the identity object, its sets
// and the claims object's own fields (`node --expose-gc --import tsx bench/entry-cost.ts`: 1,497 bytes retained
// per identity besides its token, for claims of 1,060 base64url characters; 600 beyond them leaves a margin).
const OVERHEAD_BYTES = 600

/** The hot tier's share of a cache of `maxBytes`: a sixteenth, 1 MiB at most. */
export function hotTierBudget(maxBytes: number): number {
  return Math.min(1 << 20, Math.floor(maxBytes / 16))
}

/** Values of a cache's entries `0` to `entries - 1`, at most 256 of them, within `budget` bytes. */
export class HotTier<V> {
  readonly #budget: number
  /** Per cache entry: its slot, or -1. */
  readonly #slotOf: Int32Array
  /** Per slot: its entry, or -1. */
  readonly #entry = new Int32Array(SLOTS).fill(NONE)
  readonly #tokens: (string | undefined)[] = new Array<string | undefined>(SLOTS).fill(undefined)
  readonly #values: (V | undefined)[] = new Array<V | undefined>(SLOTS).fill(undefined)
  readonly #bytesOf = new Uint32Array(SLOTS)
  readonly #referenced = new Uint8Array(SLOTS)
  #hand = 0
  #bytes = 0

  constructor(budget: number, entries: number) {
    this.#budget = budget
    this.#slotOf = new Int32Array(entries).fill(NONE)
  }

  /** Estimated memory of the values kept, in bytes. */
  get bytes(): number {
    return this.#bytes
  }

  /** The slot of `entry` when it holds the value of `token`, else -1. */
  slotOf(entry: number, token: string): number {
    const slot = this.#slotOf[entry] as number
    return slot !== NONE && this.#tokens[slot] === token ? slot : NONE
  }

  /** The value in `slot` (one {@link slotOf} found), marked as used since the hand last passed. */
  hit(slot: number): V | undefined {
    this.#referenced[slot] = 1
    // Set with the slot's token: a value, whatever V allows.
    return this.#values[slot]
  }

  /**
   * Keeps `value`, just decoded from `entry`'s record of `recordLength` characters, when its hit came within
   * 1,024 lookups (`sinceLastUse`) of the entry's previous use: a value in use.
   */
  offer(entry: number, token: string, value: V, recordLength: number, sinceLastUse: number): void {
    if (sinceLastUse <= WINDOW) this.#heat(entry, token, value, token.length + Math.ceil(recordLength * 4 / 3) + OVERHEAD_BYTES)
  }

  /** Lets go of `entry`'s value, if kept (the entry is dropped). */
  cool(entry: number): void {
    const slot = this.#slotOf[entry] as number
    if (slot !== NONE) this.#free(slot)
  }

  /** Lets go of every value. */
  clear(): void {
    for (let slot = 0; slot < SLOTS; slot++) if (this.#entry[slot] !== NONE) this.#free(slot)
    this.#slotOf.fill(NONE)
  }

  /** Keeps `value` for `entry`, evicting (CLOCK: a value hit since the hand last passed stays). */
  #heat(entry: number, token: string, value: V, bytes: number): void {
    if (bytes > this.#budget) return
    for (;;) {
      const slot = this.#hand
      this.#hand = (slot + 1) % SLOTS
      if (this.#entry[slot] !== NONE) {
        if (this.#referenced[slot] === 1) {
          this.#referenced[slot] = 0
          continue
        }
        this.#free(slot)
      }
      if (this.#bytes + bytes > this.#budget) continue
      this.#entry[slot] = entry
      this.#tokens[slot] = token
      this.#values[slot] = value
      this.#bytesOf[slot] = bytes
      this.#referenced[slot] = 0
      this.#slotOf[entry] = slot
      this.#bytes += bytes
      return
    }
  }

  #free(slot: number): void {
    this.#slotOf[this.#entry[slot] as number] = NONE
    this.#entry[slot] = NONE
    this.#tokens[slot] = undefined
    this.#values[slot] = undefined
    this.#bytes -= this.#bytesOf[slot] as number
    this.#referenced[slot] = 0
  }
}
