import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { EntraConfigError, InsufficientScopeError, fastifyEntraId, requireScopes } from '../../src/index.js'
import type { EntraIdPluginOptions } from '../../src/index.js'
import type { ProtectedResourceOptions } from '../../src/core/index.js'
import { startTestIssuer } from '../../src/testing/index.js'
import type { TestIssuer } from '../../src/testing/index.js'
import { bearer, entraApp, outcome } from '../helpers.js'

const MCP = 'https://todo.contoso.example/mcp'
const MCP_METADATA = 'https://todo.contoso.example/.well-known/oauth-protected-resource/mcp'
const API = 'https://todo.contoso.example/api'

describe('RFC 9728 protected-resource metadata', () => {
  let issuer: TestIssuer
  let app: FastifyInstance

  before(async () => {
    issuer = await startTestIssuer()
    app = Fastify()
    await app.register(fastifyEntraId, {
      tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url,
      protectedResources: [
        { resource: MCP, scopes: [`api://${issuer.clientId}/Todo.Read`, `api://${issuer.clientId}/Todo.Write`], resourceName: 'Todo MCP server', resourceDocumentation: 'https://todo.contoso.example/docs' },
        { resource: API }
      ]
    })
    app.post('/mcp', { onRequest: requireScopes('Todo.Read') }, () => ({ ok: true }))
    app.get('/mcp/tools', { onRequest: requireScopes('Todo.Write') }, () => ({ ok: true }))
    app.get('/mcpx', { onRequest: app.entraId.authenticate }, () => ({ ok: true }))
    app.get('/api/todos', { onRequest: app.entraId.authenticate }, () => ({ ok: true }))
    app.get('/api/raise', { onRequest: app.entraId.authenticate }, (request) => {
      throw app.entraId.challengeFor(request, new InsufficientScopeError(['Todo.Admin'], 'Needs Todo.Admin'))
    })
    app.get('/other', { onRequest: app.entraId.authenticate }, () => ({ ok: true }))
    await app.ready()
  })
  after(async () => {
    await app.close()
    await issuer.close()
  })

  it('serves the metadata document at the well-known path RFC 9728 §3.1 builds from the resource\'s path', async () => {
    const response = await app.inject({ url: '/.well-known/oauth-protected-resource/mcp' })
    assert.equal(response.statusCode, 200)
    assert.match(String(response.headers['content-type']), /^application\/json/)
    assert.equal(response.headers['cache-control'], 'public, max-age=3600')
    assert.deepEqual(response.json(), {
      resource: MCP,
      authorization_servers: [issuer.issuer(2)],
      scopes_supported: [`api://${issuer.clientId}/Todo.Read`, `api://${issuer.clientId}/Todo.Write`],
      bearer_methods_supported: ['header'],
      resource_name: 'Todo MCP server',
      resource_documentation: 'https://todo.contoso.example/docs'
    })
  })

  it('omits the members it was not given', async () => {
    assert.deepEqual((await app.inject({ url: '/.well-known/oauth-protected-resource/api' })).json(),
      { resource: API, authorization_servers: [issuer.issuer(2)], bearer_methods_supported: ['header'] })
  })

  it('ignores the Host header: the URLs are the configured ones', async () => {
    const response = await app.inject({ url: '/.well-known/oauth-protected-resource/mcp', headers: { host: 'evil.example', 'x-forwarded-host': 'evil.example' } })
    assert.equal(response.json<{ resource: string }>().resource, MCP)
    const challenge = outcome(await app.inject({ method: 'POST', url: '/mcp', headers: { host: 'evil.example' } })).challenge
    assert.equal(challenge, `Bearer realm="api", resource_metadata="${MCP_METADATA}"`)
  })

  it('points every challenge of a request under the resource at its metadata: no token, a bad token, a missing scope', async () => {
    assert.deepEqual(outcome(await app.inject({ method: 'POST', url: '/mcp' })),
      { status: 401, code: 'ENTRA_TOKEN_MISSING', challenge: `Bearer realm="api", resource_metadata="${MCP_METADATA}"` })
    const expired = outcome(await app.inject({ method: 'POST', url: '/mcp', headers: bearer(await issuer.mint({ scopes: ['Todo.Read'], expiresIn: -3600 })) }))
    assert.match(String(expired.challenge), new RegExp(`^Bearer realm="api", resource_metadata="${MCP_METADATA}", error="invalid_token", error_description="The token expired`))
    const forbidden = outcome(await app.inject({ url: '/mcp/tools', headers: bearer(await issuer.mint({ scopes: ['Todo.Read'] })) }))
    assert.equal(forbidden.status, 403)
    // The scope as the resource lists it: what the client must ask Entra for.
    assert.equal(forbidden.challenge,
      `Bearer realm="api", resource_metadata="${MCP_METADATA}", error="insufficient_scope", error_description="The token lacks the required scope: Todo.Write", scope="api://${issuer.clientId}/Todo.Write"`)
    assert.equal(outcome(await app.inject({ url: '/mcp?x=1', method: 'POST', headers: { authorization: 'Bearer a b' } })).challenge,
      `Bearer realm="api", resource_metadata="${MCP_METADATA}", error="invalid_request", error_description="The Bearer authorization header must carry exactly one token"`)
  })

  it('matches by path segment: /mcpx is not under /mcp, and a route outside every resource names none', async () => {
    assert.equal(outcome(await app.inject({ url: '/mcpx' })).challenge, 'Bearer realm="api"')
    assert.equal(outcome(await app.inject({ url: '/other' })).challenge, 'Bearer realm="api"')
    assert.equal(outcome(await app.inject({ url: '/api/todos' })).challenge,
      'Bearer realm="api", resource_metadata="https://todo.contoso.example/.well-known/oauth-protected-resource/api"')
  })

  it('names a scope the resource does not list, or an app role, as it is', async () => {
    const local = await entraApp(issuer, { protectedResources: [{ resource: MCP, scopes: ['https://todo.contoso.example/mcp/Todo.Read'] }] })
    local.get('/mcp/x', { onRequest: requireScopes({ anyOf: ['Todo.Read', 'Todo.Admin'] }) }, () => ({ ok: true }))
    try {
      assert.match(String(outcome(await local.inject({ url: '/mcp/x', headers: bearer(await issuer.mint({ scopes: ['Other'] })) })).challenge),
        /, scope="https:\/\/todo\.contoso\.example\/mcp\/Todo\.Read Todo\.Admin"$/)
    } finally {
      await local.close()
    }
  })

  it('challengeFor prepares an application\'s own refusal the same way', async () => {
    const result = outcome(await app.inject({ url: '/api/raise', headers: bearer(await issuer.mint({ scopes: ['Todo.Read'] })) }))
    assert.equal(result.challenge,
      'Bearer realm="api", resource_metadata="https://todo.contoso.example/.well-known/oauth-protected-resource/api", error="insufficient_scope", error_description="Needs Todo.Admin", scope="Todo.Admin"')
  })
})

describe('protected-resource metadata: authorization servers and start-up', () => {
  let issuer: TestIssuer
  before(async () => { issuer = await startTestIssuer() })
  after(async () => { await issuer.close() })

  async function appWith(options: Partial<EntraIdPluginOptions>): Promise<FastifyInstance> {
    const app = await entraApp(issuer, { protectedResources: [{ resource: 'https://api.contoso.example' }], ...options })
    return app
  }

  it('a resource without a path is described at the bare well-known path', async () => {
    const app = await appWith({})
    app.get('/anything', { onRequest: app.entraId.authenticate }, () => ({ ok: true }))
    try {
      assert.equal((await app.inject({ url: '/.well-known/oauth-protected-resource' })).json<{ resource: string }>().resource, 'https://api.contoso.example')
      assert.match(String(outcome(await app.inject({ url: '/anything' })).challenge), /resource_metadata="https:\/\/api\.contoso\.example\/\.well-known\/oauth-protected-resource"/)
    } finally {
      await app.close()
    }
  })

  it('answers before the keys are loaded, for a tenant given as a GUID; a domain tenant waits for discovery (503)', async () => {
    issuer.setBehaviour('down')
    const byGuid = await appWith({ tenantId: issuer.tenantId.toUpperCase() })
    const byDomain = await appWith({ tenantId: 'contoso.example' })
    try {
      await byGuid.ready()
      await byDomain.ready()
      assert.equal(byGuid.entraId.isReady(), false)
      const response = await byGuid.inject({ url: '/.well-known/oauth-protected-resource' })
      assert.equal(response.statusCode, 200)
      assert.deepEqual(response.json<{ authorization_servers: string[] }>().authorization_servers, [issuer.issuer(2)])
      const waiting = await byDomain.inject({ url: '/.well-known/oauth-protected-resource' })
      assert.equal(waiting.statusCode, 503)
      assert.ok(Number(waiting.headers['retry-after']) >= 1)
    } finally {
      issuer.setBehaviour('normal')
      await byGuid.close()
      await byDomain.close()
    }
  })

  it('serves no document at a path whose identifier is not exactly a resource (RFC 9728 §3.3), whatever the router matches', async () => {
    const issuer = await startTestIssuer()
    // The router options under which Fastify matches these variants to the metadata route.
    const app = Fastify({ routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, caseSensitive: false } })
    await app.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url, protectedResources: [{ resource: API }, { resource: MCP }] })
    try {
      for (const path of ['/api', '/mcp']) {
        assert.equal((await app.inject({ url: `/.well-known/oauth-protected-resource${path}` })).statusCode, 200, path)
        assert.equal((await app.inject({ url: `/.well-known/oauth-protected-resource${path}?x=1` })).statusCode, 200, `${path} with a query`)
        for (const variant of [`${path}/`, `/${path}`, path.toUpperCase(), `${path}//`]) {
          const response = await app.inject({ url: `/.well-known/oauth-protected-resource${variant}` })
          assert.equal(response.statusCode, 404, variant)
          assert.ok(!response.body.includes('"resource"'), variant)
        }
      }
    } finally {
      await app.close()
      await issuer.close()
    }
  })

  it('a multi-tenant API names the organizations authority', async () => {
    const app = await appWith({ tenantId: 'organizations', allowedTenants: '*' })
    try {
      assert.deepEqual((await app.inject({ url: '/.well-known/oauth-protected-resource' })).json<{ authorization_servers: string[] }>().authorization_servers,
        [`${issuer.url}/organizations/v2.0`])
    } finally {
      await app.close()
    }
  })

  it('refuses a resource identifier that is not an absolute https URL without query or fragment, naming the option', async () => {
    const bad: Array<[unknown, string]> = [
      [[{ resource: 'http://todo.contoso.example/mcp' }], 'protectedResources[0].resource'],
      [[{ resource: '/mcp' }], 'protectedResources[0].resource'],
      [[{ resource: 'https://todo.contoso.example/mcp#x' }], 'protectedResources[0].resource'],
      [[{ resource: 'https://todo.contoso.example/mcp?tenant=1' }], 'protectedResources[0].resource'],
      [[{ resource: 'https://user:pw@todo.contoso.example/mcp' }], 'protectedResources[0].resource'],
      [[{ resource: MCP }, { resource: 'https://other.example/mcp' }], 'protectedResources[1].resource'],
      [[{ resource: MCP, scopes: ['Todo Read'] }], 'protectedResources[0].scopes'],
      [[{ resource: MCP, resourceDocumentation: 'ftp://docs' }], 'protectedResources[0].resourceDocumentation'],
      [[{ resource: MCP, resourceName: '' }], 'protectedResources[0].resourceName'],
      ['https://todo.contoso.example/mcp', 'protectedResources']
    ]
    for (const [protectedResources, option] of bad) {
      const app = Fastify()
      await assert.rejects(async () => {
        await app.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url, protectedResources: protectedResources as ProtectedResourceOptions[] })
      }, (error: unknown) => error instanceof EntraConfigError && error.option === option, JSON.stringify(protectedResources))
      await app.close()
    }
    // Loopback http is allowed, for development.
    const local = await appWith({ protectedResources: [{ resource: 'http://localhost:8080/mcp' }] })
    await local.close()
  })
})
