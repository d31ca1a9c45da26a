// Peak RSS under many distinct tokens: a fresh server gets each token once; what a verified-token cache (or any
// per-token state) costs in memory shows as peak RSS over the bare server's.
import type { ServerSpec } from './catalog.js'
import { TokenFeed, applyLoad } from './load.js'
import type { LoadResult } from './load.js'
import { ServerProcess } from './server-process.js'
import type { BenchServerConfig } from './servers/harness.js'

/** Peak RSS of one server after every token was sent once. */
export interface MemoryRun {
  /** Peak RSS once listening, before any request, in bytes. */
  readonly idlePeakRssBytes: number
  /** Peak RSS after the run, in bytes. */
  readonly peakRssBytes: number
  /** V8 heap still in use after the run and a full garbage collection, in bytes: what the process retains. */
  readonly retainedHeapBytes: number
  readonly load: LoadResult
}

/** Starts `spec` fresh and sends it each of `tokens` once. */
export async function peakRssUnderTokens(spec: ServerSpec, config: BenchServerConfig, tokens: readonly string[],
  core: number | null, connections: number): Promise<MemoryRun> {
  const server = await ServerProcess.start(spec, config, { core, nodeFlags: ['--expose-gc'] })
  try {
    const idle = await server.usage()
    const load = await applyLoad(server.port, new TokenFeed(tokens), { connections, amount: tokens.length })
    const after = await server.usage(true)
    return { idlePeakRssBytes: idle.peakRssBytes, peakRssBytes: after.peakRssBytes, retainedHeapBytes: after.heapUsedBytes, load }
  } finally {
    await server.stop()
  }
}
