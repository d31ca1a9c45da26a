// From raw measurements to the figures of the tables: medians over rounds, ratios, auth CPU, token-cache hit rates,
// and the targets (bench/targets.ts) checked against them.
import { CEILING_ID, FLOOR_SERVER_ID, SUBJECT_ID, SUBJECT_NOCACHE_ID, SUBJECT_OTEL_APP_ID, SUBJECT_OTEL_ID } from './catalog.js'
import type { ServerRole, ServerSpec } from './catalog.js'
import type { ColdStart } from './cold-start.js'
import type { FloorResult } from './crypto-floor.js'
import type { MemoryRun } from './memory.js'
import type { ServerScenarioResult } from './scenario.js'
import { TARGETS } from './targets.js'
import type { BenchTargets } from './targets.js'
import type { TelemetryScenarioResult } from './telemetry-comparison.js'

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
  /** The user-space part of {@link cpuMicrosPerRequest}. */
  readonly userMicrosPerRequest: number
  /**
   * User-space CPU per request over the bare server's of the same framework; `null` for the bare servers. Kernel
   * time is left out: a slower server's client sleeps more between responses, so each socket write pays for
   * waking it (a profile showed 8 µs a response at 20,000 req/s, 37-54 µs at 5,000-7,000), which is not
   * verification work and would count against whichever server is slower.
   */
  readonly authMicrosPerRequest: number | null
  readonly peakRssMiB: number
  /**
   * Token-cache lookups during the measured rounds: `null` for a server that reports no counters (peers, bare
   * servers), 0 for one whose cache is off.
   */
  readonly cacheLookups: number | null
  /** Hits over those lookups; `null` when there were none. */
  readonly cacheHitRate: number | null
  /** Token-cache entries and their estimated bytes at the end of the scenario; `null` as for the hit rate. */
  readonly cacheEntries: number | null
  readonly cacheEstimatedBytes: number | null
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

/** Builds a scenario's rows from its raw results; `specs` are the run's servers. */
export function summarizeScenario(results: readonly ServerScenarioResult[], specs: readonly ServerSpec[]): ScenarioSummary {
  const base = results.map((result) => {
    const spec = specs.find((s) => s.id === result.id)
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
      userMicrosPerRequest: sum(result.rounds.map((r) => r.userMicros)) / Math.max(ok, 1),
      p50Ms: median(result.rounds.map((r) => r.load.p50Ms)),
      p99Ms: median(result.rounds.map((r) => r.load.p99Ms)),
      peakRssMiB: result.peakRssBytes / MiB,
      ...cacheLookups(result),
      sanityPassed: result.sanity.passed,
      tokenCache: result.tokenCache
    }
  })
  const byId = new Map(base.map((b) => [b.spec.id, b]))
  const ceiling = median(byId.get(CEILING_ID)?.rates ?? [])
  const peers = base.filter((b) => b.spec.role === 'peer')
  const bestPeer = peers.reduce<(typeof base)[number] | undefined>((best, b) => (best === undefined || median(b.rates) > median(best.rates) ? b : best), undefined)
  const bestPeerRate = bestPeer === undefined ? Number.NaN : median(bestPeer.rates)
  const rows = base.map((b): ServerRow => {
    const reqPerSec = median(b.rates)
    const bare = byId.get(b.spec.bare)
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
      userMicrosPerRequest: b.userMicrosPerRequest,
      authMicrosPerRequest: b.spec.role === 'ceiling' || bare === undefined ? null : b.userMicrosPerRequest - bare.userMicrosPerRequest,
      peakRssMiB: b.peakRssMiB,
      cacheLookups: b.cacheLookups,
      cacheHitRate: b.cacheHitRate,
      cacheEntries: b.tokenCache?.entries ?? null,
      cacheEstimatedBytes: b.tokenCache?.estimatedBytes ?? null,
      ok: b.ok,
      non2xx: b.non2xx,
      errors: b.errors,
      sanityPassed: b.sanityPassed
    }
  })
  return { rows, bestPeerId: bestPeer?.spec.id ?? '' }
}

/**
 * Lookups and hits over lookups, summed over the measured rounds (not a median of per-round rates: rounds differ
 * in length).
 */
function cacheLookups(result: ServerScenarioResult): { cacheLookups: number | null, cacheHitRate: number | null } {
  const rounds = result.rounds.map((r) => r.cacheLookups)
  if (rounds.length === 0 || rounds.some((l) => l === null)) return { cacheLookups: null, cacheHitRate: null }
  const hits = sum(rounds.map((l) => l?.hits ?? 0))
  const lookups = hits + sum(rounds.map((l) => l?.misses ?? 0))
  return { cacheLookups: lookups, cacheHitRate: lookups === 0 ? null : hits / lookups }
}

/** Medians and worst counts over the cold starts of one server. */
export function summarizeColdStarts(spec: ServerSpec, runs: readonly ColdStart[]): ColdStartSummary {
  const { id, label } = spec
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
  /** The telemetry comparison's two scenarios (bench/telemetry-comparison.ts). */
  readonly telemetry: readonly TelemetryScenarioResult[]
  readonly floor: FloorResult
  readonly coldStarts: readonly ColdStartSummary[]
  /** Concurrent requests each cold server got. */
  readonly coldStartBurst: number
  readonly memory: { readonly tokens: number, readonly runs: readonly (MemoryRun & { readonly id: string })[] }
}, targets: BenchTargets = TARGETS): TargetCheck[] {
  const checks: TargetCheck[] = []
  const row = (s: ScenarioSummary, id: string): ServerRow | undefined => s.rows.find((r) => r.id === id && r.sanityPassed)
  const us = (n: number): string => `${n.toFixed(1)} µs`
  const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`
  const times = (n: number): string => (n === 1 ? '' : `${n} × `)
  const notMeasured = (target: string): TargetCheck => ({ target, measured: 'not measured', met: null })
  const { sameToken, distinctTokens, coldStart, telemetry } = targets

  const same = row(input.same, SUBJECT_ID)
  const sameAuth = `same token: auth CPU ≤ ${sameToken.maxAuthMicros} µs`
  checks.push(same === undefined || same.authMicrosPerRequest === null
    ? notMeasured(sameAuth)
    : { target: sameAuth, measured: us(same.authMicrosPerRequest), met: same.authMicrosPerRequest <= sameToken.maxAuthMicros })
  const sameRate = `same token: req/s ≥ ${sameToken.minRatioToCeiling.toFixed(2)} × bare Fastify`
  checks.push(same === undefined
    ? notMeasured(sameRate)
    : { target: sameRate, measured: `${same.ratioToCeiling.toFixed(2)} ×`, met: same.ratioToCeiling >= sameToken.minRatioToCeiling })

  const on = row(input.distinct, SUBJECT_ID)
  const off = row(input.distinct, SUBJECT_NOCACHE_ID)
  const { floor } = input
  const floorServer = row(input.distinct, FLOOR_SERVER_ID)
  const floorTarget = `distinct tokens, cache off: auth CPU ≤ ${distinctTokens.maxNoCacheFloorFactor} × floor (RS256 verify + payload decode, inside a server)`
  if (off?.authMicrosPerRequest == null || floorServer?.authMicrosPerRequest == null) {
    checks.push(notMeasured(floorTarget))
  } else {
    const floorBound = distinctTokens.maxNoCacheFloorFactor * floorServer.authMicrosPerRequest
    const tight = off.authMicrosPerRequest / floor.floorMicros
    checks.push({
      target: floorTarget,
      measured: `${us(off.authMicrosPerRequest)} vs ${us(floorBound)}: ${(off.authMicrosPerRequest / floorServer.authMicrosPerRequest).toFixed(2)} × the floor server's ${us(floorServer.authMicrosPerRequest)}` +
        ` (in a tight loop the floor is ${floor.nodeCryptoMicros.toFixed(1)} + ${floor.decodeMicros.toFixed(1)} = ${us(floor.floorMicros)}: ${tight.toFixed(2)} ×; the floor server itself ${(floorServer.authMicrosPerRequest / floor.floorMicros).toFixed(2)} ×)`,
      met: off.authMicrosPerRequest <= floorBound
    })
  }

  const authTarget = `distinct tokens: auth CPU, cache on ≤ ${times(distinctTokens.maxAuthOverNoCacheFactor)}cache off`
  checks.push(on?.authMicrosPerRequest == null || off?.authMicrosPerRequest == null
    ? notMeasured(authTarget)
    : {
        target: authTarget,
        measured: `${us(on.authMicrosPerRequest)} vs ${us(off.authMicrosPerRequest)}${hitNote(on)}`,
        met: on.authMicrosPerRequest <= distinctTokens.maxAuthOverNoCacheFactor * off.authMicrosPerRequest
      })
  const p99Target = `distinct tokens: p99, cache on ≤ ${times(distinctTokens.maxP99OverNoCacheFactor)}cache off`
  checks.push(on === undefined || off === undefined
    ? notMeasured(p99Target)
    : { target: p99Target, measured: `${on.p99Ms} ms vs ${off.p99Ms} ms`, met: on.p99Ms <= distinctTokens.maxP99OverNoCacheFactor * off.p99Ms })

  // The same memory bound twice: after the cycled tokens (which come back, so the cache fills up to its bound once
  // they do) and after the peak-RSS scenario's tokens, each sent once to a fresh server (which never enter the
  // cache, but are counted for its admission rule).
  const rssAllowance = distinctTokens.maxRssOverNoCacheFactor * distinctTokens.cacheMaxBytes
  const rssTarget = (what: string): string =>
    `${what}: peak RSS, cache on ≤ cache off + ${distinctTokens.maxRssOverNoCacheFactor} × ${mib(distinctTokens.cacheMaxBytes)} (the cache's default maxBytes)`
  const distinctRss = rssTarget('distinct tokens')
  if (on === undefined || off === undefined) {
    checks.push(notMeasured(distinctRss))
  } else {
    const onBytes = on.peakRssMiB * MiB
    const offBytes = off.peakRssMiB * MiB
    const held = on.cacheEntries === null || on.cacheEstimatedBytes === null
      ? ''
      : `; the cache held ${on.cacheEntries.toLocaleString('en-US')} ${on.cacheEntries === 1 ? 'entry' : 'entries'}, ${mib(on.cacheEstimatedBytes)} estimated`
    checks.push({ target: distinctRss, measured: `${mib(onBytes)} vs ${mib(offBytes + rssAllowance)}${held}`, met: onBytes <= offBytes + rssAllowance })
  }
  const memOn = input.memory.runs.find((r) => r.id === SUBJECT_ID)
  const memOff = input.memory.runs.find((r) => r.id === SUBJECT_NOCACHE_ID)
  const memoryRss = rssTarget(`${input.memory.tokens.toLocaleString('en-US')} distinct tokens, each once`)
  checks.push(memOn === undefined || memOff === undefined
    ? notMeasured(memoryRss)
    : {
        target: memoryRss,
        measured: `${mib(memOn.peakRssBytes)} vs ${mib(memOff.peakRssBytes + rssAllowance)}`,
        met: memOn.peakRssBytes <= memOff.peakRssBytes + rssAllowance && memOn.load.non2xx === 0 && memOff.load.non2xx === 0
      })

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

  for (const [name, id] of [['same token', 'telemetry-same-token'], ['distinct tokens', 'telemetry-distinct-tokens']] as const) {
    const pairs = input.telemetry.find((s) => s.id === id)?.pairs ?? []
    const pair = pairs.find((p) => p.id === SUBJECT_OTEL_ID && p.reference === SUBJECT_ID)
    // What the target's ratio is made of, when measured: OpenTelemetry without the plugin's telemetry, and the
    // plugin's telemetry against that (the target is on against off, whoever's cost it is).
    const alone = pairs.find((p) => p.id === SUBJECT_OTEL_APP_ID && p.reference === SUBJECT_ID)?.paired
    const share = pairs.find((p) => p.id === SUBJECT_OTEL_ID && p.reference === SUBJECT_OTEL_APP_ID)?.paired
    const madeOf = alone === undefined || share === undefined || alone.ratios.length === 0 || share.ratios.length === 0
      ? ''
      : `; OpenTelemetry alone ${alone.median.toFixed(2)} ×, the plugin's telemetry against it ${share.median.toFixed(2)} ×`
    const telemetryOff = pair === undefined ? undefined : row(pair.summary, SUBJECT_ID)
    const telemetryOn = pair === undefined ? undefined : row(pair.summary, SUBJECT_OTEL_ID)
    const paired = pair?.paired
    const target = `${name}, cache on: req/s with telemetry on ≥ ${telemetry.minRatioOnToOff.toFixed(2)} × off (issue 20; median of per-round ratios)`
    checks.push(telemetryOff === undefined || telemetryOn === undefined || paired === undefined || paired.ratios.length === 0
      ? notMeasured(target)
      : {
          target,
          measured: `${paired.median.toFixed(2)} × (rounds ${Math.min(...paired.ratios).toFixed(2)}-${Math.max(...paired.ratios).toFixed(2)}; ` +
            `${telemetryOn.reqPerSec.toFixed(0)} vs ${telemetryOff.reqPerSec.toFixed(0)} req/s; server CPU ${signed(paired.medianCpuDelta, 1)} µs per request${madeOf})`,
          met: paired.median >= telemetry.minRatioOnToOff
        })
  }
  return checks
}

/** `n` with its sign, `+1.2` or `-0.4`. */
export function signed(n: number, digits: number): string {
  const text = n.toFixed(digits)
  return n >= 0 && !text.startsWith('-') ? `+${text}` : text
}

/** " (hit rate 52.0%)" for a row whose cache made lookups; else nothing. */
function hitNote(row: ServerRow): string {
  return row.cacheHitRate === null ? '' : ` (hit rate ${formatHitRate(row)})`
}

/**
 * A row's hit rate as a percentage, with one decimal since near-100% rates differ in the decimals; "off" for a
 * cache that made no lookups, "-" for a server without one.
 */
export function formatHitRate(row: Pick<ServerRow, 'cacheLookups' | 'cacheHitRate'>): string {
  if (row.cacheLookups === null) return '-'
  if (row.cacheHitRate === null) return 'off'
  return `${(row.cacheHitRate * 100).toFixed(1)}%`
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0)
}
