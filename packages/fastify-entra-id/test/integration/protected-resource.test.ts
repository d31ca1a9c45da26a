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
      audience: [issuer.clientId, `api://${issuer.clientId}`, MCP, API],
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
    const local = await entraApp(issuer, { audience: [issuer.clientId, MCP], protectedResources: [{ resource: MCP, scopes: ['https://todo.contoso.example/mcp/Todo.Read'] }] })
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
    const app = await entraApp(issuer, { audience: [issuer.clientId, 'https://api.contoso.example'], protectedResources: [{ resource: 'https://api.contoso.example' }], ...options })
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
    await app.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url, audience: [issuer.clientId, API, MCP], protectedResources: [{ resource: API }, { resource: MCP }] })
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
        await app.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url, audience: [issuer.clientId, MCP, 'https://other.example/mcp'], protectedResources: protectedResources as ProtectedResourceOptions[] })
      }, (error: unknown) => error instanceof EntraConfigError && error.option === option, JSON.stringify(protectedResources))
      await app.close()
    }
    // Loopback http is allowed, for development.
    const local = await appWith({ audience: [issuer.clientId, 'http://localhost:8080/mcp'], protectedResources: [{ resource: 'http://localhost:8080/mcp' }] })
    await local.close()
  })
})

describe('protected resources Entra can issue tokens for (AADSTS9010010 caught at start-up)', () => {
  let issuer: TestIssuer
  before(async () => { issuer = await startTestIssuer() })
  after(async () => { await issuer.close() })

  /** Registers the plugin with `options`; the EntraConfigError it fails with, or undefined once it started. */
  async function register(options: Partial<EntraIdPluginOptions>): Promise<EntraConfigError | undefined> {
    const app = Fastify()
    try {
      await app.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url, ...options })
      await app.ready()
      return undefined
    } catch (error) {
      if (error instanceof EntraConfigError) return error
      throw error
    } finally {
      await app.close()
    }
  }

  it('refuses a resource that is not an accepted audience, in one line naming the option and the fix', async () => {
    // The default audiences, the client ID and api://<client ID>, as in an app registration with no other URI.
    const error = await register({ protectedResources: [{ resource: API }, { resource: MCP, scopes: [`${MCP}/Todo.Read`] }] })
    assert.ok(error !== undefined, 'registration fails')
    assert.equal(error.code, 'ENTRA_CONFIG_INVALID')
    // The written index, though the resources are kept sorted by path length.
    assert.equal(error.option, 'protectedResources[0].resource')
    assert.equal(error.message,
      `fastify-entra-id: "protectedResources[0].resource" ("${API}") is not one of the accepted audiences, so Entra refuses clients asking for it (AADSTS9010010): add it to "audience" and as an Application ID URI (identifierUris) of the API's app registration, or name a resource that is one`)
    assert.ok(!error.message.includes('\n'))
    const second = await register({ audience: [issuer.clientId, API], protectedResources: [{ resource: API }, { resource: MCP }] })
    assert.equal(second?.option, 'protectedResources[1].resource')
  })

  it('compares exactly, as Entra does: another case, a final slash or an api:// twin is not the resource', async () => {
    const cases: Array<[string, string]> = [
      [MCP, 'https://TODO.contoso.example/mcp'],
      [MCP, `${MCP}/`],
      [MCP, 'https://todo.contoso.example'],
      [MCP, 'api://todo.contoso.example/mcp']
    ]
    for (const [resource, audience] of cases) {
      assert.equal((await register({ audience: [issuer.clientId, audience], protectedResources: [{ resource }] }))?.option,
        'protectedResources[0].resource', `${resource} against ${audience}`)
    }
  })

  it('refuses a resource ending with "/", which Entra refuses as an Application ID URI, even when listed', async () => {
    for (const resource of [`${MCP}/`, 'https://todo.contoso.example/']) {
      const error = await register({ audience: [issuer.clientId, resource], protectedResources: [{ resource }] })
      assert.equal(error?.option, 'protectedResources[0].resource', resource)
      assert.match(error.message, /must not end with "\/": Entra refuses an Application ID URI that does/)
      assert.ok(error.message.endsWith(`use "${resource.replace(/\/$/, '')}" (and list it in "audience")`), error.message)
    }
  })

  it('refuses a scope under a URI that is not an accepted audience: another application\'s scope', async () => {
    const error = await register({ audience: [issuer.clientId, MCP], protectedResources: [{ resource: MCP, scopes: [`${MCP}/Todo.Read`, 'api://other-api/Todo.Write'] }] })
    assert.equal(error?.option, 'protectedResources[0].scopes')
    assert.equal(error.message,
      `fastify-entra-id: "protectedResources[0].scopes" has "api://other-api/Todo.Write", under "api://other-api", which is not one of the accepted audiences: Entra refuses the resource "${MCP}" with another application's scope (AADSTS9010010); write it under the resource ("${MCP}/Todo.Write")`)
  })

  it('accepts each resource listed in the audiences, its scopes under it or under another of the API\'s URIs, and bare scopes', async () => {
    const accepted: Array<Partial<EntraIdPluginOptions>> = [
      { audience: [issuer.clientId, `api://${issuer.clientId}`, API, MCP], protectedResources: [{ resource: API, scopes: [`${API}/Todo.Read`] }, { resource: MCP, scopes: [`${MCP}/Todo.Read`, `${MCP}/.default`] }] },
      { audience: [issuer.clientId, `api://${issuer.clientId}`, MCP], protectedResources: [{ resource: MCP, scopes: [`api://${issuer.clientId}/Todo.Read`, `${issuer.clientId}/Todo.Write`] }] },
      { audience: [issuer.clientId, 'https://todo.contoso.example'], protectedResources: [{ resource: 'https://todo.contoso.example', scopes: ['https://todo.contoso.example/Todo.Read'] }] },
      { audience: [issuer.clientId, MCP], protectedResources: [{ resource: MCP, scopes: ['Todo.Read', 'offline_access'] }] },
      { audience: 'http://localhost:8080/mcp', protectedResources: [{ resource: 'http://localhost:8080/mcp' }] },
      {}
    ]
    for (const options of accepted) assert.equal(await register(options), undefined, JSON.stringify(options))
  })
})
