/** How long and how hard one `npm run bench` runs: the full run (default) or `--quick`. */
export interface BenchSettings {
  readonly mode: 'full' | 'quick'
  /** Rounds over all servers per scenario; servers are interleaved within a round so drift hits all. */
  readonly rounds: number
  /** Load before the first measured round of each server, in seconds (JIT, key fetches, caches). */
  readonly warmupSeconds: number
  /** One measured load run, in seconds. */
  readonly durationSeconds: number
  /**
   * Fresh process pairs of the telemetry comparison (bench/telemetry-comparison.ts) per comparison and scenario:
   * two processes of the same code differ by a few percent from one start to the next (how the JIT compiled
   * them), more than one pair's rounds differ, so each comparison starts several.
   */
  readonly telemetryPairs: number
  /** Rounds of the telemetry comparison per process pair: its ratio is the median of all pairs' per-round ratios. */
  readonly telemetryRounds: number
  /** One measured load run of the telemetry comparison (both servers of a pair loaded at once), in seconds. */
  readonly telemetrySeconds: number
  /** Connections of the load generator. */
  readonly connections: number
  /** Distinct valid tokens of the distinct-token scenario, cycled in order. */
  readonly distinctTokens: number
  /** Callers of the Zipf scenario, each with its own token (taken after the distinct-token scenario's). */
  readonly zipfCallers: number
  /** Zipf exponent s: the caller of popularity rank k makes a share of requests proportional to 1 / k^s. */
  readonly zipfExponent: number
  /** Length of the precomputed sequence of callers that every server walks in the same order (then again). */
  readonly zipfPicks: number
  /** Seed of the sequence's generator: the same seed, the same sequence, run after run. */
  readonly zipfSeed: number
  /** Distinct tokens sent once each in the peak-RSS scenario. */
  readonly memoryTokens: number
  /** Cold starts per server; the median time is reported. */
  readonly coldStartRepeats: number
  /** Concurrent requests fired at a cold server. */
  readonly coldStartBurst: number
  /** Signature checks timed for the `node:crypto` floor. */
  readonly floorVerifies: number
  /**
   * Fresh server processes for each scenario (else one set serves the scenarios in turn, which saves their boots;
   * a scenario marked `freshServers` gets its own all the same).
   */
  readonly freshServersPerScenario: boolean
}

const FULL: BenchSettings = {
  mode: 'full',
  rounds: 3,
  warmupSeconds: 2,
  durationSeconds: 4,
  telemetryPairs: 3,
  telemetryRounds: 4,
  telemetrySeconds: 3,
  connections: 50,
  distinctTokens: 10_000,
  zipfCallers: 2_000,
  zipfExponent: 1,
  zipfPicks: 100_000,
  zipfSeed: 10,
  memoryTokens: 100_000,
  coldStartRepeats: 3,
  coldStartBurst: 200,
  floorVerifies: 10_000,
  freshServersPerScenario: true
}

const QUICK: BenchSettings = {
  ...FULL,
  mode: 'quick',
  rounds: 1,
  warmupSeconds: 0.3,
  durationSeconds: 0.7,
  telemetryPairs: 2,
  telemetryRounds: 2,
  telemetrySeconds: 0.7,
  memoryTokens: 5_000,
  coldStartRepeats: 1,
  floorVerifies: 2_000,
  freshServersPerScenario: false
}

/** A command-line mistake: reported in one line, before anything starts. */
export class UsageError extends Error {}

/** What `npm run bench -- ...` asked for. */
export interface BenchArgs {
  readonly settings: BenchSettings
  /** The git revision given with `--baseline`, `null` without: the plugin build compared with this checkout's. */
  readonly baselineRev: string | null
}

/**
 * Reads the command line: `--quick` for the short run (else the full one), `--baseline <rev>` (or
 * `--baseline=<rev>`) to run the fastify-entra-id servers a second time on the plugin as it was at `<rev>`.
 */
export function argsOf(args: readonly string[]): BenchArgs {
  let quick = false
  let baselineRev: string | null = null
  const unknown: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    if (arg === '--quick') {
      quick = true
    } else if (arg === '--baseline' || arg.startsWith('--baseline=')) {
      const rev = arg === '--baseline' ? args[++i] : arg.slice('--baseline='.length)
      if (rev === undefined || rev === '' || rev.startsWith('--')) throw new UsageError('bench: --baseline needs a git revision, e.g. --baseline HEAD~1')
      if (baselineRev !== null) throw new UsageError('bench: --baseline given twice; one baseline per run')
      baselineRev = rev
    } else {
      unknown.push(arg)
    }
  }
  if (unknown.length > 0) throw new UsageError(`bench: unknown argument(s) ${unknown.join(' ')}; the options are --quick and --baseline <git-rev>`)
  return { settings: quick ? QUICK : FULL, baselineRev }
}
