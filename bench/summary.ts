// From raw measurements to the figures of the table: medians over rounds, ratios, auth CPU, and the issue's
// targets (bench/targets.ts) checked against them.
import { CEILING_ID, SERVERS, SUBJECT_ID } from './catalog.js'
import type { ServerRole } from './catalog.js'
import type { ColdStart } from './cold-start.js'
import type { FloorResult } from './crypto-floor.js'
import type { MemoryRun } from './memory.js'
import type { ServerScenarioResult } from './scenario.js'
import { TARGETS } from './targets.js'
import type { BenchTargets } from './targets.js'

/** One row of a scenario's table. */
export interface ServerRow {
  readonly id: string
  readonly label: string
  readonly role: ServerRole
  /** 2xx responses per second: median over rounds, and the lowest and highest round. */
  readonly reqPerSec: number
  readonly reqPerSecMin: number
  readonly reqPerSecMax: number
  /** req/s over the ceiling's (bare Fastify). */
  readonly ratioToCeiling: number
  /** req/s over the best peer's (the peer with the most req/s in this scenario). */
  readonly ratioToBestPeer: number
  /** Latency percentiles in milliseconds, median over rounds. */
  readonly p50Ms: number
  readonly p99Ms: number
  /** Server CPU time per 2xx response over all rounds, in microseconds. */
  readonly cpuMicrosPerRequest: number
  /** CPU per request over the bare server of the same framework; `null` for the bare servers. */
  readonly authMicrosPerRequest: number | null
  readonly peakRssMiB: number
  /** Totals over the measured rounds. */
  readonly ok: number
  readonly non2xx: number
  readonly errors: number
  readonly sanityPassed: boolean
}

/** The scenario's table rows, in catalog order, and the best peer. */
export interface ScenarioSummary {
  readonly rows: readonly ServerRow[]
  readonly bestPeerId: string
}

/** Cold-start figures of one server over its repeats. */
export interface ColdStartSummary {
  readonly id: string
  readonly label: string
  /** Medians over repeats, in milliseconds. */
  readonly listenMs: number
  readonly firstOkMs: number | null
  readonly lastResponseMs: number
  readonly notOk: number
  /** Issuer requests per endpoint: the highest count over repeats. */
  readonly issuerRequests: Readonly<Record<string, number>>
  /** True when every repeat made the same issuer requests. */
  readonly countsStable: boolean
}

/** One of the targets with what this run measured. */
export interface TargetCheck {
  readonly target: string
  readonly measured: string
  /** `null` when the run could not tell (a server missing or failing its sanity check). */
  readonly met: boolean | null
}

const MiB = 1024 * 1024

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/** Builds a scenario's rows from its raw results. */
export function summarizeScenario(results: readonly ServerScenarioResult[]): ScenarioSummary {
  const base = results.map((result) => {
    const spec = SERVERS.find((s) => s.id === result.id)
    if (spec === undefined) throw new Error(`bench: unknown server ${result.id}`)
    const rates = result.rounds.map((r) => r.load.reqPerSec)
    const ok = sum(result.rounds.map((r) => r.load.ok))
    return {
      spec,
      rates,
      ok,
      non2xx: sum(result.rounds.map((r) => r.load.non2xx)),
      errors: sum(result.rounds.map((r) => r.load.errors)),
      cpuMicrosPerRequest: sum(result.rounds.map((r) => r.cpuMicros)) / Math.max(ok, 1),
      p50Ms: median(result.rounds.map((r) => r.load.p50Ms)),
      p99Ms: median(result.rounds.map((r) => r.load.p99Ms)),
      peakRssMiB: result.peakRssBytes / MiB,
      sanityPassed: result.sanity.passed
    }
  })
  const byId = new Map(base.map((b) => [b.spec.id, b]))
  const ceiling = median(byId.get(CEILING_ID)?.rates ?? [])
  const peers = base.filter((b) => b.spec.role === 'peer')
  const bestPeer = peers.reduce<(typeof base)[number] | undefined>((best, b) => (best === undefined || median(b.rates) > median(best.rates) ? b : best), undefined)
  const bestPeerRate = bestPeer === undefined ? Number.NaN : median(bestPeer.rates)
  const rows = base.map((b): ServerRow => {
    const reqPerSec = median(b.rates)
    const bare = byId.get(b.spec.baseline)
    return {
      id: b.spec.id,
      label: b.spec.label,
      role: b.spec.role,
      reqPerSec,
      reqPerSecMin: Math.min(...b.rates),
      reqPerSecMax: Math.max(...b.rates),
      ratioToCeiling: reqPerSec / ceiling,
      ratioToBestPeer: reqPerSec / bestPeerRate,
      p50Ms: b.p50Ms,
      p99Ms: b.p99Ms,
      cpuMicrosPerRequest: b.cpuMicrosPerRequest,
      authMicrosPerRequest: b.spec.role === 'ceiling' || bare === undefined ? null : b.cpuMicrosPerRequest - bare.cpuMicrosPerRequest,
      peakRssMiB: b.peakRssMiB,
      ok: b.ok,
      non2xx: b.non2xx,
      errors: b.errors,
      sanityPassed: b.sanityPassed
    }
  })
  return { rows, bestPeerId: bestPeer?.spec.id ?? '' }
}

/** Medians and worst counts over the cold starts of one server. */
export function summarizeColdStarts(id: string, runs: readonly ColdStart[]): ColdStartSummary {
  const label = SERVERS.find((s) => s.id === id)?.label ?? id
  const kinds = Object.keys(runs[0]?.issuerRequests ?? {})
  const firstOks = runs.map((r) => r.firstOkMs).filter((ms): ms is number => ms !== null)
  return {
    id,
    label,
    listenMs: median(runs.map((r) => r.listenMs)),
    firstOkMs: firstOks.length === 0 ? null : median(firstOks),
    lastResponseMs: median(runs.map((r) => r.lastResponseMs)),
    notOk: Math.max(...runs.map((r) => r.notOk)),
    issuerRequests: Object.fromEntries(kinds.map((k) => [k, Math.max(...runs.map((r) => r.issuerRequests[k as keyof ColdStart['issuerRequests']]))])),
    countsStable: runs.every((r) => JSON.stringify(r.issuerRequests) === JSON.stringify(runs[0]?.issuerRequests))
  }
}

/** What the run measured against the targets ({@link TARGETS}, bench/targets.ts). */
export function checkTargets(input: {
  readonly same: ScenarioSummary
  readonly distinct: ScenarioSummary
  readonly floor: FloorResult
  readonly coldStarts: readonly ColdStartSummary[]
  /** Concurrent requests each cold server got. */
  readonly coldStartBurst: number
  readonly memory: { readonly tokens: number, readonly runs: readonly (MemoryRun & { readonly id: string })[] }
}, targets: BenchTargets = TARGETS): TargetCheck[] {
  const checks: TargetCheck[] = []
  const subject = (s: ScenarioSummary): ServerRow | undefined => s.rows.find((r) => r.id === SUBJECT_ID && r.sanityPassed)
  const peers = (s: ScenarioSummary): ServerRow[] => s.rows.filter((r) => r.role === 'peer' && r.sanityPassed)
  const lowestPeerAuth = (s: ScenarioSummary): number => Math.min(...peers(s).map((r) => r.authMicrosPerRequest ?? Number.POSITIVE_INFINITY))
  const bestPeer = (s: ScenarioSummary): ServerRow | undefined => s.rows.find((r) => r.id === s.bestPeerId)
  const us = (n: number): string => `${n.toFixed(1)} µs`
  const notMeasured = (target: string): TargetCheck => ({ target, measured: 'not measured', met: null })
  const { sameToken, distinctTokens, coldStart, memory } = targets

  const same = subject(input.same)
  const sameAuth = `same token: auth CPU ≤ ${sameToken.maxAuthMicros} µs`
  checks.push(same === undefined || same.authMicrosPerRequest === null
    ? notMeasured(sameAuth)
    : { target: sameAuth, measured: us(same.authMicrosPerRequest), met: same.authMicrosPerRequest <= sameToken.maxAuthMicros })
  const sameRate = `same token: req/s ≥ ${sameToken.minRatioToCeiling.toFixed(2)} × bare Fastify`
  checks.push(same === undefined
    ? notMeasured(sameRate)
    : { target: sameRate, measured: `${same.ratioToCeiling.toFixed(2)} ×`, met: same.ratioToCeiling >= sameToken.minRatioToCeiling })

  const distinct = subject(input.distinct)
  const peerAuth = lowestPeerAuth(input.distinct)
  const floor = input.floor.nodeCryptoMicros
  const best = bestPeer(input.distinct)
  if (distinct === undefined || distinct.authMicrosPerRequest === null) {
    checks.push(notMeasured('distinct tokens: auth CPU targets'))
  } else {
    const auth = distinct.authMicrosPerRequest
    const peerBound = peerAuth / distinctTokens.minPeerAuthFactor
    const floorBound = distinctTokens.maxFloorFactor * floor
    checks.push({ target: `distinct tokens: auth CPU ≤ ${distinctTokens.maxAuthMicros} µs`, measured: us(auth), met: auth <= distinctTokens.maxAuthMicros })
    checks.push({ target: `distinct tokens: auth CPU ≤ lowest peer auth CPU / ${distinctTokens.minPeerAuthFactor}`, measured: `${us(auth)} vs ${us(peerBound)}`, met: auth <= peerBound })
    checks.push({ target: `distinct tokens: auth CPU ≤ ${distinctTokens.maxFloorFactor} × node:crypto floor`, measured: `${us(auth)} vs ${us(floorBound)} (floor ${us(floor)})`, met: auth <= floorBound })
  }
  const distinctRate = `distinct tokens: req/s ≥ ${distinctTokens.minRatioToBestPeer} × best peer`
  if (distinct === undefined || best === undefined) {
    checks.push(notMeasured(`${distinctRate}; p99 ≤ best peer`))
  } else {
    checks.push({ target: distinctRate, measured: `${distinct.ratioToBestPeer.toFixed(2)} × (${best.id})`, met: distinct.ratioToBestPeer >= distinctTokens.minRatioToBestPeer })
    checks.push({ target: 'distinct tokens: p99 ≤ best peer\'s p99', measured: `${distinct.p99Ms} ms vs ${best.p99Ms} ms`, met: distinct.p99Ms <= best.p99Ms })
  }

  const cold = input.coldStarts.find((c) => c.id === SUBJECT_ID)
  const perDocument = coldStart.maxRequestsPerDocument === 1 ? 'exactly one request' : `at most ${coldStart.maxRequestsPerDocument} requests`
  if (cold === undefined) {
    checks.push(notMeasured(`cold start: ${perDocument} per document and key set`))
  } else {
    const counts = Object.entries(cold.issuerRequests)
    checks.push({
      target: `cold start (${input.coldStartBurst} concurrent requests): ${perDocument} per discovery document and key set fetched`,
      measured: counts.map(([k, n]) => `${k} ${n}`).join(', '),
      met: counts.every(([, n]) => n <= coldStart.maxRequestsPerDocument) && counts.some(([, n]) => n >= 1) && cold.notOk === 0
    })
  }

  const memSubject = input.memory.runs.find((r) => r.id === SUBJECT_ID)
  const memBare = input.memory.runs.find((r) => r.id === CEILING_ID)
  const rssBound = `within ${memory.maxRssAboveCeilingMiB} MiB of bare Fastify`
  if (memSubject === undefined || memBare === undefined) {
    checks.push(notMeasured(`peak RSS ${rssBound}`))
  } else {
    const delta = (memSubject.peakRssBytes - memBare.peakRssBytes) / MiB
    checks.push({
      target: `peak RSS with ${input.memory.tokens.toLocaleString('en-US')} distinct tokens ${rssBound}`,
      measured: `+${delta.toFixed(1)} MiB`,
      met: delta <= memory.maxRssAboveCeilingMiB && memSubject.load.non2xx === 0
    })
  }
  return checks
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0)
}
