// `npm run bench [-- [--quick] [--baseline <git-rev>]]`: the whole benchmark in one run. Progress goes to stderr;
// the Markdown report to stdout and, with the JSON of every measurement, to bench/results/ (ignored by git). A full
// run also replaces bench/RESULTS.md, the one summary kept in git: commit it with the change it measures. With
// --baseline, the fastify-entra-id servers run a second time on the plugin as it was at <git-rev>, in the same
// rounds, and the report compares the two builds.
import { execFileSync, fork } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { buildBaseline, resolveBaseline } from './baseline-build.js'
import type { BaselineCommit } from './baseline-build.js'
import { CEILING_ID, runsEverywhere, runsIn, serversOf } from './catalog.js'
import { coldStart } from './cold-start.js'
import type { ColdStart } from './cold-start.js'
import { pinCores } from './cores.js'
import type { FloorConfig, FloorResult } from './crypto-floor.js'
import { openFixture, serverConfigOf } from './fixture.js'
import { busyShare } from './machine.js'
import { TokenFeed } from './load.js'
import { peakRssUnderTokens } from './memory.js'
import { startOtlpReceiver } from './otlp-receiver.js'
import { renderMarkdown } from './report.js'
import type { BenchResults } from './report.js'
import { runScenario, startServers } from './scenario.js'
import type { ScenarioDefinition } from './scenario.js'
import type { BenchServerConfig } from './servers/harness.js'
import { UsageError, argsOf } from './settings.js'
import type { BenchSettings } from './settings.js'
import { checkTargets, summarizeColdStarts, summarizeScenario } from './summary.js'
import { NEW_TOKEN_PAIRINGS, TELEMETRY_PAIRINGS, runTelemetryComparison } from './telemetry-comparison.js'
import { zipfSequence } from './zipf.js'

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url))
const SUMMARY_FILE = fileURLToPath(new URL('./RESULTS.md', import.meta.url))

function git(args: readonly string[]): string {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return ''
  }
}

/** Runs bench/crypto-floor.ts pinned to the servers' core. */
async function measureFloor(config: FloorConfig, core: number | null): Promise<FloorResult> {
  const script = fileURLToPath(new URL('./crypto-floor.ts', import.meta.url))
  const child = core === null
    ? fork(script, { env: { ...process.env, BENCH_FLOOR_CONFIG: JSON.stringify(config) } })
    : fork(script, { execPath: 'taskset', execArgv: ['-c', String(core), process.execPath, ...process.execArgv], env: { ...process.env, BENCH_FLOOR_CONFIG: JSON.stringify(config) } })
  return new Promise((resolve, reject) => {
    child.once('message', (result: FloorResult) => { resolve(result) })
    child.once('exit', (code) => { if (code !== 0) reject(new Error(`bench: the crypto floor measurement exited with ${code}`)) })
  })
}

/** The command line read and the baseline commit checked, or the mistake in one line and exit code 2. */
function commandLine(): { settings: BenchSettings, baseline: BaselineCommit | null } {
  try {
    const { settings, baselineRev } = argsOf(process.argv.slice(2))
    return { settings, baseline: baselineRev === null ? null : resolveBaseline(baselineRev) }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`${error.message}\n`)
    process.exit(2)
  }
}

const { settings, baseline } = commandLine()
const startedAt = new Date()
const wallStart = performance.now()
function log(line: string): void {
  process.stderr.write(`[${((performance.now() - wallStart) / 1000).toFixed(1).padStart(5)} s] ${line}\n`)
}
const pluginChanges = git(['status', '--porcelain', '--', 'packages/fastify-entra-id']) !== ''

log(`fastify-entra-id benchmark: ${settings.mode} run${baseline === null ? '' : `, against the baseline ${baseline.rev} (${baseline.shortCommit})`}`)
const pluginBuild = baseline === null ? null : await buildBaseline(baseline, log)
// Every server of this run: the baseline's follow their subjects.
const specs = serversOf(pluginBuild)
// The Zipf callers' tokens come after the distinct-token scenario's: a server meets them first in the Zipf
// scenario, whatever it served before.
const fixture = await openFixture(Math.max(settings.distinctTokens + settings.zipfCallers, settings.memoryTokens, settings.coldStartBurst), log)
const { issuer, tokens } = fixture
const cores = pinCores()
log(cores.note ?? `load generator and issuer pinned to core ${cores.loadCore ?? '-'}, servers to core ${cores.serverCore ?? '-'}`)
const busyBefore = await busyShare()
if (busyBefore !== null && busyBefore > 0.1) {
  log(`warning: the machine was ${(busyBefore * 100).toFixed(0)}% busy before the run: other processes will distort the figures`)
}
// The telemetry-on servers' collector: loopback, in this process, on the load generator's core.
const otlp = await startOtlpReceiver()
const config: BenchServerConfig = { ...serverConfigOf(issuer), otlpEndpoint: otlp.url }

try {
  log('floor: RS256 verify + payload decode...')
  const floor = await measureFloor({ tokenFile: fixture.tokenFile, count: settings.floorVerifies, publicJwk: fixture.publicJwk }, cores.serverCore)
  log(`  ${floor.nodeCryptoMicros.toFixed(1)} + ${floor.decodeMicros.toFixed(1)} = ${floor.floorMicros.toFixed(1)} µs per token`)

  const distinctTokens = tokens.slice(0, settings.distinctTokens)
  const callers = tokens.slice(settings.distinctTokens, settings.distinctTokens + settings.zipfCallers)
  const zipf = zipfSequence(callers.length, settings.zipfPicks, settings.zipfExponent, settings.zipfSeed)
  const zipfTokens = zipf.picks.map((caller) => callers[caller] as string)
  const scenarios: ScenarioDefinition[] = [
    { id: 'same-token', title: 'One token repeated', feed: () => new TokenFeed(distinctTokens.slice(0, 1)) },
    {
      id: 'distinct-tokens',
      title: `${distinctTokens.length.toLocaleString('en-US')} distinct valid tokens, cycled in order`,
      feed: () => new TokenFeed(distinctTokens)
    },
    {
      id: 'zipf',
      title: `${callers.length.toLocaleString('en-US')} callers reusing their own tokens, Zipf popularity`,
      feed: () => new TokenFeed(zipfTokens),
      // Its hit rate is the figure it is run for: a cache that kept the earlier scenarios' tokens (the same token's
      // tens of thousands of uses among them) would decide what it admits, not the Zipf traffic.
      freshServers: true
    }
  ]
  const scenarioResults: BenchResults['scenarios'][number][] = []
  const sharedSpecs = specs.filter((spec) => scenarios.some((s) => s.freshServers !== true && runsIn(spec, s.id)))
  let shared = settings.freshServersPerScenario ? undefined : await startServers(sharedSpecs, config, cores.serverCore)
  const stopShared = async (): Promise<void> => {
    const servers = shared ?? []
    shared = undefined
    await Promise.all(servers.map((server) => server.stop()))
  }
  try {
    for (const [i, scenario] of scenarios.entries()) {
      // Idle processes left on the servers' core would only take memory from those measured.
      if (scenarios.slice(i).every((s) => s.freshServers === true)) await stopShared()
      log(`scenario: ${scenario.title}`)
      const raw = await runScenario(scenario, specs, config, settings, cores.serverCore, log, scenario.freshServers === true ? undefined : shared)
      scenarioResults.push({ id: scenario.id, title: scenario.title, summary: summarizeScenario(raw, specs), raw })
    }
  } finally {
    await stopShared()
  }
  // Distinct tokens for the telemetry comparison: half as many as the token cache holds, so that both servers of a
  // pair hit it alike once warm. With as many as it holds (the scenario above), which tokens stay is decided at the
  // edge, and the two servers' hit rates came out apart (16% and 28% in one pair): the ratio then priced the misses.
  const telemetryDistinct = distinctTokens.slice(0, Math.floor(distinctTokens.length / 2))
  const telemetry = await runTelemetryComparison([
    { scenario: scenarios[0] as ScenarioDefinition, pairings: TELEMETRY_PAIRINGS },
    {
      scenario: {
        id: 'distinct-tokens',
        title: `${telemetryDistinct.length.toLocaleString('en-US')} distinct valid tokens, cycled in order (half the token cache's 10,000 entries)`,
        feed: () => new TokenFeed(telemetryDistinct)
      },
      pairings: TELEMETRY_PAIRINGS
    },
    {
      // Every request checks a signature: the path a token-cache hit skips, priced on its own.
      scenario: {
        id: 'new-tokens',
        title: `${distinctTokens.length.toLocaleString('en-US')} distinct valid tokens, cycled in order, token cache off (a signature checked on every request)`,
        feed: () => new TokenFeed(distinctTokens)
      },
      pairings: NEW_TOKEN_PAIRINGS
    }
  ], specs, config, settings, cores.serverCore, log)

  // The servers that answer one question (the telemetry ones) sit out the cold starts and the peak-RSS run.
  const everywhere = specs.filter(runsEverywhere)
  log(`cold start: ${settings.coldStartRepeats} × ${everywhere.length} servers, ${settings.coldStartBurst} concurrent requests each`)
  const burst = tokens.slice(0, settings.coldStartBurst)
  const coldRuns: Record<string, ColdStart[]> = Object.fromEntries(everywhere.map((s) => [s.id, []]))
  for (let repeat = 0; repeat < settings.coldStartRepeats; repeat++) {
    for (const spec of everywhere) coldRuns[spec.id]?.push(await coldStart(spec, config, issuer, burst, cores.serverCore))
  }
  const coldSummaries = everywhere.map((spec) => summarizeColdStarts(spec, coldRuns[spec.id] ?? []))

  const memoryTokens = tokens.slice(0, settings.memoryTokens)
  log(`peak RSS: ${memoryTokens.length.toLocaleString('en-US')} distinct tokens, each once`)
  const memoryRuns = []
  for (const spec of everywhere.filter((s) => s.id === CEILING_ID || s.role === 'subject')) {
    memoryRuns.push({ id: spec.id, label: spec.label, ...await peakRssUnderTokens(spec, config, memoryTokens, cores.serverCore, settings.connections) })
  }
  const memory = { tokens: memoryTokens.length, runs: memoryRuns }

  const same = scenarioResults.find((r) => r.id === 'same-token')
  const distinct = scenarioResults.find((r) => r.id === 'distinct-tokens')
  if (same === undefined || distinct === undefined) throw new Error('bench: a scenario is missing')
  const options = [...(settings.mode === 'quick' ? ['--quick'] : []), ...(baseline === null ? [] : ['--baseline', baseline.rev])]
  const results: BenchResults = {
    meta: {
      startedAt: startedAt.toISOString(),
      command: options.length === 0 ? 'npm run bench' : `npm run bench -- ${options.join(' ')}`,
      wallSeconds: (performance.now() - wallStart) / 1000,
      node: process.versions.node,
      openssl: process.versions.openssl,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown CPU',
      cores: cpus().length,
      busyBeforeRun: busyBefore,
      pinning: cores.note ?? `servers pinned to core ${cores.serverCore ?? '-'}, load generator to core ${cores.loadCore ?? '-'} (taskset)`,
      commit: git(['rev-parse', '--short', 'HEAD']) || 'unknown',
      pluginWorkingTreeChanges: pluginChanges,
      baseline: baseline === null ? null : { rev: baseline.rev, commit: baseline.commit, shortCommit: baseline.shortCommit },
      tokenChars: Math.round(distinctTokens.reduce((n, t) => n + t.length, 0) / distinctTokens.length),
      tokensMinted: fixture.minted,
      mintSeconds: fixture.mintSeconds
    },
    settings,
    floor,
    zipf: {
      callers: callers.length,
      picks: settings.zipfPicks,
      exponent: settings.zipfExponent,
      seed: settings.zipfSeed,
      distinctCallers: zipf.distinctCallers,
      topCallerShare: zipf.topCallerShare,
      topTenthShare: zipf.topTenthShare
    },
    scenarios: scenarioResults,
    coldStart: { summaries: coldSummaries, raw: coldRuns },
    memory,
    telemetry,
    otlp: otlp.counts(),
    targets: checkTargets({ same: same.summary, distinct: distinct.summary, telemetry, floor, coldStarts: coldSummaries, coldStartBurst: settings.coldStartBurst, memory })
  }
  const markdown = renderMarkdown(results)
  // Raw results, one pair of files per full run and one overwritten pair for quick runs, stay out of git.
  const name = settings.mode === 'quick' ? 'quick-latest' : startedAt.toISOString().slice(0, 16).replace(/[:T]/g, '-')
  await mkdir(RESULTS_DIR, { recursive: true })
  await writeFile(`${RESULTS_DIR}${name}.md`, markdown)
  await writeFile(`${RESULTS_DIR}${name}.json`, `${JSON.stringify(results, null, 2)}\n`)
  if (settings.mode === 'full') await writeFile(SUMMARY_FILE, markdown)
  process.stdout.write(`${markdown}\n`)
  log(`written: bench/results/${name}.md and .json${settings.mode === 'full' ? ', bench/RESULTS.md' : ''} (${results.meta.wallSeconds.toFixed(0)} s)`)
} finally {
  await otlp.close()
  await issuer.close()
}
