/**
 * The test tiers are folders, in the sample (test/) and in the plugin (packages/fastify-entra-id/test/): `npm test`, `test:fast` and `test:slow` choose files by folder (quoted globs
 * that Node's test runner expands), so a test file anywhere else would never run, and an empty tier would pass
 * silently. Slow: every test that starts a process, replays the Dockerfile or drives a browser.
 */
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { REPO_ROOT } from '../helpers/paths.js'

const TIERS = ['unit', 'integration', 'slow']

// The sample's tests and the plugin's: the root scripts choose both by the same three folders.
const SUITES = ['test', 'packages/fastify-entra-id/test']

/** Every `*.test.ts` under `suite`, relative to it, with `/` separators. */
function testFiles(suite: string): string[] {
  return readdirSync(join(REPO_ROOT, suite), { recursive: true, encoding: 'utf8' })
    .map((path) => path.split(/[\\/]/).join('/'))
    .filter((path) => path.endsWith('.test.ts'))
    .sort()
}

describe('the test tiers of the sample and of the plugin', () => {
  for (const suite of SUITES) {
    test(`every test file of ${suite} is in unit/, integration/ or slow/, where the npm scripts find it`, () => {
      const outside = testFiles(suite).filter((path) => !TIERS.some((tier) => path.startsWith(`${tier}/`)))
      assert.deepEqual(outside, [])
    })

    test(`each tier of ${suite} holds test files`, () => {
      const files = testFiles(suite)
      for (const tier of TIERS) {
        assert.ok(files.some((path) => path.startsWith(`${tier}/`)), `${suite}/${tier} holds no *.test.ts`)
      }
    })
  }
})
