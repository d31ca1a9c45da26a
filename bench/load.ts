// The load generator: autocannon against one server's route, with the Authorization header of each request
// taken from a token feed, and every response counted by status.
import autocannon from 'autocannon'
import { ROUTE } from './servers/harness.js'

/** Tokens for successive requests: one token repeated, or a list cycled in order (which may repeat tokens, as the Zipf scenario's sequence does). */
export class TokenFeed {
  readonly #tokens: readonly string[]
  #next = 0

  /** A feed of `tokens` in order, starting over after the last. */
  constructor(tokens: readonly string[]) {
    if (tokens.length === 0) throw new Error('bench: a token feed needs at least one token')
    this.#tokens = tokens
  }

  /** How many tokens the feed cycles through (1: one token repeated). */
  get size(): number {
    return this.#tokens.length
  }

  /** The next token. */
  next(): string {
    const token = this.#tokens[this.#next] as string
    this.#next = (this.#next + 1) % this.#tokens.length
    return token
  }
}

/** What one load run saw. */
export interface LoadResult {
  /** 2xx responses. */
  readonly ok: number
  /** Responses of any other status: each one makes the run suspect. */
  readonly non2xx: number
  /** Connection errors and timeouts. */
  readonly errors: number
  readonly seconds: number
  /** 2xx responses per second. */
  readonly reqPerSec: number
  /** Latency percentiles, in milliseconds. */
  readonly p50Ms: number
  readonly p99Ms: number
}

/** How long or how much load to apply. */
export interface LoadOptions {
  readonly connections: number
  /** Run for this many seconds... */
  readonly durationSeconds?: number
  /** ...or until this many requests were answered. */
  readonly amount?: number
}

/**
 * Sends requests to the route of the server on `port`, `Authorization: Bearer` from `feed`. With a feed of one
 * token the request is built once; otherwise it is rebuilt per request (the same work for every server).
 */
export async function applyLoad(port: number, feed: TokenFeed, options: LoadOptions): Promise<LoadResult> {
  const base = {
    url: `http://127.0.0.1:${port}${ROUTE}`,
    connections: options.connections,
    pipelining: 1,
    ...(options.amount === undefined ? { duration: options.durationSeconds ?? 1 } : { amount: options.amount })
  }
  const result = await (feed.size === 1
    ? autocannon({ ...base, headers: { authorization: `Bearer ${feed.next()}` } })
    : autocannon({
        ...base,
        requests: [{
          method: 'GET',
          setupRequest: (request) => ({ ...request, headers: { authorization: `Bearer ${feed.next()}` } })
        }]
      }))
  const ok = result['2xx']
  return {
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    seconds: result.duration,
    reqPerSec: ok / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99
  }
}
