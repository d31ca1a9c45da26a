const NONE = -1

/**
 * The token cache's entries, numbered, from the least to the most recently used: a doubly linked list through
 * typed arrays made once, so keeping the order allocates nothing. -1 stands for no entry.
 */
export class RecencyList {
  readonly #older: Int32Array
  readonly #newer: Int32Array
  #oldest = NONE
  #newest = NONE

  /** A list for entries `0` to `entries - 1`, empty. */
  constructor(entries: number) {
    this.#older = new Int32Array(entries)
    this.#newer = new Int32Array(entries)
  }

  /** The least recently used entry, or -1 when the list is empty. */
  get oldest(): number {
    return this.#oldest
  }

  /** The entry used next after `entry`, or -1 for the most recently used. */
  newerThan(entry: number): number {
    return this.#newer[entry] as number
  }

  /** Adds `entry`, not in the list, as the most recently used. */
  push(entry: number): void {
    this.#older[entry] = this.#newest
    this.#newer[entry] = NONE
    if (this.#newest === NONE) this.#oldest = entry
    else this.#newer[this.#newest] = entry
    this.#newest = entry
  }

  /** Makes `entry`, in the list, the most recently used. */
  touch(entry: number): void {
    if (entry === this.#newest) return
    this.remove(entry)
    this.push(entry)
  }

  /** Takes `entry` out of the list. */
  remove(entry: number): void {
    const older = this.#older[entry] as number
    const newer = this.#newer[entry] as number
    if (older === NONE) this.#oldest = newer
    else this.#newer[older] = newer
    if (newer === NONE) this.#newest = older
    else this.#older[newer] = older
  }

  /** Empties the list. */
  clear(): void {
    this.#oldest = NONE
    this.#newest = NONE
  }
}
