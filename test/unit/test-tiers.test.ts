/**
 * The sample's test tiers are folders: `npm test`, `test:fast` and `test:slow` choose files by folder (quoted globs
 * that Node's test runner expands), so a test file anywhere else would never run, and an empty tier would pass
 * silently. Slow: every test that starts a process, replays the Dockerfile or drives a browser.
 */
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { REPO_ROOT } from '../helpers/paths.js'

const TIERS = ['unit', 'integration', 'slow']

/** Every `*.test.ts` under test/, relative to it, with `/` separators. */
function testFiles(): string[] {
  return readdirSync(join(REPO_ROOT, 'test'), { recursive: true, encoding: 'utf8' })
    .map((path) => path.split(/[\\/]/).join('/'))
    .filter((path) => path.endsWith('.test.ts'))
    .sort()
}

describe('the sample\'s test tiers', () => {
  test('every test file is in test/unit, test/integration or test/slow, where the npm scripts find it', () => {
    const outside = testFiles().filter((path) => !TIERS.some((tier) => path.startsWith(`${tier}/`)))
    assert.deepEqual(outside, [])
  })

  test('each tier holds test files', () => {
    const files = testFiles()
    for (const tier of TIERS) {
      assert.ok(files.some((path) => path.startsWith(`${tier}/`)), `test/${tier} holds no *.test.ts`)
    }
  })
})
