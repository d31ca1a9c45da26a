// The telemetry comparison (issue 20): fastify-entra-id with telemetry off against on (OpenTelemetry's providers),
// and against on with @fastify/otel too, in the same-token and distinct-token scenarios; and what "on" is made of:
// an HTTP client alone, OpenTelemetry alone, and the plugin's telemetry against OpenTelemetry alone. With new
// tokens (the token cache off), the same question for a request that checks a signature. Each pair runs alone on
// the servers' core and is loaded at the same time, half the connections each: the two share the core, so whatever
// slows the machine at a given moment (this one drifts by ±30% between rounds of a few seconds) slows both, and
// their req/s ratio is the ratio of what a request costs each. Off against an identical off (the control) shows
// what the method cannot tell apart. The median of the per-round ratios is the figure.
import {
  SUBJECT_HTTP_CLIENT_ID, SUBJECT_ID, SUBJECT_NOCACHE_ID, SUBJECT_NOCACHE_OTEL_APP_ID, SUBJECT_NOCACHE_OTEL_ID, SUBJECT_OTEL_APP_ID, SUBJECT_OTEL_ID,
  SUBJECT_OTEL_STACK_ID
} from './catalog.js'
import type { ServerSpec } from './catalog.js'
import { applyLoad } from './load.js'
import type { LoadResult } from './load.js'
import { checkServer } from './sanity.js'
import type { SanityResult } from './sanity.js'
import type { RoundResult, ScenarioDefinition, ServerScenarioResult } from './scenario.js'
import { startServers } from './scenario.js'
import type { ServerProcess } from './server-process.js'
import type { BenchServerConfig } from './servers/harness.js'
import type { BenchSettings } from './settings.js'
import { median, summarizeScenario } from './summary.js'
import type { ScenarioSummary } from './summary.js'

/** The off server's identical twin, compared with it as a control. */
export const SUBJECT_TWIN_ID = `${SUBJECT_ID}-twin`

/** Two servers measured together: `other` priced against `reference`. */
export interface TelemetryPairing {
  /** The server the ratio is taken against. */
  readonly reference: string
  readonly other: string
}

/**
 * The pairs, in this order: the off server against its twin (the control), an HTTP client alone, OpenTelemetry
 * without the plugin's telemetry, the target's server, the stack; then the target's server against OpenTelemetry
 * without the plugin's telemetry, which prices the plugin's own share with the pair method's precision rather than
 * as the difference of two rows.
 */
export const TELEMETRY_PAIRINGS: readonly TelemetryPairing[] = [
  ...[SUBJECT_TWIN_ID, SUBJECT_HTTP_CLIENT_ID, SUBJECT_OTEL_APP_ID, SUBJECT_OTEL_ID, SUBJECT_OTEL_STACK_ID].map((other) => ({ reference: SUBJECT_ID, other })),
  { reference: SUBJECT_OTEL_APP_ID, other: SUBJECT_OTEL_ID }
]

/**
 * The pairs when every token is new, all with the token cache off: OpenTelemetry without the plugin's telemetry
 * and with it against none, then the plugin's share against OpenTelemetry alone. Information: the targets are
 * the token-cache scenarios'.
 */
export const NEW_TOKEN_PAIRINGS: readonly TelemetryPairing[] = [
  { reference: SUBJECT_NOCACHE_ID, other: SUBJECT_NOCACHE_OTEL_APP_ID },
  { reference: SUBJECT_NOCACHE_ID, other: SUBJECT_NOCACHE_OTEL_ID },
  { reference: SUBJECT_NOCACHE_OTEL_APP_ID, other: SUBJECT_NOCACHE_OTEL_ID }
]

/** A scenario of the comparison and the pairs it runs. */
export interface TelemetryScenario {
  readonly scenario: ScenarioDefinition
  readonly pairings: readonly TelemetryPairing[]
}

/** One server against its reference, round by round. */
export interface PairedRatio {
  /** Per round: the other server's req/s over the reference's, both loaded at once. */
  readonly ratios: readonly number[]
  /** The median of {@link ratios}: the figure the target is checked against. */
  readonly median: number
  /** Per round: the other server's CPU per 2xx response minus the reference's, in microseconds. */
  readonly cpuDeltas: readonly number[]
  readonly medianCpuDelta: number
  /**
   * Per round: the two servers' CPU time over the round's wall time, as a share of one core. Near 1, the core was
   * the limit and the req/s ratio is the cost ratio; well below, the load generator was, and the ratio leans to 1.
   */
  readonly coreBusy: readonly number[]
}

/** One server and its reference, measured together in one scenario. */
export interface TelemetryPair {
  /** The other server's id. */
  readonly id: string
  /** The reference's id: the server the ratio is taken against (see {@link TelemetryPairing}). */
  readonly reference: string
  /** Both servers' rows. */
  readonly summary: ScenarioSummary
  readonly raw: readonly ServerScenarioResult[]
  readonly paired: PairedRatio
}

/** The comparison in one scenario. */
export interface TelemetryScenarioResult {
  readonly id: ScenarioDefinition['id']
  readonly title: string
  readonly pairs: readonly TelemetryPair[]
}

/**
 * Runs each of `scenarios` (the main run's same-token and distinct-token ones, by their feeds, with
 * {@link TELEMETRY_PAIRINGS}; new tokens with {@link NEW_TOKEN_PAIRINGS}) for each of its pairs, just the two on
 * the servers' core, in {@link BenchSettings.telemetryPairs} fresh process pairs: each warmed up together for three
 * times the warm-up, then {@link BenchSettings.telemetryRounds} rounds of {@link BenchSettings.telemetrySeconds},
 * both loaded at once.
 */
export async function runTelemetryComparison(scenarios: readonly TelemetryScenario[], specs: readonly ServerSpec[], config: BenchServerConfig,
  settings: BenchSettings, core: number | null, log: (line: string) => void): Promise<TelemetryScenarioResult[]> {
  const off = specs.find((spec) => spec.id === SUBJECT_ID)
  const results: TelemetryScenarioResult[] = []
  const twin: ServerSpec | undefined = off === undefined ? undefined : { ...off, id: SUBJECT_TWIN_ID, label: `${off.label} (its twin: the control)`, file: off.file ?? off.id }
  const specOf = (id: string): ServerSpec | undefined => (id === SUBJECT_TWIN_ID ? twin : specs.find((spec) => spec.id === id))
  for (const { scenario, pairings } of scenarios) {
    const id = `telemetry-${scenario.id}` as ScenarioDefinition['id']
    const title = `Telemetry on vs off: ${scenario.title}`
    const pairs: TelemetryPair[] = []
    for (const { reference: referenceId, other: otherId } of pairings) {
      const reference = specOf(referenceId)
      const other = specOf(otherId)
      if (reference === undefined || other === undefined) continue
      const runs: ServerScenarioResult[][] = []
      for (let pair = 0; pair < settings.telemetryPairs; pair++) {
        log(`scenario: ${title}: ${referenceId} and ${otherId} at once (process pair ${pair + 1}/${settings.telemetryPairs})`)
        runs.push(await runTogether(scenario, [reference, other], config, settings, core, pair * settings.telemetryRounds, log))
      }
      const raw = [reference, other].map((spec) => mergeRuns(runs.map((run) => run.find((r) => r.id === spec.id)).filter((r) => r !== undefined)))
      pairs.push({
        id: otherId,
        reference: referenceId,
        summary: summarizeScenario(raw, [reference, other]),
        raw,
        paired: pairedRatio(raw, referenceId, otherId, settings.telemetrySeconds)
      })
    }
    results.push({ id, title, pairs })
  }
  return results
}

/** One server's results over several process pairs: every pair's rounds (numbered apart), the first pair's check and warm-up. */
function mergeRuns(runs: readonly ServerScenarioResult[]): ServerScenarioResult {
  const [first] = runs
  if (first === undefined) throw new Error('bench: a telemetry comparison ran no process pair')
  return { ...first, rounds: runs.flatMap((run) => run.rounds), peakRssBytes: Math.max(...runs.map((run) => run.peakRssBytes)) }
}

/**
 * Starts `specs`, checks each, then warms them up and measures them in rounds (numbered from `firstRound`), all of
 * them loaded at once.
 */
async function runTogether(scenario: ScenarioDefinition, specs: readonly ServerSpec[], config: BenchServerConfig, settings: BenchSettings,
  core: number | null, firstRound: number, log: (line: string) => void): Promise<ServerScenarioResult[]> {
  const servers = await startServers(specs, config, core)
  try {
    const feeds = servers.map(() => scenario.feed())
    const connections = Math.max(1, Math.floor(settings.connections / servers.length))
    const sanity: SanityResult[] = []
    for (const [i, server] of servers.entries()) sanity.push(await checkServer(server.spec, server.port, feeds[i]?.next() ?? ''))
    const all = (seconds: number): Promise<LoadResult[]> =>
      Promise.all(servers.map((server, i) => applyLoad(server.port, feeds[i] ?? scenario.feed(), { connections, durationSeconds: seconds })))
    const warmups = await all(3 * settings.warmupSeconds)
    const rounds: RoundResult[][] = servers.map(() => [])
    for (let round = 0; round < settings.telemetryRounds; round++) {
      const before = await Promise.all(servers.map((server) => server.usage()))
      const loads = await all(settings.telemetrySeconds)
      const after = await Promise.all(servers.map((server) => server.usage()))
      loads.forEach((load, i) => { rounds[i]?.push(roundOf(firstRound + round, load, before[i], after[i])) })
      log(`  round ${round + 1}/${settings.telemetryRounds} ${servers.map((server, i) => `${server.spec.id} ${(loads[i]?.reqPerSec ?? 0).toFixed(0)} req/s`).join(', ')}`)
    }
    const results: ServerScenarioResult[] = []
    for (const [i, server] of servers.entries()) {
      const { peakRssBytes, tokenCache } = await server.usage()
      results.push({ id: server.spec.id, sanity: sanity[i] as SanityResult, warmup: warmups[i] as LoadResult, rounds: rounds[i] ?? [], peakRssBytes, tokenCache })
    }
    return results
  } finally {
    await Promise.all(servers.map((server) => server.stop()))
  }
}

type Usage = Awaited<ReturnType<ServerProcess['usage']>>

function roundOf(round: number, load: LoadResult, before: Usage | undefined, after: Usage | undefined): RoundResult {
  const counters = before?.tokenCache == null || after?.tokenCache == null
    ? null
    : { hits: after.tokenCache.hits - before.tokenCache.hits, misses: after.tokenCache.misses - before.tokenCache.misses }
  return { round, load, cpuMicros: (after?.cpuMicros ?? 0) - (before?.cpuMicros ?? 0), userMicros: (after?.userMicros ?? 0) - (before?.userMicros ?? 0), cacheLookups: counters }
}

/** Server `otherId` against server `referenceId`, round by round (the rounds in which both answered). */
export function pairedRatio(raw: readonly ServerScenarioResult[], referenceId: string, otherId: string, roundSeconds: number): PairedRatio {
  const reference = raw.find((r) => r.id === referenceId)
  const other = raw.find((r) => r.id === otherId)
  const both = (other?.rounds ?? []).flatMap((round) => {
    const same = reference?.rounds.find((r) => r.round === round.round)
    return same === undefined || same.load.ok === 0 || round.load.ok === 0 ? [] : [{ other: round, reference: same }]
  })
  const ratios = both.map((b) => b.other.load.reqPerSec / b.reference.load.reqPerSec)
  const cpuDeltas = both.map((b) => b.other.cpuMicros / b.other.load.ok - b.reference.cpuMicros / b.reference.load.ok)
  // The load generator's own duration: it runs whole seconds (a quick run's 0.7 s is 1 s).
  const coreBusy = both.map((b) => (b.other.cpuMicros + b.reference.cpuMicros) / (Math.max(b.other.load.seconds, b.reference.load.seconds, roundSeconds) * 1e6))
  return { ratios, median: median(ratios), cpuDeltas, medianCpuDelta: median(cpuDeltas), coreBusy }
}
