import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { startTestIssuer } from 'fastify-entra-id/testing'
import { tempDir } from '../helpers/app.js'
import { Child, run, serviceEnv } from '../helpers/process.js'
import { REPO_ROOT, SERVER_ENTRY } from '../helpers/paths.js'

describe('the started service', () => {
  test('development mode: prints working curl commands, serves them over HTTP, and shuts down on SIGTERM', async () => {
    const dir = tempDir()
    const env = serviceEnv({ DATA_DIR: dir.path, PORT: '0', HOST: '127.0.0.1', DEV_ISSUER_PORT: '0' })
    const server = new Child(process.execPath, ['--import', 'tsx', SERVER_ENTRY], { cwd: REPO_ROOT, env })
    try {
      const [, base] = await server.waitFor(/curl -s (http:\/\/localhost:\d+)\/api\/todos -H/)
      const [, readToken] = await server.waitFor(/export READ_TOKEN='([^']+)'/)
      const [, writeToken] = await server.waitFor(/export WRITE_TOKEN='([^']+)'/)
      assert.match(server.stdout, /DEVELOPMENT MODE/)

      const created = await fetch(`${base}/api/todos`, {
        method: 'POST',
        headers: { authorization: `Bearer ${writeToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'Over real HTTP' })
      })
      assert.equal(created.status, 201)
      const location = created.headers.get('location')
      assert.match(location ?? '', /^\/api\/todos\/[0-9a-f-]{36}$/)
      const read = await fetch(`${base}${location}`, { headers: { authorization: `Bearer ${readToken}` } })
      assert.equal(read.status, 200)
      assert.equal((await read.json() as { title: string }).title, 'Over real HTTP')

      // `npm run token` signs with the keys the service saved under DATA_DIR.
      const minted = await run(process.execPath, ['--import', 'tsx', 'scripts/token.ts', '--scope', 'Todo.Read', '--user', 'alice', '--lifetime', '10m'], { cwd: REPO_ROOT, env })
      const aliceToken = minted.stdout.trim()
      const me = await fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${aliceToken}` } })
      assert.equal(me.status, 200)
      assert.equal((await me.json() as { name: string }).name, 'alice')
      const list = await fetch(`${base}/api/todos`, { headers: { authorization: `Bearer ${aliceToken}` } })
      assert.deepEqual(await list.json(), { items: [], nextCursor: null })

      const unauthenticated = await fetch(`${base}/api/todos`)
      assert.equal(unauthenticated.status, 401)
      assert.equal(unauthenticated.headers.get('www-authenticate'), 'Bearer realm="api"')

      assert.equal(await server.stop('SIGTERM'), 0)
      assert.match(server.stdout, /shutting down/)
      // Tokens appear in the banner only: requests are logged without their Authorization header.
      assert.ok(!`${server.stdout}${server.stderr}`.includes(aliceToken.split('.')[2] ?? aliceToken))
    } finally {
      await server.stop('SIGKILL')
      dir.remove()
    }
  })

  test('production: JSON logs naming the caller (tid, oid, azp), never the token', async () => {
    const dir = tempDir()
    const issuer = await startTestIssuer()
    // No drain: nothing routes here (test/slow/shutdown.test.ts drains under load).
    const env = serviceEnv({
      NODE_ENV: 'production', DATA_DIR: dir.path, PORT: '0', HOST: '127.0.0.1', SHUTDOWN_DRAIN_MS: '0',
      AZURE_TENANT_ID: issuer.tenantId, AZURE_CLIENT_ID: issuer.clientId, AZURE_AUTHORITY_HOST: issuer.url
    })
    const server = new Child(process.execPath, ['--import', 'tsx', SERVER_ENTRY], { cwd: REPO_ROOT, env })
    try {
      const [, base] = await server.waitFor(/"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/)
      const oid = '77777777-7777-4777-8777-777777777777'
      const token = await issuer.mint({ objectId: oid, scopes: ['Todo.Read'] })
      const res = await fetch(`${base}/api/todos?access_token=leak`, { headers: { authorization: `Bearer ${token}` } })
      assert.equal(res.status, 400)
      const ok = await fetch(`${base}/api/todos`, { headers: { authorization: `Bearer ${token}` } })
      assert.equal(ok.status, 200)
      assert.equal(await server.stop('SIGTERM'), 0)

      const lines = server.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
      const completed = lines.filter((l) => l.msg === 'request completed' && l.oid === oid)
      assert.ok(completed.length >= 1, server.stdout)
      assert.equal(completed[0]?.tid, issuer.tenantId)
      assert.equal(typeof completed[0]?.azp, 'string')
      assert.ok(!server.stdout.includes(token.split('.')[2] ?? token))
      assert.ok(!server.stdout.includes('leak'))
      assert.ok(!server.stdout.includes('DEVELOPMENT MODE'))
      const shutdown = lines.map((l) => String(l.msg)).filter((m) => /^shut/.test(m))
      assert.deepEqual(shutdown, [
        'shutting down: not ready, draining for 0 ms',
        'shutting down: refusing new requests (503), then closing the listener and finishing the requests in progress',
        'shut down'
      ])
    } finally {
      await server.stop('SIGKILL')
      await issuer.close()
      dir.remove()
    }
  })

  test('a SHUTDOWN_DRAIN_MS that is not a whole number of milliseconds: exits 1 naming it', async () => {
    const dir = tempDir()
    const server = new Child(process.execPath, ['--import', 'tsx', SERVER_ENTRY], { cwd: REPO_ROOT, env: serviceEnv({ DATA_DIR: dir.path, PORT: '0', DEV_ISSUER_PORT: '0', SHUTDOWN_DRAIN_MS: '5s' }) })
    try {
      assert.equal(await server.exited, 1)
      assert.match(server.stderr, /^ {2}- SHUTDOWN_DRAIN_MS must be an integer from 0 to 110000 \(milliseconds\)$/m)
    } finally {
      dir.remove()
    }
  })

  test('production without Entra configuration: exits 1 naming the missing variables, and a bad SHUTDOWN_DRAIN_MS with them', async () => {
    const dir = tempDir()
    const server = new Child(process.execPath, ['--import', 'tsx', SERVER_ENTRY], { cwd: REPO_ROOT, env: serviceEnv({ NODE_ENV: 'production', DATA_DIR: dir.path, PORT: '0', SHUTDOWN_DRAIN_MS: '-1' }) })
    try {
      assert.equal(await server.exited, 1)
      assert.match(server.stderr, /AZURE_TENANT_ID is required when NODE_ENV=production/)
      assert.match(server.stderr, /AZURE_CLIENT_ID is required when NODE_ENV=production/)
      assert.match(server.stderr, /SHUTDOWN_DRAIN_MS must be an integer from 0 to 110000/)
    } finally {
      dir.remove()
    }
  })
})
