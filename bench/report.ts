// The results of one run as Markdown: what is printed, written to bench/results/ and, for a full run, to
// bench/RESULTS.md.
import type { BaselineCommit } from './baseline-build.js'
import {
  SUBJECT_HTTP_CLIENT_ID, SUBJECT_ID, SUBJECT_NOCACHE_ID, SUBJECT_NOCACHE_OTEL_APP_ID, SUBJECT_NOCACHE_OTEL_ID, SUBJECT_OTEL_APP_ID, SUBJECT_OTEL_ID,
  SUBJECT_OTEL_STACK_ID, baselineIdOf
} from './catalog.js'
import type { ColdStart } from './cold-start.js'
import type { FloorResult } from './crypto-floor.js'
import type { MemoryRun } from './memory.js'
import type { OtlpCounts } from './otlp-receiver.js'
import type { ScenarioDefinition, ServerScenarioResult } from './scenario.js'
import type { BenchSettings } from './settings.js'
import { formatHitRate, signed } from './summary.js'
import type { ColdStartSummary, ScenarioSummary, ServerRow, TargetCheck } from './summary.js'
import { TARGETS } from './targets.js'
import { SUBJECT_TWIN_ID } from './telemetry-comparison.js'
import type { TelemetryScenarioResult } from './telemetry-comparison.js'
import type { ZipfSequence } from './zipf.js'

/** Everything one run produced: written as JSON next to the Markdown. */
export interface BenchResults {
  readonly meta: {
    readonly startedAt: string
    readonly command: string
    readonly wallSeconds: number
    readonly node: string
    /** OpenSSL of that Node.js build: the floor's signature check is its work. */
    readonly openssl: string
    readonly cpuModel: string
    readonly cores: number
    /** Share of all cores busy during one second before the measurements (other processes), `null` off Linux. */
    readonly busyBeforeRun: number | null
    readonly pinning: string
    readonly commit: string
    /** Uncommitted changes in packages/fastify-entra-id when the run started (the bench measures the working tree). */
    readonly pluginWorkingTreeChanges: boolean
    /** The commit given with `--baseline`, whose plugin build ran beside this checkout's; `null` without. */
    readonly baseline: Pick<BaselineCommit, 'rev' | 'commit' | 'shortCommit'> | null
    readonly tokenChars: number
    readonly tokensMinted: number
    readonly mintSeconds: number
  }
  readonly settings: BenchSettings
  readonly floor: FloorResult
  /** The Zipf scenario's sequence: how it was drawn and how skewed it came out. */
  readonly zipf: Omit<ZipfSequence, 'picks'> & { readonly callers: number, readonly picks: number, readonly exponent: number, readonly seed: number }
  readonly scenarios: readonly {
    readonly id: ScenarioDefinition['id']
    readonly title: string
    readonly summary: ScenarioSummary
    readonly raw: readonly ServerScenarioResult[]
  }[]
  readonly coldStart: { readonly summaries: readonly ColdStartSummary[], readonly raw: Readonly<Record<string, readonly ColdStart[]>> }
  readonly memory: { readonly tokens: number, readonly runs: readonly (MemoryRun & { readonly id: string, readonly label: string })[] }
  /** The telemetry comparison: off, on and on with @fastify/otel, in the same-token and distinct-token scenarios. */
  readonly telemetry: readonly TelemetryScenarioResult[]
  /** What the loopback OTLP receiver got from the telemetry-on servers over the whole run. */
  readonly otlp: OtlpCounts
  readonly targets: readonly TargetCheck[]
}

const MiB = 1024 * 1024

/** Renders `results` as a Markdown document. */
export function renderMarkdown(results: BenchResults): string {
  const { meta, settings } = results
  const out: string[] = []
  out.push(`# fastify-entra-id benchmark (${settings.mode} run, ${meta.startedAt})`, '')
  out.push(`\`${meta.command}\` · Node ${meta.node} · ${meta.cores} × ${meta.cpuModel} · ${meta.pinning} · commit ${meta.commit}` +
    (meta.pluginWorkingTreeChanges ? ' (plugin working tree had uncommitted changes)' : '') +
    (meta.baseline === null ? '' : ` · compared with the baseline \`${meta.baseline.rev}\` = commit ${meta.baseline.shortCommit} (its plugin built from git, with this checkout's dependencies)`) +
    ` · wall time ${meta.wallSeconds.toFixed(0)} s`, '')
  if (meta.busyBeforeRun !== null && meta.busyBeforeRun > 0.1) {
    out.push(`> **Warning:** the machine was ${(meta.busyBeforeRun * 100).toFixed(0)}% busy with other processes just before the run; ` +
      'the figures are distorted. Re-run on a quiet machine.', '')
  }
  out.push(`RS256/2048 tokens of ${meta.tokenChars} characters, GET route returning a small JSON array, ${settings.connections} connections; ` +
    `${settings.rounds} round(s) of ${settings.durationSeconds} s per server and scenario after ${settings.warmupSeconds} s of warm-up, servers interleaved.`, '')

  const floor = results.floor
  // Printed under every table, so that auth CPU can be read against it where it stands.
  const floorLine = `Floor, this run: **${floor.floorMicros.toFixed(1)} µs** per new token = RS256 \`verify()\` ` +
    `${floor.nodeCryptoMicros.toFixed(1)} µs + payload decode ${floor.decodeMicros.toFixed(1)} µs ` +
    `(Node ${meta.node}, OpenSSL ${meta.openssl}, server core); ${TARGETS.distinctTokens.maxNoCacheFloorFactor} × floor = ` +
    `${(TARGETS.distinctTokens.maxNoCacheFloorFactor * floor.floorMicros).toFixed(1)} µs.`
  const scenario = (id: ScenarioDefinition['id']): BenchResults['scenarios'][number] | undefined => results.scenarios.find((s) => s.id === id)
  const same = scenario('same-token')
  const distinct = scenario('distinct-tokens')
  const zipf = scenario('zipf')
  if (same !== undefined && distinct !== undefined) {
    const find = (s: BenchResults['scenarios'][number] | undefined, id: string): ServerRow | undefined => s?.summary.rows.find((r) => r.id === id)
    const share = (r: ServerRow | undefined): string => r?.ratioToCeiling.toFixed(2) ?? '-'
    const auth = (r: ServerRow | undefined): string => (r?.authMicrosPerRequest == null ? '-' : r.authMicrosPerRequest.toFixed(1))
    out.push('## Summary', '')
    out.push('| server | req/s as a share of bare Fastify: distinct tokens | same token repeated | Zipf callers | ' +
      'auth CPU µs per request: distinct / same / Zipf | token cache hit rate: distinct / Zipf |')
    out.push('|---|---|---|---|---|---|')
    for (const row of distinct.summary.rows) {
      const other = find(same, row.id)
      const z = find(zipf, row.id)
      const authCell = row.authMicrosPerRequest === null
        ? '-'
        : `${auth(row)} / ${auth(other)} / ${auth(z)}${row.id.startsWith('express') ? ' (over bare Express)' : ''}`
      const hits = row.cacheLookups === null ? '-' : `${formatHitRate(row)} / ${z === undefined ? '-' : formatHitRate(z)}`
      const label = row.id === 'fastify-bare' ? `${row.label}; ${row.cpuMicrosPerRequest.toFixed(0)} µs CPU per request` : row.label
      out.push(`| ${label} | ${share(row)} | ${share(other)} | ${share(z)} | ${authCell} | ${hits} |`)
    }
    out.push('', floorLine, '')
  }
  out.push(...baselineComparison(results))
  out.push(...telemetryComparison(results))

  for (const s of results.scenarios) {
    out.push(`## ${s.title}`, '')
    if (s.id === 'zipf') {
      const z = results.zipf
      out.push(`${z.callers.toLocaleString('en-US')} callers, each with its own token, called with Zipf popularity (s = ${z.exponent}): ` +
        `a precomputed sequence of ${z.picks.toLocaleString('en-US')} calls (seed ${z.seed}) that every server walks from its start, ` +
        `in the same order, warm-up included. The most popular caller makes ${(z.topCallerShare * 100).toFixed(1)}% of the calls, ` +
        `the top tenth ${(z.topTenthShare * 100).toFixed(1)}%; ${z.distinctCallers.toLocaleString('en-US')} callers appear. ` +
        'Hit rate: token-cache hits over lookups during the measured rounds, from the server\'s own counters.', '')
    }
    out.push('| server | req/s (min-max) | × bare Fastify | × best peer | p50 / p99 ms | server CPU µs/req (user) | auth CPU µs/req | token cache hit rate | peak RSS MiB | non-2xx / errors |')
    out.push('|---|---|---|---|---|---|---|---|---|---|')
    for (const row of s.summary.rows) out.push(scenarioRow(row, s.summary.bestPeerId))
    out.push('', floorLine, '')
  }
  out.push('Best peer (¹): the peer with the most req/s in the scenario (fastify-entra-id with its cache off is not a peer). ' +
    'Server CPU: user + system time per 2xx response, user time in brackets. Auth CPU: user-space CPU per 2xx response ' +
    'minus the bare server\'s of the same framework (Fastify, or Express for the Express peer); kernel time is left out, ' +
    'as it grows for a slower server (each socket write wakes a client that waited longer) and is no verification work. Token cache hit rate: "-" for a server that reports no counters, "off" for one that made no lookups.', '')
  const cached = distinct?.summary.rows.find((r) => r.id === SUBJECT_ID)
  const cachedRaw = distinct?.raw.find((r) => r.id === SUBJECT_ID)
  if (cached?.cacheHitRate != null && cached.cacheHitRate < 0.01 && cachedRaw !== undefined) {
    // A short run (quick mode) sends each cycled token about once: a token must come back before the cache can
    // serve it, so the cache is not exercised at all, and the targets that compare cache on and off would mislead.
    const sent = [cachedRaw.warmup, ...cachedRaw.rounds.map((r) => r.load)].reduce((n, l) => n + l.ok + l.non2xx, 0)
    out.push(`> **Note:** in the distinct-token scenario the cache hit ${formatHitRate(cached)} of lookups: this run sent the ` +
      `${settings.distinctTokens.toLocaleString('en-US')} tokens ${(sent / settings.distinctTokens).toFixed(2)} times over (warm-up included), ` +
      'too few returns for the cache to serve any. There, the cache-on/cache-off comparisons and the memory bound say nothing ' +
      'about the cache; a full run sends each token several times.', '')
  }
  if (!settings.freshServersPerScenario) {
    out.push('One set of server processes served the same-token and distinct-token scenarios in turn: the second\'s peak RSS covers ' +
      'the first. The Zipf scenario got fresh processes, so that its hit rate owes nothing to what the cache kept from the others.', '')
  }

  out.push('## The floor: RS256 verify + payload decode (same run, server core)', '')
  out.push(`- \`node:crypto\` \`verify()\`, synchronous: **${floor.nodeCryptoMicros.toFixed(1)} µs** CPU per signature check (${floor.verifies.toLocaleString('en-US')} distinct tokens)`)
  out.push(`- payload decode (base64url decode of the payload segment, \`JSON.parse\`): **${floor.decodeMicros.toFixed(1)} µs** CPU per token`)
  out.push(`- the floor, their sum: **${floor.floorMicros.toFixed(1)} µs** per new token; header decode, claim checks and HTTP glue are not in it`)
  out.push(`- WebCrypto \`crypto.subtle.verify()\` with 50 in flight (what jose 6 calls): **${floor.webCryptoMicros.toFixed(1)} µs** CPU per check`, '')

  out.push(`## Cold start (${settings.coldStartBurst} concurrent requests as soon as the process listens; median of ${settings.coldStartRepeats})`, '')
  out.push('| server | spawn → listening ms | spawn → first authorized 200 ms | spawn → last response ms | non-200 | discovery v2 / v1 | JWKS v2 / v1 |')
  out.push('|---|---|---|---|---|---|---|')
  for (const c of results.coldStart.summaries) {
    const n = (k: string): number => c.issuerRequests[k] ?? 0
    out.push(`| ${c.label} | ${c.listenMs.toFixed(0)} | ${c.firstOkMs === null ? 'none' : c.firstOkMs.toFixed(0)} | ${c.lastResponseMs.toFixed(0)} | ${c.notOk} | ` +
      `${n('discovery-v2')} / ${n('discovery-v1')} | ${n('jwks-v2')} / ${n('jwks-v1')}${c.countsStable ? '' : ' (varied; highest shown)'} |`)
  }
  out.push('', 'The bare servers\' times are the cost of starting Node.js, tsx and the framework: the floor under the others.', '')

  out.push(`## Peak RSS with ${results.memory.tokens.toLocaleString('en-US')} distinct tokens, each sent once to a fresh server`, '')
  out.push('| server | peak RSS idle MiB | peak RSS after MiB | heap retained after GC MiB | req/s | non-2xx / errors |')
  out.push('|---|---|---|---|---|---|')
  for (const m of results.memory.runs) {
    out.push(`| ${m.label} | ${(m.idlePeakRssBytes / MiB).toFixed(1)} | ${(m.peakRssBytes / MiB).toFixed(1)} | ${(m.retainedHeapBytes / MiB).toFixed(1)} | ${m.load.reqPerSec.toFixed(0)} | ${m.load.non2xx} / ${m.load.errors} |`)
  }
  out.push('')

  out.push(`## Targets (issues ${TARGETS.issues.join(' and ')}, bench/targets.ts)`, '')
  out.push('| target | measured | met |', '|---|---|---|')
  for (const t of results.targets) out.push(`| ${t.target} | ${t.measured} | ${t.met === null ? '?' : t.met ? 'yes' : '**no**'} |`)
  out.push('')
  return out.join('\n')
}

/**
 * "This build vs baseline": each fastify-entra-id server beside its twin on the baseline build, scenario by
 * scenario and in the peak-RSS run. Nothing without `--baseline`.
 */
function baselineComparison(results: BenchResults): string[] {
  const base = results.meta.baseline
  if (base === null) return []
  const pairs = [{ id: SUBJECT_ID, cache: 'on' }, { id: SUBJECT_NOCACHE_ID, cache: 'off' }]
    .map((p) => ({ ...p, baseId: baselineIdOf(p.id, base) }))
  const out = [`## This build vs baseline ${base.rev} (${base.shortCommit})`, '']
  out.push('| scenario | token cache | req/s: this / baseline (ratio) | p99 ms: this / baseline | server CPU µs/req: this / baseline (Δ) | ' +
    'auth CPU µs/req: this / baseline (Δ) | peak RSS MiB: this / baseline (Δ) |')
  out.push('|---|---|---|---|---|---|---|')
  for (const s of results.scenarios) {
    for (const { id, cache, baseId } of pairs) {
      const now = s.summary.rows.find((r) => r.id === id)
      const then = s.summary.rows.find((r) => r.id === baseId)
      if (now === undefined || then === undefined) continue
      const sanity = now.sanityPassed && then.sanityPassed ? '' : ' ⚠ a sanity check failed'
      const auth = now.authMicrosPerRequest === null || then.authMicrosPerRequest === null
        ? '-'
        : `${now.authMicrosPerRequest.toFixed(1)} / ${then.authMicrosPerRequest.toFixed(1)} (${signed(now.authMicrosPerRequest - then.authMicrosPerRequest, 1)})`
      out.push(`| ${s.id}${sanity} | ${cache} | ${now.reqPerSec.toFixed(0)} / ${then.reqPerSec.toFixed(0)} (**${(now.reqPerSec / then.reqPerSec).toFixed(2)}**) | ` +
        `${now.p99Ms} / ${then.p99Ms} | ${now.cpuMicrosPerRequest.toFixed(1)} / ${then.cpuMicrosPerRequest.toFixed(1)} (${signed(now.cpuMicrosPerRequest - then.cpuMicrosPerRequest, 1)}) | ` +
        `${auth} | ${now.peakRssMiB.toFixed(1)} / ${then.peakRssMiB.toFixed(1)} (${signed(now.peakRssMiB - then.peakRssMiB, 1)}) |`)
    }
  }
  for (const { id, cache, baseId } of pairs) {
    const now = results.memory.runs.find((r) => r.id === id)
    const then = results.memory.runs.find((r) => r.id === baseId)
    if (now === undefined || then === undefined) continue
    const errors = now.load.non2xx + now.load.errors + then.load.non2xx + then.load.errors > 0 ? ' ⚠ non-2xx or errors' : ''
    // No req/s: a run of a fixed number of requests ends on the load generator's next one-second sample, so its
    // duration, and req/s with it, comes in whole seconds.
    out.push(`| peak RSS, ${results.memory.tokens.toLocaleString('en-US')} tokens each once${errors} | ${cache} | - | ` +
      `${now.load.p99Ms} / ${then.load.p99Ms} | - | - | ` +
      `${(now.peakRssBytes / MiB).toFixed(1)} / ${(then.peakRssBytes / MiB).toFixed(1)} (${signed((now.peakRssBytes - then.peakRssBytes) / MiB, 1)}) |`)
  }
  out.push('', `This build: commit ${results.meta.commit}${results.meta.pluginWorkingTreeChanges ? ' and the plugin\'s uncommitted changes' : ''}. ` +
    'Ratio: this build\'s req/s over the baseline\'s (above 1: faster); Δ: this build minus the baseline (below 0: less CPU or memory). ' +
    'Both builds ran in this run on the same core with the same tokens and dependencies, each baseline server taking its turn right after ' +
    'its twin in every round (the two swap places every other round): run-to-run drift on this machine (±30 %) cancels out, what is left is the noise of one comparison, which ' +
    '`--baseline HEAD` (the same code on both sides) shows. Peak RSS: at the end of the scenario (or of the peak-RSS run).', '')
  return out
}

/**
 * "Telemetry on vs off": fastify-entra-id with OpenTelemetry's providers registered (and with @fastify/otel too)
 * beside the same server without them (bench/telemetry-comparison.ts), and what the loopback OTLP receiver got.
 */
function telemetryComparison(results: BenchResults): string[] {
  const variants = [
    { id: SUBJECT_TWIN_ID, reference: SUBJECT_ID, what: 'nothing: off against its twin (the control)' },
    { id: SUBJECT_HTTP_CLIENT_ID, reference: SUBJECT_ID, what: 'no provider; a node:http client posting every 5 s, as the exporter does (information)' },
    { id: SUBJECT_OTEL_APP_ID, reference: SUBJECT_ID, what: 'providers exporting an application metric, the plugin\'s telemetry off (information)' },
    { id: SUBJECT_OTEL_ID, reference: SUBJECT_ID, what: 'providers (target)' },
    { id: SUBJECT_OTEL_ID, reference: SUBJECT_OTEL_APP_ID, what: 'providers, against the providers with the plugin\'s telemetry off: the plugin\'s own share (information)' },
    { id: SUBJECT_OTEL_STACK_ID, reference: SUBJECT_ID, what: 'providers + @fastify/otel (information)' },
    { id: SUBJECT_NOCACHE_OTEL_APP_ID, reference: SUBJECT_NOCACHE_ID, what: 'providers exporting an application metric, the plugin\'s telemetry off (information)' },
    { id: SUBJECT_NOCACHE_OTEL_ID, reference: SUBJECT_NOCACHE_ID, what: 'providers (information)' },
    { id: SUBJECT_NOCACHE_OTEL_ID, reference: SUBJECT_NOCACHE_OTEL_APP_ID, what: 'providers, against the providers with the plugin\'s telemetry off: the plugin\'s own share (information)' }
  ]
  const rows: string[] = []
  for (const s of results.telemetry) {
    for (const { id, reference, what } of variants) {
      const pair = s.pairs.find((p) => p.id === id && p.reference === reference)
      const off = pair?.summary.rows.find((r) => r.id === reference)
      const on = pair?.summary.rows.find((r) => r.id === id)
      if (pair === undefined || off === undefined || on === undefined || pair.paired.ratios.length === 0) continue
      const { paired } = pair
      const sanity = on.sanityPassed && off.sanityPassed ? '' : ' ⚠ a sanity check failed'
      const busy = `${(Math.min(...paired.coreBusy) * 100).toFixed(0)}-${(Math.max(...paired.coreBusy) * 100).toFixed(0)}%`
      rows.push(`| ${s.id.replace(/^telemetry-/, '')}${sanity} | ${what} | **${paired.median.toFixed(2)}** (${Math.min(...paired.ratios).toFixed(2)}-${Math.max(...paired.ratios).toFixed(2)}, ${paired.ratios.length} rounds) | ${busy} | ` +
        `${on.reqPerSec.toFixed(0)} / ${off.reqPerSec.toFixed(0)} | ${on.p99Ms} / ${off.p99Ms} | ` +
        `${on.cpuMicrosPerRequest.toFixed(1)} / ${off.cpuMicrosPerRequest.toFixed(1)} (${signed(paired.medianCpuDelta, 1)}) | ` +
        `${formatHitRate(on)} / ${formatHitRate(off)} | ${on.peakRssMiB.toFixed(1)} / ${off.peakRssMiB.toFixed(1)} (${signed(on.peakRssMiB - off.peakRssMiB, 1)}) |`)
    }
  }
  if (rows.length === 0) return []
  const kB = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`
  const none = { requests: 0, bytes: 0 }
  const received = [...new Set(variants.map(({ id }) => id))].map((id) => {
    const { metrics, traces } = results.otlp[id] ?? { metrics: none, traces: none }
    return `\`${id}\` ${metrics.requests} metric export(s) (${kB(metrics.bytes)}) and ${traces.requests} trace export(s) (${kB(traces.bytes)})`
  })
  // A periodic reader skips an export when no instrument recorded anything: a telemetry-on server that exported
  // no metrics ran a plugin that records none, and its "on" measured only the SDK's presence.
  const silent = (results.otlp[SUBJECT_OTEL_ID]?.metrics.requests ?? 0) === 0
  const { telemetryPairs, telemetryRounds, telemetrySeconds } = results.settings
  return [
    '## Telemetry on vs off (issue 20)', '',
    '| scenario | telemetry on: (against off, unless the row says otherwise) | req/s ratio on / off: median of all rounds (range) | core busy | req/s: on / off | p99 ms: on / off | server CPU µs/req: on / off (Δ, median of rounds) | token cache hit rate: on / off | peak RSS MiB: on / off (Δ) |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows, '',
    'Off: fastify-entra-id as shipped (token cache on), no OpenTelemetry provider registered. On: the same server file, started with ' +
    '`bench/servers/otel-providers.ts` imported first, which registers a MeterProvider (a periodic reader exporting every 5 s, 12 times as ' +
    'often as the SDK\'s default) and a NodeTracerProvider (batch span processor, AsyncLocalStorage context manager), both exporting ' +
    'OTLP/HTTP JSON to a loopback receiver in the orchestrator\'s process; no instrumentation, so no request span for the plugin to annotate: ' +
    'the target prices the plugin\'s own telemetry. The information row before it runs the same providers, with `bench/servers/otel-app-metric.ts` ' +
    'recording one metric of the application\'s own (so that they export every interval too) and the plugin\'s telemetry off (`telemetry: false`): ' +
    'what OpenTelemetry costs this application before the plugin\'s telemetry adds to it. The row after the target runs the target\'s server beside that one ' +
    '(its "off" is then the providers with the plugin\'s telemetry off): the plugin\'s own share, measured in one pair rather than as the difference of two rows. ' +
    'The node:http client row loads no OpenTelemetry at all: `bench/servers/http-client.ts` posts a small JSON body to the receiver every 5 s over a ' +
    'keep-alive agent, as the exporter does, which prices what an HTTP client costs an HTTP server in the same process (Node\'s client and server ' +
    'share code that V8 then compiles for both), whoever sends. The new-tokens rows run the same comparisons with the token cache off in every server ' +
    '("off" is then `fastify-entra-id-nocache`), so that every request checks a signature and the plugin times it: information, the path a token-cache hit skips. ' +
    '"+ @fastify/otel" registers Fastify\'s instrumentation too (a span per request, per route hook ' +
    'and for the handler, as the sample runs): information, not a target. ' +
    'Each server ran beside a fresh reference server (off, but for the plugin\'s share), the two alone on the servers\' core and loaded at the same time, ' +
    `${Math.floor(results.settings.connections / 2)} connections each: ${telemetryRounds} round(s) of ${telemetrySeconds} s after ${Number((3 * results.settings.warmupSeconds).toFixed(2))} s of warm-up, ` +
    `in ${telemetryPairs} pair(s) of fresh processes (the same code lands a few percent apart from one start to the next, as the JIT compiled it). ` +
    'Sharing the core, the two meet the same machine at every moment, so their req/s ratio is the ratio of what a request costs each; ' +
    'the rows of sequential turns (the main tables\' method) put the same comparison anywhere from 0.83 to 1.16 on this machine. Ratio: ' +
    'the other server\'s req/s over the off server\'s within each round, the median over all pairs\' rounds (below 1: slower). Core busy: the two ' +
    'servers\' CPU time over the round\'s wall time; near 100%, the core was the limit, as it must be for the ratio to be the cost ratio. ' +
    'The control row runs the off server beside an identical one: how far from 1.00 it lands is what the method cannot tell apart. ' +
    'CPU Δ: the other minus off within each round, the median likewise. Off\'s req/s and CPU: those of its pair, each at half the load.', '',
    `Received by the OTLP receiver over the run: ${received.join('; ')}. A server's last partial interval is not exported (it exits when the run is done with it).`, '',
    ...(silent
      ? ['> **Note:** the telemetry-on server exported no metrics: the metric reader skips an export when no instrument recorded anything, so ' +
        'the plugin recorded none (a build without its OpenTelemetry metrics, or one that did not find the MeterProvider). Its "on" figures price ' +
        'only the providers\' presence.', '']
      : [])
  ]
}

function scenarioRow(row: ServerRow, bestPeerId: string): string {
  const sanity = row.sanityPassed ? '' : ' ⚠ failed its sanity check'
  const best = row.id === bestPeerId ? ' ¹' : ''
  const errors = row.non2xx + row.errors > 0 ? `**${row.non2xx} / ${row.errors}**` : '0 / 0'
  return `| ${row.label}${best}${sanity} | ${row.reqPerSec.toFixed(0)} (${row.reqPerSecMin.toFixed(0)}-${row.reqPerSecMax.toFixed(0)}) | ` +
    `${row.ratioToCeiling.toFixed(2)} | ${row.ratioToBestPeer.toFixed(2)} | ${row.p50Ms} / ${row.p99Ms} | ${row.cpuMicrosPerRequest.toFixed(1)} (${row.userMicrosPerRequest.toFixed(1)}) | ` +
    `${row.authMicrosPerRequest === null ? '-' : row.authMicrosPerRequest.toFixed(1)} | ${formatHitRate(row)} | ${row.peakRssMiB.toFixed(1)} | ${errors} |`
}
