// Taken when this module loads, before a test can mock timers (`mock.timers` of node:test): a wait's deadline
// passes in real time even while the test moves the code's timers by hand.
const { setTimeout: realSetTimeout, clearTimeout: realClearTimeout } = globalThis

/**
 * A wait on events, not on time: whatever changes the state a test waits for (a log line written, a chunk of a
 * child's output, a request answered) calls {@link Signal.notify}, and {@link Signal.until} re-checks its
 * predicate then, and only then. The timeout is a failure deadline, never the way the wait ends when it succeeds,
 * and it runs on real time, mocked timers or not.
 */
export class Signal {
  readonly #waiters = new Set<() => void>()

  /** Re-checks every waiting predicate. */
  notify(): void {
    for (const wake of [...this.#waiters]) wake()
  }

  /**
   * Resolves as soon as `predicate` holds (at once, or at a later {@link notify}); rejects with
   * `timed out waiting for <what>` if it does not within `timeoutMs`.
   */
  until(predicate: () => boolean, timeoutMs = 5000, what: string | (() => string) = `a condition (${String(timeoutMs)} ms)`): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      // A predicate that throws fails the wait with its error.
      const holds = (): boolean => {
        try {
          return predicate()
        } catch (error) {
          finish(error instanceof Error ? error : new Error(String(error)))
          return false
        }
      }
      const wake = (): void => { if (holds()) finish() }
      const timer = realSetTimeout(() => { finish(new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`)) }, timeoutMs)
      const finish = (error?: Error): void => {
        realClearTimeout(timer)
        this.#waiters.delete(wake)
        if (error === undefined) resolve()
        else reject(error)
      }
      this.#waiters.add(wake)
      wake()
    })
  }
}
