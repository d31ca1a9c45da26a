// The results of one run as Markdown: what is printed, written to bench/results/ and, for a full run, to
// bench/RESULTS.md.
import type { ColdStart } from './cold-start.js'
import type { FloorResult } from './crypto-floor.js'
import type { MemoryRun } from './memory.js'
import type { ServerScenarioResult } from './scenario.js'
import type { BenchSettings } from './settings.js'
import { TARGETS } from './targets.js'
import type { ColdStartSummary, ScenarioSummary, ServerRow, TargetCheck } from './summary.js'

/** Everything one run produced: written as JSON next to the Markdown. */
export interface BenchResults {
  readonly meta: {
    readonly startedAt: string
    readonly command: string
    readonly wallSeconds: number
    readonly node: string
    readonly cpuModel: string
    readonly cores: number
    /** Share of all cores busy during one second before the measurements (other processes), `null` off Linux. */
    readonly busyBeforeRun: number | null
    readonly pinning: string
    readonly commit: string
    /** Uncommitted changes in packages/fastify-entra-id when the run started (the bench measures the working tree). */
    readonly pluginWorkingTreeChanges: boolean
    readonly tokenChars: number
    readonly tokensMinted: number
    readonly mintSeconds: number
  }
  readonly settings: BenchSettings
  readonly floor: FloorResult
  readonly scenarios: readonly {
    readonly id: string
    readonly title: string
    readonly summary: ScenarioSummary
    readonly raw: readonly ServerScenarioResult[]
  }[]
  readonly coldStart: { readonly summaries: readonly ColdStartSummary[], readonly raw: Readonly<Record<string, readonly ColdStart[]>> }
  readonly memory: { readonly tokens: number, readonly runs: readonly (MemoryRun & { readonly id: string, readonly label: string })[] }
  readonly targets: readonly TargetCheck[]
}

const MiB = 1024 * 1024

/** Renders `results` as a Markdown document. */
export function renderMarkdown(results: BenchResults): string {
  const { meta, settings } = results
  const out: string[] = []
  out.push(`# fastify-entra-id benchmark (${settings.mode} run, ${meta.startedAt})`, '')
  out.push(`\`${meta.command}\` · Node ${meta.node} · ${meta.cores} × ${meta.cpuModel} · ${meta.pinning} · commit ${meta.commit}` +
    `${meta.pluginWorkingTreeChanges ? ' (plugin working tree had uncommitted changes)' : ''} · wall time ${meta.wallSeconds.toFixed(0)} s`, '')
  if (meta.busyBeforeRun !== null && meta.busyBeforeRun > 0.1) {
    out.push(`> **Warning:** the machine was ${(meta.busyBeforeRun * 100).toFixed(0)}% busy with other processes just before the run; ` +
      'the figures are distorted. Re-run on a quiet machine.', '')
  }
  out.push(`RS256/2048 tokens of ${meta.tokenChars} characters, GET route returning a small JSON array, ${settings.connections} connections; ` +
    `${settings.rounds} round(s) of ${settings.durationSeconds} s per server and scenario after ${settings.warmupSeconds} s of warm-up, servers interleaved.`, '')

  const [same, distinct] = results.scenarios
  if (same !== undefined && distinct !== undefined) {
    out.push('## Summary', '')
    out.push('| server | req/s as a share of bare Fastify, distinct tokens | same token repeated | auth CPU per request, distinct / same |')
    out.push('|---|---|---|---|')
    for (const row of distinct.summary.rows) {
      const other = same.summary.rows.find((r) => r.id === row.id)
      const auth = row.authMicrosPerRequest === null || other?.authMicrosPerRequest == null
        ? '-'
        : `${row.authMicrosPerRequest.toFixed(1)} / ${other.authMicrosPerRequest.toFixed(1)} µs${row.id.startsWith('express') ? ' (over bare Express)' : ''}`
      const label = row.id === 'fastify-bare' ? `${row.label}; ${row.cpuMicrosPerRequest.toFixed(0)} µs CPU per request` : row.label
      out.push(`| ${label} | ${row.ratioToCeiling.toFixed(2)} | ${other?.ratioToCeiling.toFixed(2) ?? '-'} | ${auth} |`)
    }
    out.push('')
  }

  for (const scenario of results.scenarios) {
    out.push(`## ${scenario.title}`, '')
    out.push('| server | req/s (min-max) | × bare Fastify | × best peer | p50 / p99 ms | server CPU µs/req | auth CPU µs/req | peak RSS MiB | non-2xx / errors |')
    out.push('|---|---|---|---|---|---|---|---|---|')
    for (const row of scenario.summary.rows) out.push(scenarioRow(row, scenario.summary.bestPeerId))
    out.push('')
  }
  out.push('Best peer (¹): the peer with the most req/s in the scenario. Auth CPU: server CPU per 2xx response minus the bare ' +
    'server\'s of the same framework (Fastify, or Express for the Express peer).', '')

  const floor = results.floor
  out.push('## RS256 verification floor (same run, server core)', '')
  out.push(`- \`node:crypto\` \`verify()\`, synchronous: **${floor.nodeCryptoMicros.toFixed(1)} µs** CPU per signature check (${floor.verifies.toLocaleString('en-US')} distinct tokens)`)
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

  out.push(`## Targets (issue ${TARGETS.issue}, bench/targets.ts)`, '')
  out.push('| target | measured | met |', '|---|---|---|')
  for (const t of results.targets) out.push(`| ${t.target} | ${t.measured} | ${t.met === null ? '?' : t.met ? 'yes' : '**no**'} |`)
  out.push('')
  return out.join('\n')
}

function scenarioRow(row: ServerRow, bestPeerId: string): string {
  const sanity = row.sanityPassed ? '' : ' ⚠ failed its sanity check'
  const best = row.id === bestPeerId ? ' ¹' : ''
  const errors = row.non2xx + row.errors > 0 ? `**${row.non2xx} / ${row.errors}**` : '0 / 0'
  return `| ${row.label}${best}${sanity} | ${row.reqPerSec.toFixed(0)} (${row.reqPerSecMin.toFixed(0)}-${row.reqPerSecMax.toFixed(0)}) | ` +
    `${row.ratioToCeiling.toFixed(2)} | ${row.ratioToBestPeer.toFixed(2)} | ${row.p50Ms} / ${row.p99Ms} | ${row.cpuMicrosPerRequest.toFixed(1)} | ` +
    `${row.authMicrosPerRequest === null ? '-' : row.authMicrosPerRequest.toFixed(1)} | ${row.peakRssMiB.toFixed(1)} | ${errors} |`
}
