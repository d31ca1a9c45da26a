/**
 * Development mode as a newcomer meets it: `npm start` (more than once from one checkout), `npm run token`, and
 * the root URL. Slow tier: every test starts real processes.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import type { AddressInfo, Server } from 'node:net'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { buildApp } from '../../src/app.js'
import { ConfigError } from '../../src/config/config-error.js'
import { startTestIssuer } from 'fastify-entra-id/testing'
import { bearer, envFor, tempDir } from '../helpers/app.js'
import { Child, run, serviceEnv } from '../helpers/process.js'
import { REPO_ROOT, SERVER_ENTRY } from '../helpers/paths.js'

const PLUGIN_ENTRY = join(REPO_ROOT, 'packages', 'fastify-entra-id', 'dist', 'index.js')

/** A loopback port held open by the test, so the service under test finds it busy. */
async function holdPort(): Promise<{ port: number, server: Server }> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { port: (server.address() as AddressInfo).port, server }
}

/** A started development service: its base URL and the two tokens of its banner. */
async function banner(child: Child): Promise<{ base: string, read: string, write: string }> {
  const [, base = ''] = await child.waitFor(/curl -s (http:\/\/localhost:\d+)\/api\/todos -H/)
  const [, read = ''] = await child.waitFor(/export READ_TOKEN='([^']+)'/)
  const [, write = ''] = await child.waitFor(/export WRITE_TOKEN='([^']+)'/)
  return { base, read, write }
}

function token(args: readonly string[], dataDir: string): Promise<string> {
  return run(process.execPath, ['--import', 'tsx', 'scripts/token.ts', ...args], { cwd: REPO_ROOT, env: serviceEnv({ DATA_DIR: dataDir }) })
    .then((r) => r.stdout.trim())
}

describe('development mode', () => {
  test('three `npm start` from one checkout, 2 s apart, all come up on loopback and serve, and none rebuilds the plugin', { timeout: 180_000 }, async () => {
    const dir = tempDir()
    const builtAt = statSync(PLUGIN_ENTRY).mtimeMs
    const env = serviceEnv({ DATA_DIR: dir.path, PORT: '0', DEV_ISSUER_PORT: '0' })
    const servers: Child[] = []
    try {
      for (let i = 0; i < 3; i++) {
        if (i > 0) await new Promise((resolve) => setTimeout(resolve, 2000))
        servers.push(new Child('npm', ['start'], { cwd: REPO_ROOT, env, group: true }))
      }
      for (const server of servers) {
        const { base, read } = await banner(server)
        // No HOST given: development mode listens on loopback only. pino writes its lines asynchronously, so the
        // banner (written directly) can reach stdout before the "listening" line: wait for the line itself.
        await server.waitFor(/Server listening at http:\/\/127\.0\.0\.1:\d+/)
        assert.match(server.stdout, /Server listening at http:\/\/127\.0\.0\.1:\d+/)
        assert.doesNotMatch(server.stdout, /0\.0\.0\.0/)
        const ready = await fetch(`${base}/health/ready`)
        assert.equal(ready.status, 200)
        const list = await fetch(`${base}/api/todos`, { headers: bearer(read) })
        assert.equal(list.status, 200)
      }
      // Every start is still up after the last one came up.
      for (const server of servers) assert.equal(server.process.exitCode, null, server.stderr)
      assert.equal(statSync(PLUGIN_ENTRY).mtimeMs, builtAt, 'npm start leaves the built plugin alone')
    } finally {
      for (const server of servers) await server.stop('SIGTERM')
      dir.remove()
    }
  })

  test('a second start that finds its ports busy exits with one line and leaves the running service\'s tokens valid', { timeout: 120_000 }, async () => {
    const dir = tempDir()
    // The first service's issuer gets a port of our choosing (held until the service starts), so the second
    // one finds it busy.
    const reserved = await holdPort()
    await new Promise<void>((resolve) => reserved.server.close(() => { resolve() }))
    const first = new Child(process.execPath, ['--import', 'tsx', SERVER_ENTRY], {
      cwd: REPO_ROOT, env: serviceEnv({ DATA_DIR: dir.path, PORT: '0', DEV_ISSUER_PORT: String(reserved.port) })
    })
    let second: Child | undefined
    try {
      const { base, read } = await banner(first)
      const port = new URL(base).port
      second = new Child(process.execPath, ['--import', 'tsx', SERVER_ENTRY], {
        cwd: REPO_ROOT, env: serviceEnv({ DATA_DIR: dir.path, PORT: port, DEV_ISSUER_PORT: String(reserved.port) })
      })
      assert.equal(await second.exited, 1)
      assert.match(second.stdout, new RegExp(`127\\.0\\.0\\.1:${port} is already in use; stop the other process or set PORT`))
      assert.doesNotMatch(`${second.stdout}${second.stderr}`, /\n\s+at /, 'no stack trace')

      // The banner's token, and one minted afterwards from the saved state, both still verify.
      assert.equal((await fetch(`${base}/api/todos`, { headers: bearer(read) })).status, 200)
      const minted = await token(['--scope', 'Todo.Read'], dir.path)
      assert.equal((await fetch(`${base}/api/todos`, { headers: bearer(minted) })).status, 200)
    } finally {
      await second?.stop('SIGKILL')
      await first.stop('SIGTERM')
      dir.remove()
    }
  })

  test('`npm run token`: --app is the development app, not the user; --lifetime takes negative durations within and beyond the clock tolerance; --graph, --id-token, --audience and --tenant tokens are refused with their codes', { timeout: 120_000 }, async () => {
    const dir = tempDir()
    const server = new Child(process.execPath, ['--import', 'tsx', SERVER_ENTRY], { cwd: REPO_ROOT, env: serviceEnv({ DATA_DIR: dir.path, PORT: '0', DEV_ISSUER_PORT: '0' }) })
    try {
      const { base, write } = await banner(server)
      const me = async (t: string): Promise<Response> => fetch(`${base}/api/me`, { headers: bearer(t) })
      const user = await (await me(write)).json() as { oid: string }

      const appToken = await token(['--app', '--role', 'Todo.Read.All', '--role', 'Todo.Write.All'], dir.path)
      const app = await (await me(appToken)).json() as { oid: string, isAppOnly: boolean }
      assert.equal(app.isAppOnly, true)
      assert.notEqual(app.oid, user.oid, 'the app has its own object ID')
      assert.equal((await (await me(await token(['--app', '--role', 'Todo.Read.All'], dir.path))).json() as { oid: string }).oid, app.oid, 'the same app every time')

      // Todos the app creates are not in the user's list.
      const created = await fetch(`${base}/api/todos`, {
        method: 'POST', headers: { ...bearer(appToken), 'content-type': 'application/json' }, body: JSON.stringify({ title: 'by the app' })
      })
      assert.equal(created.status, 201)
      const mine = await (await fetch(`${base}/api/todos`, { headers: bearer(write) })).json() as { items: unknown[] }
      assert.deepEqual(mine.items, [])

      const expired = await me(await token(['--scope', 'Todo.Read', '--lifetime', '-1h'], dir.path))
      assert.equal(expired.status, 401)
      assert.match(expired.headers.get('www-authenticate') ?? '', /error="invalid_token", error_description="The token expired \d+ s ago: request a new token/)
      // The token script's look-alikes of the usual mistakes, each refused with its own code.
      for (const [args, code] of [
        [['--graph', '--scope', 'User.Read'], 'ENTRA_TOKEN_FOR_GRAPH'],
        [['--id-token'], 'ENTRA_TOKEN_ID_TOKEN'],
        [['--scope', 'Todo.Read', '--audience', randomUUID()], 'ENTRA_TOKEN_INVALID_AUDIENCE'],
        [['--scope', 'Todo.Read', '--tenant', randomUUID()], 'ENTRA_TOKEN_TENANT_NOT_ALLOWED']
      ] as const) {
        const refused = await me(await token(args, dir.path))
        assert.equal(refused.status, 401, args.join(' '))
        assert.equal(((await refused.json()) as { code?: unknown }).code, code, args.join(' '))
      }
      // Within the 300 s clock tolerance, as the help says.
      assert.equal((await me(await token(['--scope', 'Todo.Read', '--lifetime', '-2m'], dir.path))).status, 200)

      // --claim adds claims (as JSON) to a token that still verifies: how the step-up and guest cases are tried.
      const stepUp = await token(['--scope', 'Todo.Write', '--claim', 'acrs=["c1"]', '--claim', 'acct=1'], dir.path)
      const payload = JSON.parse(Buffer.from(stepUp.split('.')[1] ?? '', 'base64url').toString()) as { acrs: unknown, acct: unknown }
      assert.deepEqual([payload.acrs, payload.acct], [['c1'], 1])
      assert.equal((await me(stepUp)).status, 200)
      await assert.rejects(run(process.execPath, ['--import', 'tsx', 'scripts/token.ts', '--scope', 'Todo.Read', '--claim', 'acrs=[c1'],
        { cwd: REPO_ROOT, env: serviceEnv({ DATA_DIR: dir.path }) }), /--claim acrs: the value must be JSON/)

      const help = await run(process.execPath, ['--import', 'tsx', 'scripts/token.ts', '--help'], { cwd: REPO_ROOT })
      assert.match(help.stdout, /300 s/)
    } finally {
      await server.stop('SIGTERM')
      dir.remove()
    }
  })

  test('a DATA_DIR that is a file is named as the setting to fix, not reported as a file-system error', async () => {
    const dir = tempDir()
    const file = join(dir.path, 'a-file')
    writeFileSync(file, '')
    try {
      await assert.rejects(buildApp({ env: { DATA_DIR: file, DEV_ISSUER_PORT: '0', LOG_LEVEL: 'silent' } }), (error: unknown) => {
        assert.ok(error instanceof ConfigError)
        assert.deepEqual(error.problems, [`DATA_DIR must be a writable directory: the development issuer cannot keep its keys in ${file} (ENOTDIR)`])
        return true
      })
    } finally {
      dir.remove()
    }
  })

  test('GET / sends the browser to Swagger UI in development mode, and is not routed with Entra ID', async () => {
    const dir = tempDir()
    const development = await buildApp({ env: { DATA_DIR: dir.path, DEV_ISSUER_PORT: '0', LOG_LEVEL: 'silent' } })
    try {
      const root = await development.inject({ url: '/' })
      assert.equal(root.statusCode, 302)
      assert.equal(root.headers.location, '/docs')
    } finally {
      await development.close()
    }
    const issuer = await startTestIssuer()
    const entra = await buildApp({ env: { ...envFor(issuer, dir.path), LOG_LEVEL: 'silent' } })
    try {
      assert.equal((await entra.inject({ url: '/' })).statusCode, 404)
    } finally {
      await entra.close()
      await issuer.close()
      dir.remove()
    }
  })
})
