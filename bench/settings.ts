/** How long and how hard one `npm run bench` runs: the full run (default) or `--quick`. */
export interface BenchSettings {
  readonly mode: 'full' | 'quick'
  /** Rounds over all servers per scenario; servers are interleaved within a round so drift hits all. */
  readonly rounds: number
  /** Load before the first measured round of each server, in seconds (JIT, key fetches, caches). */
  readonly warmupSeconds: number
  /** One measured load run, in seconds. */
  readonly durationSeconds: number
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
  memoryTokens: 5_000,
  coldStartRepeats: 1,
  floorVerifies: 2_000,
  freshServersPerScenario: false
}

/** Reads the settings from the command line: `--quick` for the short run, nothing for the full one. */
export function settingsFromArgs(args: readonly string[]): BenchSettings {
  const unknown = args.filter((a) => a !== '--quick')
  if (unknown.length > 0) throw new Error(`bench: unknown argument(s) ${unknown.join(' ')}; the only option is --quick`)
  return args.includes('--quick') ? QUICK : FULL
}
