import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { buildApp } from '../../src/app.js'
import { ConfigError } from '../../src/config/config-error.js'
import { startTestIssuer } from 'fastify-entra-id/testing'
import { bearer, envFor, startHarness, tempDir } from '../helpers/app.js'
import { captureLogs } from '../helpers/database-startup.js'
import type { Harness } from '../helpers/app.js'

const BASE = 'https://todo.contoso.example'

describe('PUBLIC_BASE_URL: RFC 9728 metadata of the REST API and the MCP server', () => {
  let h: Harness
  before(async () => { h = await startHarness('sqlite', { PUBLIC_BASE_URL: `${BASE}/` }) })
  after(async () => { await h.close() })

  test('describes {PUBLIC_BASE_URL}/api and {PUBLIC_BASE_URL}/mcp, each at its well-known path', async () => {
    const scopes = (resource: string) => [`${resource}/Todo.Read`, `${resource}/Todo.Write`]
    const api = await h.app.inject({ url: '/.well-known/oauth-protected-resource/api' })
    assert.equal(api.statusCode, 200)
    assert.deepEqual(api.json(), {
      resource: `${BASE}/api`,
      authorization_servers: [h.issuer.issuer(2)],
      scopes_supported: scopes(`${BASE}/api`),
      bearer_methods_supported: ['header'],
      resource_name: 'Todo REST API',
      resource_documentation: `${BASE}/docs`
    })
    assert.deepEqual((await h.app.inject({ url: '/.well-known/oauth-protected-resource/mcp' })).json(), {
      resource: `${BASE}/mcp`,
      authorization_servers: [h.issuer.issuer(2)],
      scopes_supported: scopes(`${BASE}/mcp`),
      bearer_methods_supported: ['header'],
      resource_name: 'Todo MCP server'
    })
  })

  test('serves no document at /api/ or /mcp/ (the identifier a client builds from them is not the resource, RFC 9728 §3.3)', async () => {
    for (const path of ['/api/', '/mcp/', '//api', '/api//']) {
      const response = await h.app.inject({ url: `/.well-known/oauth-protected-resource${path}` })
      assert.equal(response.statusCode, 404, path)
      assert.ok(!response.body.includes(BASE), path)
    }
  })

  test('the REST API\'s challenges name its metadata', async () => {
    const res = await h.app.inject({ url: '/api/todos' })
    assert.equal(res.statusCode, 401)
    assert.equal(res.headers['www-authenticate'], `Bearer realm="api", resource_metadata="${BASE}/.well-known/oauth-protected-resource/api"`)
    const forbidden = await h.app.inject({ method: 'POST', url: '/api/todos', headers: bearer(await h.issuer.mint({ scopes: ['Todo.Read'] })), payload: { title: 'x' } })
    assert.equal(forbidden.statusCode, 403)
    assert.match(String(forbidden.headers['www-authenticate']), new RegExp(`resource_metadata="${BASE}/\\.well-known/oauth-protected-resource/api", error="insufficient_scope", .*scope="${BASE}/api/Todo\\.Write"$`))
  })

  test('accepts v1 tokens whose audience is a resource identifier (the URI a client asked with), besides the defaults', async () => {
    for (const audience of [`${BASE}/mcp`, `${BASE}/api`, `api://${h.issuer.clientId}`]) {
      const token = await h.issuer.mint({ version: 1, scopes: ['Todo.Read'], audience })
      assert.equal((await h.app.inject({ url: '/api/me', headers: bearer(token) })).statusCode, 200, audience)
    }
    assert.equal((await h.app.inject({ url: '/api/me', headers: bearer(await h.issuer.mint({ scopes: ['Todo.Read'], audience: `${BASE}/other` })) })).statusCode, 401)
  })
})

describe('without PUBLIC_BASE_URL', () => {
  test('with Entra ID: no metadata, no resource_metadata, and a start-up line that says so', async () => {
    const dir = tempDir()
    const issuer = await startTestIssuer()
    const logs = captureLogs()
    const app = await buildApp({ env: envFor(issuer, dir.path, { LOG_LEVEL: 'info' }), fastify: { logger: { stream: logs.stream } } })
    try {
      await app.ready()
      assert.equal((await app.inject({ url: '/.well-known/oauth-protected-resource/mcp' })).statusCode, 404)
      assert.equal((await app.inject({ url: '/api/todos' })).headers['www-authenticate'], 'Bearer realm="api"')
      assert.equal(logs.lines.filter((line) => line.msg.startsWith('PUBLIC_BASE_URL is not set: no protected-resource metadata')).length, 1)
    } finally {
      await app.close()
      await issuer.close()
      dir.remove()
    }
  })

  test('a PUBLIC_BASE_URL the plugin refuses is reported under its name', async () => {
    const dir = tempDir()
    try {
      await assert.rejects(buildApp({ env: { DATA_DIR: dir.path, DEV_ISSUER_PORT: '0', LOG_LEVEL: 'silent', PUBLIC_BASE_URL: 'http://todo.contoso.example' } }),
        (error: unknown) => error instanceof ConfigError && error.problems.length === 1 && (error.problems[0] ?? '').startsWith('PUBLIC_BASE_URL: '))
      await assert.rejects(buildApp({ env: { DATA_DIR: dir.path, DEV_ISSUER_PORT: '0', LOG_LEVEL: 'silent', PUBLIC_BASE_URL: 'https://todo.contoso.example/app' } }),
        (error: unknown) => error instanceof ConfigError && (error.problems[0] ?? '').startsWith('PUBLIC_BASE_URL must be'))
    } finally {
      dir.remove()
    }
  })

  test('in development mode, defaults to the local URL', async () => {
    const dir = tempDir()
    const app = await buildApp({ env: { DATA_DIR: dir.path, DEV_ISSUER_PORT: '0', LOG_LEVEL: 'silent', PORT: '18999' } })
    try {
      assert.equal((await app.inject({ url: '/.well-known/oauth-protected-resource/mcp' })).json<{ resource: string }>().resource, 'http://localhost:18999/mcp')
    } finally {
      await app.close()
      dir.remove()
    }
  })
})
