// One load scenario over every server: all servers start, each is checked (valid token 200, forged token 401)
// and warmed up, then measured in rounds; within a round the servers take turns (in a rotating order), so that
// drift of the machine hits all of them alike.
import type { TokenCacheStats } from 'fastify-entra-id/core'
import { runsIn } from './catalog.js'
import type { ScenarioId, ServerSpec } from './catalog.js'
import { applyLoad } from './load.js'
import type { LoadResult, TokenFeed } from './load.js'
import { checkServer } from './sanity.js'
import type { SanityResult } from './sanity.js'
import { ServerProcess } from './server-process.js'
import type { BenchServerConfig } from './servers/harness.js'
import type { BenchSettings } from './settings.js'

/** Token-cache lookups during one measured round (the difference of the server's counters). */
export interface CacheLookups {
  readonly hits: number
  readonly misses: number
}

/** One measured load run of one server, with the server's CPU time during it. */
export interface RoundResult {
  readonly round: number
  readonly load: LoadResult
  readonly cpuMicros: number
  /** The user-space part of {@link cpuMicros}. */
  readonly userMicros: number
  /** `null` for a server that reports no token-cache counters. */
  readonly cacheLookups: CacheLookups | null
}

/** Everything measured of one server in one scenario. */
export interface ServerScenarioResult {
  readonly id: string
  readonly sanity: SanityResult
  readonly warmup: LoadResult
  readonly rounds: readonly RoundResult[]
  /** Peak RSS (VmHWM) at the end of the scenario, in bytes. */
  readonly peakRssBytes: number
  /** The token cache's state at the end of the scenario (`null`: the server reports none). */
  readonly tokenCache: TokenCacheStats | null
}

/** A scenario: which tokens the requests carry. */
export interface ScenarioDefinition {
  readonly id: ScenarioId
  readonly title: string
  /** A fresh feed for one server (each server walks the same sequence of tokens). */
  readonly feed: () => TokenFeed
  /** Fresh server processes even when the other scenarios share one set (quick mode): it needs empty caches. */
  readonly freshServers?: boolean
}

/** Starts a server process for each of `specs`, all at once (on failure, stops those that started). */
export async function startServers(specs: readonly ServerSpec[], config: BenchServerConfig, core: number | null): Promise<ServerProcess[]> {
  const started = await Promise.allSettled(specs.map((spec) => ServerProcess.start(spec, config, { core })))
  const servers = started.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []))
  const failed = started.find((outcome) => outcome.status === 'rejected')
  if (failed !== undefined) {
    await Promise.all(servers.map((server) => server.stop()))
    throw failed.reason
  }
  return servers
}

/**
 * The servers' turns in `round`: the list rotated by one place per round, so that drift hits all alike. A server
 * that runs another's file (a baseline server of `--baseline`, a telemetry-on server) keeps its turn right next to
 * that server's, listed after it, and the group plays in reverse order every other round, so that none always goes
 * first. Servers each with a file of their own: the plain rotation.
 */
export function turnOrder<T extends { readonly spec: ServerSpec }>(servers: readonly T[], round: number): T[] {
  const units: T[][] = []
  for (const server of servers) {
    const last = units.at(-1)
    if (last !== undefined && server.spec.file !== undefined && last[0]?.spec.id === server.spec.file) last.push(server)
    else units.push([server])
  }
  return units
    .map((_, i) => units[(i + round) % units.length] as T[])
    .flatMap((unit) => (round % 2 === 1 ? [...unit].reverse() : unit))
}

/**
 * Runs `scenario` on every server of `specs` that runs in it ({@link runsIn}): on fresh processes (stopped at the
 * end), or on `running` ones (quick mode shares them between scenarios; their peak RSS then covers both).
 */
export async function runScenario(scenario: ScenarioDefinition, specs: readonly ServerSpec[], config: BenchServerConfig,
  settings: BenchSettings, core: number | null, log: (line: string) => void, running?: readonly ServerProcess[]): Promise<ServerScenarioResult[]> {
  const servers: ServerProcess[] = running === undefined ? [] : running.filter((server) => runsIn(server.spec, scenario.id))
  try {
    if (running === undefined) servers.push(...await startServers(specs.filter((spec) => runsIn(spec, scenario.id)), config, core))
    const feeds = new Map(servers.map((server) => [server, scenario.feed()]))
    const feedOf = (server: ServerProcess): TokenFeed => feeds.get(server) as TokenFeed
    const load = { connections: settings.connections }

    const sanity = new Map<ServerProcess, SanityResult>()
    const warmups = new Map<ServerProcess, LoadResult>()
    for (const server of servers) {
      const check = await checkServer(server.spec, server.port, feedOf(server).next())
      sanity.set(server, check)
      if (!check.passed) {
        log(`  ${server.spec.id}: SANITY CHECK FAILED (valid token ${check.validStatus}, forged token ${check.forgedStatus}); its figures are not meaningful`)
      }
      warmups.set(server, await applyLoad(server.port, feedOf(server), { ...load, durationSeconds: settings.warmupSeconds }))
    }

    const rounds = new Map<ServerProcess, RoundResult[]>(servers.map((server) => [server, []]))
    for (let round = 0; round < settings.rounds; round++) {
      const order = turnOrder(servers, round)
      for (const server of order) {
        const before = await server.usage()
        const result = await applyLoad(server.port, feedOf(server), { ...load, durationSeconds: settings.durationSeconds })
        const after = await server.usage()
        const cacheLookups = before.tokenCache === null || after.tokenCache === null
          ? null
          : { hits: after.tokenCache.hits - before.tokenCache.hits, misses: after.tokenCache.misses - before.tokenCache.misses }
        rounds.get(server)?.push({ round, load: result, cpuMicros: after.cpuMicros - before.cpuMicros, userMicros: after.userMicros - before.userMicros, cacheLookups })
        const flag = result.non2xx + result.errors > 0 ? `  !! ${result.non2xx} non-2xx, ${result.errors} errors` : ''
        log(`  round ${round + 1}/${settings.rounds} ${server.spec.id.padEnd(32)} ${result.reqPerSec.toFixed(0).padStart(6)} req/s${flag}`)
      }
    }

    const results: ServerScenarioResult[] = []
    for (const server of servers) {
      const { peakRssBytes, tokenCache } = await server.usage()
      results.push({
        id: server.spec.id,
        sanity: sanity.get(server) as SanityResult,
        warmup: warmups.get(server) as LoadResult,
        rounds: rounds.get(server) ?? [],
        peakRssBytes,
        tokenCache
      })
    }
    return results
  } finally {
    if (running === undefined) await Promise.all(servers.map((server) => server.stop()))
  }
}
