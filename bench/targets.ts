// The performance targets of issue 4, in one place: summary.ts checks a run against them and report.ts prints
// the verdicts. Change a target here, and only here.

/** The figures fastify-entra-id is held to; every bound is inclusive. */
export interface BenchTargets {
  /** The issue the targets come from, named in the report's heading. */
  readonly issue: number
  readonly sameToken: {
    /** Auth CPU per request with one token repeated, in microseconds (at most). */
    readonly maxAuthMicros: number
    /** req/s with one token repeated, as a share of bare Fastify's (at least). */
    readonly minRatioToCeiling: number
  }
  readonly distinctTokens: {
    /** Auth CPU per request with distinct tokens, in microseconds (at most). */
    readonly maxAuthMicros: number
    /** The lowest peer's auth CPU divided by ours (at least): ours ≤ theirs / this. */
    readonly minPeerAuthFactor: number
    /** Ours over the synchronous `node:crypto` RS256 check (at most): ours ≤ this × floor. */
    readonly maxFloorFactor: number
    /** req/s over the best peer's (at least). */
    readonly minRatioToBestPeer: number
  }
  readonly coldStart: {
    /** Requests per discovery document and per key set when a cold server gets its burst (at most). */
    readonly maxRequestsPerDocument: number
  }
  readonly memory: {
    /** Peak RSS above bare Fastify's after the memory scenario's distinct tokens, in MiB (at most). */
    readonly maxRssAboveCeilingMiB: number
  }
}

/** The targets every run is checked against. */
export const TARGETS: BenchTargets = {
  issue: 4,
  sameToken: { maxAuthMicros: 3, minRatioToCeiling: 0.9 },
  distinctTokens: { maxAuthMicros: 35, minPeerAuthFactor: 1.2, maxFloorFactor: 1.25, minRatioToBestPeer: 1.2 },
  coldStart: { maxRequestsPerDocument: 1 },
  memory: { maxRssAboveCeilingMiB: 40 }
}
