import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { startTestIssuer } from 'fastify-entra-id/testing'
import { buildApp } from '../../src/app.js'
import { ConfigError } from '../../src/config/config-error.js'
import { devIssuerFile } from '../../src/auth/dev-issuer.js'
import { bearer, envFor, tempDir } from '../helpers/app.js'

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47'
const CLIENT = '6e74172b-be56-4843-9ff4-e66a39bb12e3'

/** The problems `buildApp` reports for `env`, or fails when it starts. */
async function problemsOf(env: Record<string, string>): Promise<readonly string[]> {
  try {
    const app = await buildApp({ env: { LOG_LEVEL: 'silent', ...env } })
    await app.close()
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`)
    assert.match(error.message, /^Invalid configuration \(environment variables\):\n {2}- /)
    return error.problems
  }
  assert.fail('the app started')
}

describe('start-up configuration errors', () => {
  test('names every bad variable at once, without echoing values', async () => {
    const problems = await problemsOf({
      NODE_ENV: 'production',
      AZURE_TENANT_ID: 'not a tenant',
      AZURE_CLIENT_ID: 'my-api',
      PORT: '70000',
      LOG_LEVEL: 'verbose',
      DATABASE_URL: 'mysql://secret-password@db/todo'
    })
    assert.deepEqual(problems.map((p) => p.split(' ')[0]).sort(), ['AZURE_CLIENT_ID', 'AZURE_TENANT_ID', 'DATABASE_URL', 'LOG_LEVEL', 'PORT'])
    assert.ok(problems.includes('PORT must be an integer from 0 to 65535'))
    assert.ok(problems.includes('AZURE_CLIENT_ID must be the API\'s application (client) ID, a GUID, not its App ID URI (api://...): an App ID URI other than api://<client ID> goes in AUTH_AUDIENCES'))
    assert.ok(!problems.join('\n').includes('secret-password'))
  })

  test('AUTH_DELETE_AUTH_CONTEXT must be an authentication context ID', async () => {
    for (const value of ['C1', 'c0', 'c100', 'acrs1']) {
      assert.deepEqual(await problemsOf({ AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT, AUTH_DELETE_AUTH_CONTEXT: value }),
        ['AUTH_DELETE_AUTH_CONTEXT must be an authentication context ID, c1 to c99'], value)
    }
  })

  test('production without Entra configuration is refused: the development issuer never runs there', async () => {
    const dir = tempDir()
    const problems = await problemsOf({ NODE_ENV: 'production', DATA_DIR: dir.path })
    assert.deepEqual(problems, [
      'AZURE_TENANT_ID is required when NODE_ENV=production (the development issuer never runs in production)',
      'AZURE_CLIENT_ID is required when NODE_ENV=production'
    ])
    assert.equal(existsSync(devIssuerFile(dir.path)), false, 'no development keys were made')
    dir.remove()
  })

  test('a tenant without a client ID, and a client ID without a tenant, are refused', async () => {
    assert.deepEqual(await problemsOf({ AZURE_TENANT_ID: TENANT }), ['AZURE_CLIENT_ID is required when AZURE_TENANT_ID is set'])
    assert.deepEqual(await problemsOf({ AZURE_CLIENT_ID: CLIENT }),
      ['AZURE_TENANT_ID is required when AZURE_CLIENT_ID is set (unset both for development mode)'])
  })

  test('a multi-tenant API needs AUTH_ALLOWED_TENANTS; a single-tenant API refuses it', async () => {
    assert.deepEqual(await problemsOf({ NODE_ENV: 'production', AZURE_TENANT_ID: 'organizations', AZURE_CLIENT_ID: CLIENT }),
      ['AUTH_ALLOWED_TENANTS is required when AZURE_TENANT_ID=organizations: list the tenant IDs to accept, or * for every tenant'])
    assert.deepEqual(await problemsOf({ AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT, AUTH_ALLOWED_TENANTS: '*' }),
      ['AUTH_ALLOWED_TENANTS is only for a multi-tenant API (AZURE_TENANT_ID=organizations or common)'])
    assert.deepEqual(await problemsOf({ AZURE_TENANT_ID: 'common', AZURE_CLIENT_ID: CLIENT, AUTH_ALLOWED_TENANTS: 'contoso' }),
      ['AUTH_ALLOWED_TENANTS must be a comma-separated list of tenant IDs (GUIDs), or * for every tenant'])
  })

  test('an authority host the plugin refuses is reported under its variable', async () => {
    const problems = await problemsOf({ AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT, AZURE_AUTHORITY_HOST: 'http://login.example.com' })
    assert.equal(problems.length, 1)
    assert.match(problems[0] ?? '', /^AZURE_AUTHORITY_HOST: .*authorityHost/)
  })

  test('scope names are configurable', async () => {
    const dir = tempDir()
    const issuer = await startTestIssuer()
    const app = await buildApp({ env: envFor(issuer, dir.path, { AUTH_SCOPE_READ: 'Tasks.Read', AUTH_SCOPE_WRITE: 'Tasks.ReadWrite' }) })
    try {
      assert.equal((await app.inject({ url: '/api/todos', headers: bearer(await issuer.mint({ scopes: ['Tasks.Read'] })) })).statusCode, 200)
      assert.equal((await app.inject({ url: '/api/todos', headers: bearer(await issuer.mint({ scopes: ['Todo.Read'] })) })).statusCode, 403)
      const post = await app.inject({ method: 'POST', url: '/api/todos', headers: bearer(await issuer.mint({ scopes: ['Tasks.Read'] })), payload: { title: 'x' } })
      assert.match(String(post.headers['www-authenticate']), /scope="Tasks\.ReadWrite"/)
    } finally {
      await app.close()
      await issuer.close()
      dir.remove()
    }
  })

  test('AUTH_AUDIENCES adds accepted audiences and keeps the defaults', async () => {
    const dir = tempDir()
    const issuer = await startTestIssuer()
    const app = await buildApp({ env: envFor(issuer, dir.path, { AUTH_AUDIENCES: 'https://todo.contoso.example, https://todo2.contoso.example' }) })
    try {
      for (const audience of [issuer.clientId, `api://${issuer.clientId}`, 'https://todo.contoso.example', 'https://todo2.contoso.example']) {
        const res = await app.inject({ url: '/api/me', headers: bearer(await issuer.mint({ scopes: ['Todo.Read'], audience })) })
        assert.equal(res.statusCode, 200, audience)
      }
      const other = await app.inject({ url: '/api/me', headers: bearer(await issuer.mint({ scopes: ['Todo.Read'], audience: 'https://other.example' })) })
      assert.equal(other.statusCode, 401)
      assert.equal(other.json<{ code: string }>().code, 'ENTRA_TOKEN_INVALID_AUDIENCE')
      assert.deepEqual(app.authSettings.audiences,
        [issuer.clientId, `api://${issuer.clientId}`, 'https://todo.contoso.example', 'https://todo2.contoso.example'],
        'the settings list what the plugin accepts')
    } finally {
      await app.close()
      await issuer.close()
      dir.remove()
    }
  })
})

describe('development mode', () => {
  test('without AZURE_TENANT_ID, starts a local issuer whose tokens verify, and keeps its keys across restarts', async () => {
    const dir = tempDir()
    const env = { NODE_ENV: 'development', DATA_DIR: dir.path, DEV_ISSUER_PORT: '0', LOG_LEVEL: 'silent' }
    const first = await buildApp({ env })
    let token: string
    let firstUrl: string
    try {
      const issuer = first.authSettings.devIssuer
      assert.ok(issuer !== null)
      assert.match(issuer.url, /^http:\/\/127\.0\.0\.1:\d+$/)
      firstUrl = issuer.url
      token = await issuer.mint({ scopes: ['Todo.Read', 'Todo.Write'] })
      const created = await first.inject({ method: 'POST', url: '/api/todos', headers: bearer(token), payload: { title: 'Dev todo' } })
      assert.equal(created.statusCode, 201)
      assert.equal((statSync(devIssuerFile(dir.path)).mode & 0o777).toString(8), '600')
      assert.ok(existsSync(join(dir.path, 'todos.sqlite')))
    } finally {
      await first.close()
    }
    // Same keys, IDs and issuer after a restart, though the issuer now listens on another port (the first one
    // is held, so it cannot be given out again).
    const holder = createServer()
    await new Promise<void>((resolve) => holder.listen(Number(new URL(firstUrl).port), '127.0.0.1', resolve))
    const second = await buildApp({ env }).finally(() => { holder.close() })
    try {
      assert.notEqual(second.authSettings.devIssuer?.url, firstUrl, 'the restarted issuer listens on another port')
      const list = await second.inject({ url: '/api/todos', headers: bearer(token) })
      assert.equal(list.statusCode, 200)
      assert.deepEqual(list.json<{ items: { title: string }[] }>().items.map((t) => t.title), ['Dev todo'])
    } finally {
      await second.close()
      dir.remove()
    }
  })

  test('with AUTH_ALLOWED_TENANTS, accepts development tokens of other tenants', async () => {
    const dir = tempDir()
    const app = await buildApp({ env: { DATA_DIR: dir.path, DEV_ISSUER_PORT: '0', LOG_LEVEL: 'silent', AUTH_ALLOWED_TENANTS: '*' } })
    try {
      const issuer = app.authSettings.devIssuer
      assert.ok(issuer !== null)
      const token = await issuer.mint({ tenantId: 'cccccccc-cccc-4ccc-8ccc-cccccccccccc', scopes: ['Todo.Read'] })
      const me = await app.inject({ url: '/api/me', headers: bearer(token) })
      assert.equal(me.statusCode, 200)
      assert.equal(me.json<{ tid: string }>().tid, 'cccccccc-cccc-4ccc-8ccc-cccccccccccc')
    } finally {
      await app.close()
      dir.remove()
    }
  })
})
