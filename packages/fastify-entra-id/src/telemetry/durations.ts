// Verifications' durations on their way to the `entra_id.verification.duration` histogram, in batches.

import type { Attributes, Histogram } from '@opentelemetry/api'

/**
 * Durations per batch. Measured on a server that checks a new token on every request, a `Histogram.record` with
 * attributes cost 10-12 µs per call (the SDK turns the attributes into a key string on each call), where a loop of
 * them costs ~1.5 µs each: handed over in batches, the durations cost about what no record at all does. A batch is
 * 4 KiB, and there is one per attribute set that occurred (few: outcome, token version, caller type).
 */
const BATCH_CAPACITY = 512

/** One attribute set's durations, in seconds, not yet given to the histogram. */
export class DurationBatch {
  readonly values = new Float64Array(BATCH_CAPACITY)
  length = 0
  constructor(readonly attributes: Attributes) {}
}

/**
 * The batches of one histogram: found by the attribute set's key, or by a small index once given one (the
 * accepted verifications', so that the common case builds no key). A batch goes to the histogram when full and
 * on {@link flush}, which the metrics call before every collection and at close: no export misses a duration.
 */
export class DurationBatches {
  readonly #histogram: Histogram
  readonly #byKey = new Map<string, DurationBatch>()
  readonly #byIndex: Array<DurationBatch | undefined> = []

  constructor(histogram: Histogram) {
    this.#histogram = histogram
  }

  /** The batch {@link ofKey} made reachable at `index`, if any. */
  atIndex(index: number): DurationBatch | undefined {
    return this.#byIndex[index]
  }

  /** The batch of `key`, made with `attributes` the first time; from then on at `index` too, when given. */
  ofKey(key: string, attributes: Attributes, index: number | undefined): DurationBatch {
    let batch = this.#byKey.get(key)
    if (batch === undefined) {
      batch = new DurationBatch(attributes)
      this.#byKey.set(key, batch)
    }
    if (index !== undefined) this.#byIndex[index] = batch
    return batch
  }

  add(batch: DurationBatch, seconds: number): void {
    batch.values[batch.length++] = seconds
    if (batch.length === BATCH_CAPACITY) this.#give(batch)
  }

  /** Gives every waiting duration to the histogram. */
  flush(): void {
    for (const batch of this.#byKey.values()) this.#give(batch)
  }

  #give(batch: DurationBatch): void {
    const { values, attributes } = batch
    for (let i = 0; i < batch.length; i++) this.#histogram.record(values[i] as number, attributes)
    batch.length = 0
  }
}
