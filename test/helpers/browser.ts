import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import type { BrowserContext } from 'playwright-core'
import { isCi } from './ci.js'

/** The browser the UI tests drive: Debian's `chromium` (CI installs it), or `CHROMIUM_PATH`. Never downloaded. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Where to get a browser, for the skip reason and the launch failure. */
const INSTALL_HINT = 'Debian: apt-get install chromium; elsewhere set CHROMIUM_PATH to a Chromium build'

/**
 * The `skip` option of a browser test: a reason to skip when there is no executable at `path` and the tests do
 * not run in CI (a developer without Chromium still gets a passing `npm test`, told what was skipped and how to
 * run it); `false` when the test must run. In CI a missing browser is not skipped: the test runs and fails.
 */
export function skipWithoutChromium(path: string = CHROMIUM_PATH, ci: boolean = isCi()): string | false {
  if (ci) return false
  try {
    accessSync(path, constants.X_OK)
    return false
  } catch {
    return `no Chromium at ${path} (${INSTALL_HINT}); CI runs these tests`
  }
}

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
 * the browser cannot start: a UI test that was not skipped ({@link skipWithoutChromium}) fails then.
 */
export async function launchChromium(): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'chromium-profile-'))
  const removeProfile = (): void => { rmSync(profile, { recursive: true, force: true }) }
  let context: BrowserContext
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: ARGS, timeout: STEP_TIMEOUT })
  } catch (error) {
    removeProfile()
    throw new Error(`Chromium did not start from ${CHROMIUM_PATH} (${INSTALL_HINT}): ${error instanceof Error ? error.message : String(error)}`, { cause: error })
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
