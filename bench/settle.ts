// Waits for the servers' core to go quiet before a measured turn. A server that just had its turn can keep working
// after its load stops: a telemetry server drains its span queue to the exporter and serializes it, a big heap is
// collected. On the shared server core that work would be charged to whichever server goes next.
import type { ServerProcess } from './server-process.js'

/** How long one look at the servers' CPU lasts, in milliseconds. */
const WINDOW_MS = 200
/** Below this share of one core over a window (all the servers together), the core counts as quiet. */
const QUIET_SHARE = 0.02
/** The longest wait, in milliseconds: a server that never goes quiet does not stall the run. */
const MAX_WAIT_MS = 5_000

/** Waits until `servers` together used less than 2% of a core over 200 ms (5 s at most); returns the ms waited. */
export async function settle(servers: readonly ServerProcess[]): Promise<number> {
  const started = performance.now()
  let before = await cpuOf(servers)
  while (performance.now() - started < MAX_WAIT_MS) {
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS))
    const after = await cpuOf(servers)
    if (after - before < QUIET_SHARE * WINDOW_MS * 1000) break
    before = after
  }
  return performance.now() - started
}

async function cpuOf(servers: readonly ServerProcess[]): Promise<number> {
  const usages = await Promise.all(servers.map((server) => server.usage()))
  return usages.reduce((sum, usage) => sum + usage.cpuMicros, 0)
}
