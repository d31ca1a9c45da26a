// The telemetry comparison (issue 20): fastify-entra-id with telemetry off, on (OpenTelemetry's providers), and on
// with @fastify/otel too, alone on the servers' core, in the same-token and distinct-token scenarios. Off and on
// take adjacent turns in every round, so each round gives one ratio of the two measured a few seconds apart: the
// machine's drift between rounds (±30% here) falls out of each ratio, and the median over rounds is the figure.
import { SUBJECT_ID, SUBJECT_OTEL_ID, SUBJECT_OTEL_STACK_ID } from './catalog.js'
import type { ServerSpec } from './catalog.js'
import type { ScenarioDefinition, ServerScenarioResult } from './scenario.js'
import { runScenario } from './scenario.js'
import type { BenchServerConfig } from './servers/harness.js'
import type { BenchSettings } from './settings.js'
import { median, summarizeScenario } from './summary.js'
import type { ScenarioSummary } from './summary.js'

/** The servers of the comparison, in turn order: off, on (the target's), on with @fastify/otel (information). */
export const TELEMETRY_IDS: readonly string[] = [SUBJECT_ID, SUBJECT_OTEL_ID, SUBJECT_OTEL_STACK_ID]

/** One telemetry-on server against the off server, round by round. */
export interface PairedRatio {
  /** The telemetry-on server. */
  readonly id: string
  /** Per round: its req/s over the off server's in the same round. */
  readonly ratios: readonly number[]
  /** The median of {@link ratios}: the figure the target is checked against. */
  readonly median: number
  /** Per round: its server CPU per 2xx response minus the off server's, in microseconds. */
  readonly cpuDeltas: readonly number[]
  readonly medianCpuDelta: number
}

/** The comparison in one scenario. */
export interface TelemetryScenarioResult {
  readonly id: ScenarioDefinition['id']
  readonly title: string
  readonly summary: ScenarioSummary
  readonly raw: readonly ServerScenarioResult[]
  readonly paired: readonly PairedRatio[]
}

/**
 * Runs `scenarios` (the main run's same-token and distinct-token ones, by their feeds) on fresh processes of the
 * three servers, with {@link BenchSettings.telemetryRounds} rounds of {@link BenchSettings.telemetrySeconds} and
 * a quiet core before every turn.
 */
export async function runTelemetryComparison(scenarios: readonly ScenarioDefinition[], specs: readonly ServerSpec[], config: BenchServerConfig,
  settings: BenchSettings, core: number | null, log: (line: string) => void): Promise<TelemetryScenarioResult[]> {
  const servers = TELEMETRY_IDS.map((id) => specs.find((spec) => spec.id === id)).filter((spec) => spec !== undefined)
  const rounds = { ...settings, rounds: settings.telemetryRounds, durationSeconds: settings.telemetrySeconds }
  const results: TelemetryScenarioResult[] = []
  for (const scenario of scenarios) {
    const id = `telemetry-${scenario.id}` as ScenarioDefinition['id']
    const title = `Telemetry on vs off: ${scenario.title}`
    log(`scenario: ${title}`)
    const raw = await runScenario({ ...scenario, id, title, settle: true }, servers, config, rounds, core, log)
    results.push({ id, title, summary: summarizeScenario(raw, servers), raw, paired: pairedRatios(raw) })
  }
  return results
}

/** Each telemetry-on server against the off one, round by round (rounds that both ran). */
export function pairedRatios(raw: readonly ServerScenarioResult[]): PairedRatio[] {
  const off = raw.find((r) => r.id === SUBJECT_ID)
  if (off === undefined) return []
  return raw.filter((r) => r.id !== SUBJECT_ID).map((on) => {
    const both = on.rounds.flatMap((round) => {
      const twin = off.rounds.find((r) => r.round === round.round)
      return twin === undefined || twin.load.ok === 0 || round.load.ok === 0 ? [] : [{ on: round, off: twin }]
    })
    const ratios = both.map((b) => b.on.load.reqPerSec / b.off.load.reqPerSec)
    const cpuDeltas = both.map((b) => b.on.cpuMicros / b.on.load.ok - b.off.cpuMicros / b.off.load.ok)
    return { id: on.id, ratios, median: median(ratios), cpuDeltas, medianCpuDelta: median(cpuDeltas) }
  })
}
