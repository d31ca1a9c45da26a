/**
 * The Swagger UI test on a machine without Chromium: skipped with the reason and how to install it on a
 * developer's machine, failed in CI. Slow tier: runs test/slow/swagger-ui.test.ts in a test runner of its own.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { skipWithoutChromium } from '../helpers/browser.js'
import { Child, serviceEnv } from '../helpers/process.js'
import { REPO_ROOT } from '../helpers/paths.js'

const MISSING = '/nonexistent/chromium'
const REASON = `no Chromium at ${MISSING} (Debian: apt-get install chromium; elsewhere set CHROMIUM_PATH to a Chromium build); CI runs these tests`

/** `node --test test/slow/swagger-ui.test.ts` with CHROMIUM_PATH pointing at nothing, and CI as given (unset: undefined). */
async function runSwaggerUiTest(ci: string | undefined): Promise<{ code: number | null, output: string }> {
  // Not this runner's CI, nor its NODE_TEST_CONTEXT (which would make the inner runner report to this one).
  const env = serviceEnv({ CHROMIUM_PATH: MISSING })
  delete env.CI
  delete env.NODE_TEST_CONTEXT
  const runner = new Child(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', 'test/slow/swagger-ui.test.ts'], {
    cwd: REPO_ROOT,
    env: ci === undefined ? env : { ...env, CI: ci }
  })
  try {
    return { code: await runner.exited, output: `${runner.stdout}${runner.stderr}` }
  } finally {
    await runner.stop('SIGKILL')
  }
}

describe('the Swagger UI test without Chromium', () => {
  test('skipWithoutChromium: a reason with the install hint outside CI, false in CI or with a browser there', () => {
    assert.equal(skipWithoutChromium(MISSING, false), REASON)
    assert.equal(skipWithoutChromium(MISSING, true), false)
    // Any executable stands for the browser: only its presence is checked.
    assert.equal(skipWithoutChromium(process.execPath, false), false)
  })

  test('outside CI: skipped, the reason printed, and the run passes', async () => {
    const { code, output } = await runSwaggerUiTest(undefined)
    assert.equal(code, 0, output)
    assert.ok(output.includes(`Swagger UI in a browser (`) && output.includes(`# ${REASON}`), output)
    assert.match(output, /ℹ fail 0\n/)
    assert.match(output, /ℹ cancelled 0\n/)
  })

  test('CI=false counts as outside CI', async () => {
    const { code, output } = await runSwaggerUiTest('false')
    assert.equal(code, 0, output)
    assert.ok(output.includes(`# ${REASON}`), output)
  })

  test('in CI (CI=true): not skipped, and the run fails naming the missing browser', async () => {
    const { code, output } = await runSwaggerUiTest('true')
    assert.equal(code, 1, output)
    assert.ok(!output.includes('# no Chromium'), output)
    assert.ok(output.includes(`Chromium did not start from ${MISSING} (Debian: apt-get install chromium; elsewhere set CHROMIUM_PATH to a Chromium build)`), output)
  })
})
