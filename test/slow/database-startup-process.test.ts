/**
 * The database unreachable at start-up, as the started service meets it: `node src/server.ts` in production, with
 * PostgreSQL refused or a DATA_DIR that cannot be used. Slow tier: every test starts a real process. The same
 * cases in process, on `app.inject`, are in database-startup.test.ts.
 */
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { startTestIssuer } from 'fastify-entra-id/testing'
import { tempDir } from '../helpers/app.js'
import { assertSafeLine, closedPort, warnings } from '../helpers/database-startup.js'
import type { LogLine } from '../helpers/database-startup.js'
import { Child, serviceEnv } from '../helpers/process.js'
import { REPO_ROOT, SERVER_ENTRY } from '../helpers/paths.js'

describe('database unreachable at start-up: the started service', () => {
  test('production, PostgreSQL unreachable: keeps running, logs one JSON warning naming DATABASE_URL, not ready', async () => {
    const dir = tempDir()
    const issuer = await startTestIssuer()
    const port = await closedPort()
    const server = new Child(process.execPath, ['--import', 'tsx', SERVER_ENTRY], {
      cwd: REPO_ROOT,
      env: serviceEnv({
        NODE_ENV: 'production', DATA_DIR: dir.path, PORT: '0', HOST: '127.0.0.1', SHUTDOWN_DRAIN_MS: '0',
        AZURE_TENANT_ID: issuer.tenantId, AZURE_CLIENT_ID: issuer.clientId, AZURE_AUTHORITY_HOST: issuer.url,
        DATABASE_URL: `postgres://todo:pw-never-logged@127.0.0.1:${String(port)}/todos`
      })
    })
    try {
      const [, base] = await server.waitFor(/"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/)
      const ready = await fetch(`${base}/health/ready`)
      assert.equal(ready.status, 503)
      assert.equal(await server.stop('SIGTERM'), 0)

      const lines = server.stdout.trim().split('\n').map((l) => JSON.parse(l) as LogLine)
      const [warning] = warnings(lines)
      assert.ok(warning !== undefined, server.stdout)
      assertSafeLine(warning.msg, `127.0.0.1:${String(port)}/todos`, ['pw-never-logged', 'todo:'])
      assert.ok(!server.stdout.includes('pw-never-logged'))
      assert.equal(server.stderr, '')
    } finally {
      await server.stop('SIGKILL')
      await issuer.close()
      dir.remove()
    }
  })

  test('production, SQLite with an unusable DATA_DIR: exits 1 with one JSON line naming DATA_DIR, without a stack', async () => {
    const dir = tempDir()
    const issuer = await startTestIssuer()
    const file = join(dir.path, 'not-a-directory')
    writeFileSync(file, '')
    const server = new Child(process.execPath, ['--import', 'tsx', SERVER_ENTRY], {
      cwd: REPO_ROOT,
      env: serviceEnv({
        NODE_ENV: 'production', DATA_DIR: join(file, 'data'), PORT: '0', HOST: '127.0.0.1',
        AZURE_TENANT_ID: issuer.tenantId, AZURE_CLIENT_ID: issuer.clientId, AZURE_AUTHORITY_HOST: issuer.url
      })
    })
    try {
      assert.equal(await server.exited, 1)
      const lines = server.stderr.trim().split('\n')
      assert.equal(lines.length, 1, server.stderr)
      const line = JSON.parse(lines[0] ?? '') as LogLine
      assert.equal(line.level, 60)
      assert.match(line.msg, /DATA_DIR must be a writable directory/)
      assert.doesNotMatch(server.stderr, /\s+at /)
    } finally {
      await server.stop('SIGKILL')
      await issuer.close()
      dir.remove()
    }
  })
})
