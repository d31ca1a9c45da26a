/**
 * Numbers for the IDs (`kid`) of the keys that signed cached tokens, given in order of first use: an entry keeps
 * its key's number in a typed array, where a string would be an object per entry.
 */
export class KidNumbers {
  readonly #numbers = new Map<string, number>()

  /** The number of `kid`, given now when it has none. */
  numberOf(kid: string): number {
    let number = this.#numbers.get(kid)
    if (number === undefined) {
      number = this.#numbers.size
      this.#numbers.set(kid, number)
    }
    return number
  }

  /** The numbers of those of `kids` that have one. */
  numbersOf(kids: readonly string[]): Set<number> {
    const numbers = new Set<number>()
    for (const kid of kids) {
      const number = this.#numbers.get(kid)
      if (number !== undefined) numbers.add(number)
    }
    return numbers
  }
}
