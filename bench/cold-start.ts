// Cold start: a server process is spawned and, as soon as it listens, a burst of concurrent authorized requests
// hits it. Measured: process start to the first 200, and how many discovery and JWKS requests the issuer got.
import type { EndpointKind, TestIssuer } from 'fastify-entra-id/testing'
import type { ServerSpec } from './catalog.js'
import { status } from './sanity.js'
import { ServerProcess } from './server-process.js'
import type { BenchServerConfig } from './servers/harness.js'

/** One cold start of one server. */
export interface ColdStart {
  /** Process spawn to "listening", in milliseconds. */
  readonly listenMs: number
  /** Process spawn to the first 200 of the burst, in milliseconds (`null`: no 200 at all). */
  readonly firstOkMs: number | null
  /** Process spawn to the last response of the burst, in milliseconds. */
  readonly lastResponseMs: number
  readonly ok: number
  /** Burst responses other than 200, connection errors included. */
  readonly notOk: number
  /** Requests the issuer received, per endpoint, from spawn until the burst was answered (and 200 ms more). */
  readonly issuerRequests: Readonly<Record<EndpointKind, number>>
}

const KINDS: readonly EndpointKind[] = ['discovery-v2', 'discovery-v1', 'jwks-v2', 'jwks-v1']
// Lets fetches that a server starts in the background after answering show up in the counts.
const SETTLE_MS = 200

/** Starts `spec` cold and fires one request per token of `burst` at it at once. */
export async function coldStart(spec: ServerSpec, config: BenchServerConfig, issuer: TestIssuer, burst: readonly string[], core: number | null): Promise<ColdStart> {
  issuer.resetCounts()
  const server = await ServerProcess.start(spec, config, { core })
  try {
    let firstOk: number | null = null
    const statuses = await Promise.all(burst.map(async (token) => {
      const code = await status(server.port, token)
      if (code === 200) firstOk ??= performance.now()
      return code
    }))
    const lastResponse = performance.now()
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
    const ok = statuses.filter((code) => code === 200).length
    return {
      listenMs: server.listeningAt - server.spawnedAt,
      firstOkMs: firstOk === null ? null : firstOk - server.spawnedAt,
      lastResponseMs: lastResponse - server.spawnedAt,
      ok,
      notOk: statuses.length - ok,
      issuerRequests: Object.fromEntries(KINDS.map((kind) => [kind, issuer.count(kind)])) as Record<EndpointKind, number>
    }
  } finally {
    await server.stop()
  }
}
