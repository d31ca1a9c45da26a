// Core pinning: servers on one core, the orchestrator (load generator and issuer) on another, so that neither
// steals the other's CPU and a server's CPU time per request is its own.
import { execFileSync } from 'node:child_process'
import { availableParallelism } from 'node:os'

/** Which cores the load generator and the servers run on; `null` when pinning is not possible. */
export interface CorePlan {
  readonly loadCore: number | null
  readonly serverCore: number | null
  /** Why the run is unpinned, when it is. */
  readonly note: string | null
}

/** Pins this process (every thread) to core 0 and plans core 1 for servers, where taskset and 2 cores exist. */
export function pinCores(): CorePlan {
  if (availableParallelism() < 2) return { loadCore: null, serverCore: null, note: 'one core: servers and load generator share it' }
  try {
    execFileSync('taskset', ['-a', '-cp', '0', String(process.pid)], { stdio: 'ignore' })
  } catch {
    return { loadCore: null, serverCore: null, note: 'taskset not available: processes are not pinned' }
  }
  return { loadCore: 0, serverCore: 1, note: null }
}
