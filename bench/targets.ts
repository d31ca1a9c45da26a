// The performance targets of issues 10 and 20, in one place: summary.ts checks a run against them and report.ts
// prints the verdicts. Change a target here, and only here.
//
// Issue 10 replaces issue 4's distinct-token targets (an absolute auth CPU, factors over the peers and the best
// peer's p99, the cache-on server over the bare verify) and its peak-RSS target (a margin over bare Fastify): a
// new token is now held to the floor with the cache off, and the cache has to pay for itself, in CPU, latency and
// a memory bound, against the same plugin without it. The same-token and cold-start targets carry over. Issue 20
// adds what telemetry may cost: the plugin's server with OpenTelemetry's providers registered against the same
// server without them.

/** The figures fastify-entra-id is held to; every bound is inclusive. */
export interface BenchTargets {
  /** The issues the targets come from, named in the report's heading. */
  readonly issues: readonly number[]
  /** One token repeated, cache on (as shipped); from issue 4. */
  readonly sameToken: {
    /** Auth CPU per request, in microseconds (at most). */
    readonly maxAuthMicros: number
    /** req/s as a share of bare Fastify's (at least). */
    readonly minRatioToCeiling: number
  }
  /** The distinct-token scenario (and, for the memory bound, the peak-RSS scenario too). */
  readonly distinctTokens: {
    /**
     * Cache off: auth CPU per request over the same run's floor, RS256 verify + payload decode (at most):
     * off ≤ this × floor. The floor is the auth CPU of the reference server that does only that work per request
     * (bench/servers/fastify-floor.ts): the same work measured in a tight loop (crypto-floor.ts) costs about half
     * as much as inside any server, between the HTTP work, so the report shows that ratio too, as information.
     */
    readonly maxNoCacheFloorFactor: number
    /** Cache on: auth CPU per request over the cache-off server's (at most): on ≤ this × off. */
    readonly maxAuthOverNoCacheFactor: number
    /** Cache on: p99 latency over the cache-off server's (at most): on ≤ this × off. */
    readonly maxP99OverNoCacheFactor: number
    /** Cache on: peak RSS over the cache-off server's, as a multiple of the cache's byte bound (at most). */
    readonly maxRssOverNoCacheFactor: number
    /** The byte bound of the token cache the servers run with: the plugin's default `tokenCache.maxBytes`. */
    readonly cacheMaxBytes: number
  }
  /** From issue 4. */
  readonly coldStart: {
    /** Requests per discovery document and per key set when a cold server gets its burst (at most). */
    readonly maxRequestsPerDocument: number
  }
  /**
   * From issue 20: telemetry on (a MeterProvider and a TracerProvider registered, exporting over OTLP; no
   * instrumentation) against off (none registered), cache on, in the same-token and the distinct-token scenarios.
   */
  readonly telemetry: {
    /** req/s with telemetry on as a share of req/s with it off (at least), in each of the two scenarios. */
    readonly minRatioOnToOff: number
  }
}

/** The targets every run is checked against. */
export const TARGETS: BenchTargets = {
  issues: [10, 20],
  sameToken: { maxAuthMicros: 3, minRatioToCeiling: 0.9 },
  distinctTokens: {
    maxNoCacheFloorFactor: 1.25,
    maxAuthOverNoCacheFactor: 1,
    maxP99OverNoCacheFactor: 1,
    maxRssOverNoCacheFactor: 1.25,
    cacheMaxBytes: 16 * 1024 * 1024
  },
  coldStart: { maxRequestsPerDocument: 1 },
  telemetry: { minRatioOnToOff: 0.95 }
}
