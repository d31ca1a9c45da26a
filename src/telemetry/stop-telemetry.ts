import type { Telemetry } from './telemetry.js'

/**
 * The longest wait for telemetry's last export at shutdown, in milliseconds: an unreachable backend must not
 * hold the process past its shutdown budget (the exporters' own timeouts are 30 s or more).
 */
export const TELEMETRY_FLUSH_TIMEOUT = 5000

/** Where {@link stopTelemetry} says that the last export did not complete (the service's logger). */
interface Warner {
  warn(details: Record<string, unknown>, message: string): void
}

/**
 * Shuts `telemetry` down (it exports what it still holds), waiting at most {@link TELEMETRY_FLUSH_TIMEOUT} ms.
 * Never rejects: telemetry that could not be delivered is reported on `log`, and the shutdown goes on.
 */
export async function stopTelemetry(telemetry: Telemetry | null, log?: Warner): Promise<void> {
  if (telemetry === null) return
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(resolve, TELEMETRY_FLUSH_TIMEOUT, 'timeout') })
  try {
    const outcome = await Promise.race([telemetry.shutdown().then(() => 'done' as const), timeout])
    if (outcome === 'timeout') log?.warn({ backend: telemetry.backend, timeoutMs: TELEMETRY_FLUSH_TIMEOUT }, 'telemetry: the last export did not complete in time')
  } catch (error) {
    log?.warn({ backend: telemetry.backend, error: error instanceof Error ? error.message : String(error) }, 'telemetry: the last export failed')
  } finally {
    clearTimeout(timer)
  }
}
