import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import type { BrowserContext } from 'playwright-core'

/** The browser the UI tests drive: Debian's `chromium` (CI installs it), or `CHROMIUM_PATH`. Never downloaded. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** How long any one browser step may take, in milliseconds: generous, as CI machines are shared. */
export const STEP_TIMEOUT = 30_000

// --no-sandbox: CI runs as root, where Chromium refuses its sandbox. The rest keep the browser from reaching out
// (updates, sync, QUIC probes) so that a test stays on loopback.
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']

/** A headless Chromium with a fresh profile; `close` ends it and removes the profile. */
export interface TestBrowser {
  readonly context: BrowserContext
  close(): Promise<void>
}

/**
 * Starts {@link CHROMIUM_PATH} with a fresh profile directory. Rejects, naming the executable and the cause, when
 * the browser cannot start: a UI test fails then, it never skips.
 */
export async function launchChromium(): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'chromium-profile-'))
  const removeProfile = (): void => { rmSync(profile, { recursive: true, force: true }) }
  let context: BrowserContext
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: ARGS, timeout: STEP_TIMEOUT })
  } catch (error) {
    removeProfile()
    throw new Error(`Chromium did not start from ${CHROMIUM_PATH} (set CHROMIUM_PATH to another build): ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  }
  context.setDefaultTimeout(STEP_TIMEOUT)
  context.setDefaultNavigationTimeout(STEP_TIMEOUT)
  return {
    context,
    async close() {
      await context.close()
      removeProfile()
    }
  }
}
