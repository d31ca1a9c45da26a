// What every server under test shares: its configuration (from the orchestrator), the route's payload and
// authorization rule, and the IPC protocol through which the orchestrator reads the process's CPU time (and,
// from servers with a verified-token cache, its counters).
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import type { TokenCacheStats } from 'fastify-entra-id/core'

/** The issuer every server trusts, handed over by bench/run.ts in the `BENCH_SERVER_CONFIG` environment variable. */
export interface BenchServerConfig {
  /** Origin of the local issuer: the plugin's `authorityHost`. */
  readonly authorityHost: string
  readonly tenantId: string
  /** The API's client ID: the tokens' `aud`. */
  readonly clientId: string
  /** The v2 issuer: the tokens' `iss`. */
  readonly issuer: string
  /** The tenant's v2 key set. */
  readonly jwksUri: string
  /**
   * Origin of the loopback OTLP receiver (bench/otlp-receiver.ts) the telemetry-on servers export to; absent from a
   * run without one, where those servers refuse to start.
   */
  readonly otlpEndpoint?: string
}

/** A message from the orchestrator; `gc` asks for a full garbage collection first (needs `--expose-gc`). */
export type ParentMessage = { readonly type: 'usage', readonly gc?: boolean }

/** A message to the orchestrator. */
export type ChildMessage =
  | { readonly type: 'listening', readonly port: number }
  | {
    readonly type: 'usage'
    readonly cpuMicros: number
    /** User-space CPU only: what the process computed, without kernel time (socket writes, wake-ups). */
    readonly userMicros: number
    readonly maxRssKiB: number
    readonly heapUsedBytes: number
    /** The token cache's counters so far; `null` from a server that has no stats provider (the peers, the bare servers). */
    readonly tokenCache: TokenCacheStats | null
  }

/** The route's response: a small JSON array. */
export const TODOS = [
  { id: 1, title: 'Write the benchmark', done: true },
  { id: 2, title: 'Cache verified tokens', done: false },
  { id: 3, title: 'Trim the hot path', done: false }
] as const

/** The route's URL path. */
export const ROUTE = '/api/todos'

/** The server's id in bench/catalog.ts, which the orchestrator passes in `BENCH_SERVER_ID`. */
export function benchServerId(): string {
  const id = process.env.BENCH_SERVER_ID
  if (id === undefined || id === '') throw new Error('bench server: BENCH_SERVER_ID is not set; start servers through npm run bench')
  return id
}

/** Reads the configuration the orchestrator passed. */
export function benchConfig(): BenchServerConfig {
  const raw = process.env.BENCH_SERVER_CONFIG
  if (raw === undefined) throw new Error('bench server: BENCH_SERVER_CONFIG is not set; start servers through npm run bench')
  return JSON.parse(raw) as BenchServerConfig
}

/**
 * The route's authorization rule, as the plugin's `requireScopesOrRoles({ scopes: 'Todo.Read', roles:
 * 'Todo.Read.All' })` applies it: peers get the same check so that every server does the same work.
 */
export function mayReadTodos(claims: unknown): boolean {
  if (claims === null || typeof claims !== 'object') return false
  const { scp, roles } = claims as { scp?: unknown, roles?: unknown }
  return (typeof scp === 'string' && scp.split(' ').includes('Todo.Read')) ||
    (Array.isArray(roles) && roles.includes('Todo.Read.All'))
}

/**
 * Tells the orchestrator the server listens, then answers its CPU-time questions until it disconnects.
 * `tokenCacheStats`, when given, is read with each answer: the orchestrator takes the difference of the hit and
 * miss counters over a measured round, so the hit rate leaves out warm-up and sanity requests.
 */
export function announce(server: Server, tokenCacheStats?: () => TokenCacheStats): void {
  const { port } = server.address() as AddressInfo
  if (process.send === undefined) {
    console.log(`listening on http://127.0.0.1:${port}${ROUTE} (no orchestrator: CPU time not reported)`)
    return
  }
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'usage') {
      const cpu = process.cpuUsage()
      if (message.gc === true) (globalThis as { gc?: () => void }).gc?.()
      reply({
        type: 'usage',
        cpuMicros: cpu.user + cpu.system,
        userMicros: cpu.user,
        maxRssKiB: process.resourceUsage().maxRSS,
        heapUsedBytes: process.memoryUsage().heapUsed,
        tokenCache: tokenCacheStats?.() ?? null
      })
    }
  })
  // The orchestrator died or is done: leave no server behind.
  process.on('disconnect', () => process.exit(0))
  reply({ type: 'listening', port })
}

function reply(message: ChildMessage): void {
  process.send?.(message)
}
