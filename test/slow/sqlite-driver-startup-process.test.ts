/**
 * The SQLite driver's addon built for another Node.js (a switch of Node.js line after `npm ci`), as `npm start`
 * meets it. The failure is injected (test/fixtures/fail-addon-load.ts replaces `process.dlopen`) rather than made
 * by building the addon for a second Node.js. Slow tier: every test starts a real process.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { startTestIssuer } from 'fastify-entra-id/testing'
import { tempDir } from '../helpers/app.js'
import { Child, serviceEnv, onlyJsonLine } from '../helpers/process.js'
import { REPO_ROOT, SERVER_ENTRY } from '../helpers/paths.js'

/** How long a process that should exit at once may run before it is killed, in milliseconds (CI is shared). */
const WATCHDOG = 30_000
const FAIL_ADDON_LOAD = pathToFileURL(fileURLToPath(new URL('../fixtures/fail-addon-load.ts', import.meta.url))).href

/** `npm start`'s command with the failing `process.dlopen` preloaded; resolves with the exit code and stderr. */
async function start(env: Record<string, string>): Promise<{ code: number | null, stderr: string }> {
  const dir = tempDir()
  try {
    const server = new Child(process.execPath, ['--import', 'tsx', '--import', FAIL_ADDON_LOAD, SERVER_ENTRY], {
      cwd: REPO_ROOT,
      env: serviceEnv({ DATA_DIR: dir.path, PORT: '0', HOST: '127.0.0.1', DEV_ISSUER_PORT: '0', ...env })
    })
    // A service that starts instead of failing would run until killed: kill it, and the test fails on its exit.
    const watchdog = setTimeout(() => { void server.stop('SIGKILL') }, WATCHDOG)
    try {
      return { code: await server.exited, stderr: server.stderr }
    } finally {
      clearTimeout(watchdog)
      await server.stop('SIGKILL')
    }
  } finally {
    dir.remove()
  }
}

const BUILT_FOR_ANOTHER_NODE = new RegExp('^The service could not start: the SQLite driver \\(better-sqlite3\\) was built for another ' +
  `Node\\.js \\(NODE_MODULE_VERSION 115\\), not for this Node\\.js ${process.version.replaceAll('.', '\\.')} \\(NODE_MODULE_VERSION 137\\): ` +
  'run `npm ci` again with this Node\\.js first on PATH$')

describe('the SQLite driver cannot be loaded: the started service', () => {
  test('development, built for another Node.js: exits 1 with one line naming both versions and npm ci, no stack', async () => {
    const { code, stderr } = await start({})
    assert.equal(code, 1)
    const lines = stderr.split('\n')
    assert.equal(lines.length, 2, stderr)
    assert.equal(lines[1], '')
    assert.match(lines[0] ?? '', BUILT_FOR_ANOTHER_NODE)
  })

  test('production, built for another Node.js: exits 1 with one JSON line (level 60), no stack', async () => {
    const issuer = await startTestIssuer()
    try {
      const { code, stderr } = await start({
        NODE_ENV: 'production', AZURE_TENANT_ID: issuer.tenantId, AZURE_CLIENT_ID: issuer.clientId, AZURE_AUTHORITY_HOST: issuer.url
      })
      assert.equal(code, 1)
      const line = onlyJsonLine(stderr)
      assert.equal(line.level, 60)
      assert.equal(line.code, 'ERR_DLOPEN_FAILED')
      assert.match(line.msg, BUILT_FOR_ANOTHER_NODE)
      assert.doesNotMatch(stderr, /\s+at /)
    } finally {
      await issuer.close()
    }
  })

  test('development, a corrupt addon: exits 1 with one line saying to run npm ci again', async () => {
    const { code, stderr } = await start({ FAIL_ADDON_LOAD: 'corrupt' })
    assert.equal(code, 1)
    assert.match(stderr, /^The service could not start: the SQLite driver \(better-sqlite3\) could not be loaded \(\/\S+\/better_sqlite3\.node: file too short\): run `npm ci` again with this Node\.js \(v[\d.]+\) first on PATH\n$/)
  })
})
