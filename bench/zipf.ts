// The Zipf scenario's traffic: a fixed set of callers, each reusing its own token, with a skewed popularity (a
// few callers make most requests, a long tail calls rarely), as an API sees in production. The sequence is drawn
// once from a seeded generator, so every server, and every run, walks the same requests in the same order.

/** A precomputed sequence of callers and what it looks like. */
export interface ZipfSequence {
  /** Caller indices (0 is the most popular), in request order. */
  readonly picks: readonly number[]
  /** Callers that appear at least once. */
  readonly distinctCallers: number
  /** Share of the picks made by the most popular caller. */
  readonly topCallerShare: number
  /** Share of the picks made by the most popular tenth of the callers. */
  readonly topTenthShare: number
}

/**
 * mulberry32: a 32-bit seeded generator, uniform in [0, 1). Not cryptographic; chosen because it is tiny and
 * deterministic across Node versions (Math.random cannot be seeded).
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** `picks` draws among `callers` callers, caller k (0-based) with probability ∝ 1 / (k + 1)^exponent. */
export function zipfSequence(callers: number, picks: number, exponent: number, seed: number): ZipfSequence {
  if (!Number.isInteger(callers) || callers < 1) throw new Error('bench: the Zipf scenario needs at least one caller')
  // Cumulative weights; a draw is the first caller whose cumulative share exceeds a uniform number (binary search).
  const cumulative: number[] = []
  let total = 0
  for (let k = 1; k <= callers; k++) {
    total += 1 / k ** exponent
    cumulative.push(total)
  }
  const random = seededRandom(seed)
  const sequence: number[] = []
  const counts = new Array<number>(callers).fill(0)
  for (let i = 0; i < picks; i++) {
    const u = random() * total
    let low = 0
    let high = callers - 1
    while (low < high) {
      const mid = (low + high) >>> 1
      if ((cumulative[mid] as number) > u) high = mid
      else low = mid + 1
    }
    sequence.push(low)
    counts[low] = (counts[low] as number) + 1
  }
  const tenth = Math.max(1, Math.round(callers / 10))
  return {
    picks: sequence,
    distinctCallers: counts.filter((n) => n > 0).length,
    topCallerShare: (counts[0] ?? 0) / picks,
    topTenthShare: counts.slice(0, tenth).reduce((a, b) => a + b, 0) / picks
  }
}
