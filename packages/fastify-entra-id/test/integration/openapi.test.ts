import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import swagger from '@fastify/swagger'
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger'
import { validate } from '@readme/openapi-parser'
import { EntraConfigError, EntraUsageError, fastifyEntraId, requireAuthContext, requireByCallerType, requireGroups, requireMember, requireRoles, requireScopes, requireScopesOrRoles } from '../../src/index.js'
import { withEntraIdSecurity } from '../../src/openapi/index.js'
import type { EntraIdOpenApiOptions } from '../../src/openapi/index.js'
import { accessSentence, routeAccess, securityOf } from '../../src/openapi/route-access.js'
import type { GuardDescription } from '../../src/openapi/index.js'
import { startTestIssuer } from '../../src/testing/index.js'
import type { TestIssuer } from '../../src/testing/index.js'

type Requirement = Record<string, string[]>
interface Response { description: string, headers?: Record<string, unknown>, content?: unknown }
interface Operation { security?: Requirement[], description?: string, responses: Record<string, Response> }
interface Flow { authorizationUrl: string, tokenUrl: string, scopes: Record<string, string> }
interface Scheme { type: string, scheme?: string, bearerFormat?: string, flows?: { authorizationCode?: Flow } }
interface Document {
  openapi: string
  components: { securitySchemes: Record<string, Scheme> }
  paths: Record<string, Record<string, Operation>>
}

const ok = () => ({ ok: true })

/** Validates `doc` against the OpenAPI schema of its version (@readme/openapi-parser), showing the errors if any. */
async function assertValid(doc: Document): Promise<void> {
  const result = await validate(structuredClone(doc) as never)
  assert.deepEqual({ valid: result.valid, errors: result.valid ? [] : result.errors }, { valid: true, errors: [] })
}

/** An app with the plugin, @fastify/swagger through withEntraIdSecurity, and one route per kind of guard. */
async function documentedApp(issuer: TestIssuer, version: string, options: EntraIdOpenApiOptions = {},
  swaggerOptions: FastifyDynamicSwaggerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url })
  await app.register(swagger, withEntraIdSecurity(app, {
    ...swaggerOptions,
    openapi: { openapi: version, info: { title: 'Guards', version: '1.0.0' }, ...swaggerOptions.openapi }
  }, options))
  app.get('/scope', { preHandler: requireScopes('Todo.Read') }, ok)
  app.get('/any-scope', { preHandler: requireScopes({ anyOf: ['Todo.Read', 'Todo.Write'] }) }, ok)
  app.get('/all-scopes', { preHandler: requireScopes({ allOf: ['Todo.Read', 'Todo.Write'] }) }, ok)
  app.get('/role', { preHandler: requireRoles('Todo.Read.All') }, ok)
  app.get('/any-role', { preHandler: requireRoles({ anyOf: ['Todo.Read.All', 'Todo.Write.All'] }) }, ok)
  app.get('/scope-or-role', { preHandler: requireScopesOrRoles({ scopes: 'Todo.Read', roles: 'Todo.Read.All' }) }, ok)
  app.get('/by-caller', { onRequest: requireByCallerType({ user: { scopes: 'Todo.Read' }, app: { roles: 'Todo.Read.All' } }) }, ok)
  app.get('/users-only', { preHandler: requireByCallerType({ user: { scopes: 'Todo.Read' } }) }, ok)
  app.get('/any-token', { onRequest: app.entraId.authenticate }, ok)
  // Two hooks, both required: the description joins them.
  app.get('/two-hooks', { onRequest: [app.entraId.authenticate, requireScopes('Todo.Write')], preHandler: requireScopes('Todo.Read') }, ok)
  app.get('/own-security', {
    preHandler: requireScopes('Todo.Read'),
    schema: { security: [], response: { 403: { description: 'Not your todo', type: 'object' } } }
  }, ok)
  app.get('/described', { preHandler: requireScopes('Todo.Read'), schema: { summary: 'Read', description: 'Reads a todo.' } }, ok)
  app.get('/public', ok)
  await app.ready()
  return app
}

describe('OpenAPI from the guards (fastify-entra-id/openapi)', () => {
  let issuer: TestIssuer
  let app: FastifyInstance
  let doc: Document
  let api: string
  const operation = (path: string): Operation => {
    const found = doc.paths[path]?.get
    assert.ok(found !== undefined, `GET ${path} is documented`)
    return found
  }

  before(async () => {
    issuer = await startTestIssuer()
    api = `api://${issuer.clientId}`
    app = await documentedApp(issuer, '3.1.0', {
      oauth2: { scopes: { 'Todo.Write': 'Change your todos', 'Todo.Read': 'Read your todos' } },
      // Narrower than the error handler's body: were it a response schema, Fastify would serialize refusals with it.
      errorSchema: { type: 'object', properties: { message: { type: 'string' } } }
    })
    doc = app.swagger() as unknown as Document
  })
  after(async () => {
    await app.close()
    await issuer.close()
  })

  it('generates a document that validates as OpenAPI 3.1', async () => {
    assert.equal(doc.openapi, '3.1.0')
    await assertValid(doc)
  })

  it('declares the sign-in at the endpoints the tenant\'s discovery document names, with PKCE, and a bearer scheme', async () => {
    const discovery = await (await fetch(`${issuer.url}/${issuer.tenantId}/v2.0/.well-known/openid-configuration`)).json() as
      { authorization_endpoint: string, token_endpoint: string }
    const schemes = doc.components.securitySchemes
    assert.deepEqual(Object.keys(schemes).sort(), ['bearerToken', 'entraId'])
    const flow = schemes.entraId?.flows?.authorizationCode
    assert.equal(schemes.entraId?.type, 'oauth2')
    assert.equal(flow?.authorizationUrl, discovery.authorization_endpoint)
    assert.equal(flow?.tokenUrl, discovery.token_endpoint)
    assert.deepEqual({ type: schemes.bearerToken?.type, scheme: schemes.bearerToken?.scheme, bearerFormat: schemes.bearerToken?.bearerFormat },
      { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
  })

  it('lists full scope strings in the flow: the described ones in their order, then every other scope a route requires', () => {
    assert.deepEqual(doc.components.securitySchemes.entraId?.flows?.authorizationCode?.scopes, {
      [`${api}/Todo.Write`]: 'Change your todos',
      [`${api}/Todo.Read`]: 'Read your todos'
    })
  })

  it('requireScopes: one OAuth2 requirement per scope of anyOf, one with every scope of allOf, and a pasted bearer token', () => {
    assert.deepEqual(operation('/scope').security, [{ entraId: [`${api}/Todo.Read`] }, { bearerToken: [] }])
    assert.deepEqual(operation('/any-scope').security, [{ entraId: [`${api}/Todo.Read`] }, { entraId: [`${api}/Todo.Write`] }, { bearerToken: [] }])
    assert.deepEqual(operation('/all-scopes').security, [{ entraId: [`${api}/Todo.Read`, `${api}/Todo.Write`] }, { bearerToken: [] }])
    assert.match(operation('/any-scope').description ?? '', /Users need one of the delegated scopes `Todo\.Read`, `Todo\.Write`\. App-only tokens are refused\./)
  })

  it('requireRoles: the bearer requirement lists the app roles (OpenAPI 3.1), and the sentence names them', () => {
    assert.deepEqual(operation('/role').security, [{ entraId: [] }, { bearerToken: ['Todo.Read.All'] }])
    assert.deepEqual(operation('/any-role').security, [{ entraId: [] }, { bearerToken: ['Todo.Read.All'] }, { bearerToken: ['Todo.Write.All'] }])
    assert.match(operation('/role').description ?? '', /Applications calling as themselves need the app role `Todo\.Read\.All`\./)
  })

  it('requireByCallerType and requireScopesOrRoles: scopes for users, app roles for applications named in the description', () => {
    assert.deepEqual(operation('/by-caller').security, [{ entraId: [`${api}/Todo.Read`] }, { bearerToken: [] }])
    assert.equal(operation('/by-caller').description,
      '**Access:** Users need the delegated scope `Todo.Read`. Applications calling as themselves need the app role `Todo.Read.All`.')
    assert.deepEqual(operation('/scope-or-role').security, [{ entraId: [`${api}/Todo.Read`] }, { entraId: [] }, { bearerToken: [] }])
    assert.match(operation('/scope-or-role').description ?? '', /Users need one of: the delegated scope `Todo\.Read`; the app role `Todo\.Read\.All`\./)
    assert.match(operation('/users-only').description ?? '', /App-only tokens are refused\./)
  })

  it('authenticate: any token, and no 403 documented since a verified token always passes', () => {
    const anyToken = operation('/any-token')
    assert.deepEqual(anyToken.security, [{ entraId: [] }, { bearerToken: [] }])
    assert.equal(anyToken.description, '**Access:** Any valid access token for this API.')
    assert.deepEqual(Object.keys(anyToken.responses).sort(), ['200', '400', '401', '503'])
  })

  it('joins several guards of one route: every one must pass', () => {
    assert.deepEqual(operation('/two-hooks').security, [{ entraId: [`${api}/Todo.Write`, `${api}/Todo.Read`] }, { bearerToken: [] }])
    assert.match(operation('/two-hooks').description ?? '', /the delegated scopes `Todo\.Write` and `Todo\.Read`/)
  })

  it('describes the 401, 403 and 503 answers with their headers, after the route\'s own description', () => {
    const scope = operation('/scope')
    assert.deepEqual(Object.keys(scope.responses).sort(), ['200', '400', '401', '403', '503'])
    assert.ok(scope.responses['401']?.headers?.['www-authenticate'] !== undefined)
    assert.ok(scope.responses['403']?.headers?.['www-authenticate'] !== undefined)
    assert.ok(scope.responses['503']?.headers?.['retry-after'] !== undefined)
    assert.deepEqual(scope.responses['401']?.content, { 'application/json': { schema: { type: 'object', properties: { message: { type: 'string' } } } } })
    assert.match(operation('/described').description ?? '', /^Reads a todo\.\n\n\*\*Access:\*\* Users need the delegated scope `Todo\.Read`\./)
  })

  it('keeps the security and the responses a route declares itself', () => {
    const own = operation('/own-security')
    assert.deepEqual(own.security, [])
    assert.equal(own.responses['403']?.description, 'Not your todo')
    assert.ok(own.responses['401'] !== undefined)
  })

  it('leaves a route without a guard alone: no security, no added answers', () => {
    const open = operation('/public')
    assert.equal(open.security, undefined)
    assert.deepEqual(Object.keys(open.responses), ['200'])
  })

  it('changes only the document: a refusal is still answered with the error handler\'s whole body', async () => {
    const refused = await app.inject({ url: '/scope' })
    assert.equal(refused.statusCode, 401)
    assert.deepEqual(Object.keys(refused.json<Record<string, unknown>>()).sort(), ['code', 'error', 'message', 'statusCode'])
    assert.equal(refused.json<{ code: string }>().code, 'ENTRA_TOKEN_MISSING')
  })
})

describe('fastify-entra-id/openapi options', () => {
  let issuer: TestIssuer
  before(async () => { issuer = await startTestIssuer() })
  after(async () => { await issuer.close() })

  it('without the OAuth2 scheme (an issuer with no authorization endpoint), documents the bearer token only', async () => {
    const app = await documentedApp(issuer, '3.1.0', { oauth2: false })
    try {
      const doc = app.swagger() as unknown as Document
      assert.deepEqual(Object.keys(doc.components.securitySchemes), ['bearerToken'])
      assert.deepEqual(doc.paths['/scope']?.get?.security, [{ bearerToken: [] }])
      assert.doesNotMatch(JSON.stringify(doc.paths), /entraId/)
      await assertValid(doc)
    } finally {
      await app.close()
    }
  })

  it('in an OpenAPI 3.0 document, lists no roles under the bearer scheme (3.0 requires the list empty) and still validates', async () => {
    const app = await documentedApp(issuer, '3.0.3')
    try {
      const doc = app.swagger() as unknown as Document
      assert.deepEqual(doc.paths['/role']?.get?.security, [{ entraId: [] }, { bearerToken: [] }])
      await assertValid(doc)
    } finally {
      await app.close()
    }
  })

  it('writes scopes with the scopePrefix given, and takes the scheme names, URLs and the application\'s own schemes and transforms', async () => {
    const app = await documentedApp(issuer, '3.1.0', {
      scopePrefix: 'https://contoso.com/todo/',
      oauth2: { name: 'signIn', authorizationUrl: 'https://login.example/authorize', tokenUrl: 'https://login.example/token' },
      bearer: { name: 'pasted' }
    }, {
      openapi: { components: { securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } } } },
      transform: ({ schema, url }) => ({ schema: { ...schema, summary: `summary of ${url}` }, url })
    })
    try {
      const doc = app.swagger() as unknown as Document
      assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['apiKey', 'pasted', 'signIn'])
      assert.deepEqual(doc.components.securitySchemes.signIn?.flows?.authorizationCode, {
        authorizationUrl: 'https://login.example/authorize',
        tokenUrl: 'https://login.example/token',
        scopes: { 'https://contoso.com/todo/Todo.Read': 'Delegated scope Todo.Read', 'https://contoso.com/todo/Todo.Write': 'Delegated scope Todo.Write' }
      })
      assert.deepEqual(doc.paths['/scope']?.get?.security, [{ signIn: ['https://contoso.com/todo/Todo.Read'] }, { pasted: [] }])
      assert.equal((doc.paths['/scope']?.get as { summary?: string } | undefined)?.summary, 'summary of /scope')
      await assertValid(doc)
    } finally {
      await app.close()
    }
  })

  it('refuses bad options by name, and an app without the plugin with ENTRA_PLUGIN_MISSING', async () => {
    const app = Fastify()
    try {
      assert.throws(() => withEntraIdSecurity(app), (error: unknown) => error instanceof EntraUsageError && error.code === 'ENTRA_PLUGIN_MISSING')
      await app.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url })
      const refused = (options: EntraIdOpenApiOptions, swaggerOptions: FastifyDynamicSwaggerOptions = {}) => {
        try {
          withEntraIdSecurity(app, swaggerOptions, options)
        } catch (error) {
          return error instanceof EntraConfigError ? error.option : error
        }
        return 'accepted'
      }
      assert.equal(refused({ scopePrefix: 'api://no-slash' }), 'scopePrefix')
      assert.equal(refused({ oauth2: { authorizationUrl: '/authorize' } }), 'oauth2.authorizationUrl')
      assert.equal(refused({ oauth2: { name: 'same' }, bearer: { name: 'same' } }), 'oauth2.name')
      assert.equal(refused({ bearer: { name: 'has space' } }), 'bearer.name')
      assert.equal(refused({}, { openapi: { components: { securitySchemes: { bearerToken: { type: 'http', scheme: 'basic' } } } } }), 'bearer.name')
      assert.equal(refused({}, { swagger: { info: { title: 'Swagger 2.0', version: '1' } } }), 'swaggerOptions')
      assert.equal(refused({}), 'accepted')
    } finally {
      await app.close()
    }
  })
})

describe('fastify-entra-id/openapi with conditions and optional authentication', () => {
  // Guards that add conditions or let anonymous requests through are described the same way; their routes get
  // the empty requirement and the conditions in the sentence.
  const optionalWithContext: GuardDescription = {
    user: [{ scopes: { match: 'anyOf', values: ['Todo.Read'] } }], app: [], conditions: ['authentication context c1'], optional: true
  }
  const naming = { oauth2: 'entraId', bearer: 'bearerToken', scopePrefix: 'api://x/', rolesInRequirements: true }

  it('adds the empty requirement {} for an optional route, and names its conditions', () => {
    const access = routeAccess([optionalWithContext])
    assert.deepEqual(securityOf(access, naming), [{ entraId: ['api://x/Todo.Read'] }, { bearerToken: [] }, {}])
    assert.equal(accessSentence(access), 'Users need the delegated scope `Todo.Read`. App-only tokens are refused. ' +
      'Also required: authentication context c1. ' +
      'The token is optional: without one the operation answers anonymously, and a token that is sent must be valid.')
  })

  it('documents the real optional hook and the guards beyond scopes through @fastify/swagger', async () => {
    const issuer = await startTestIssuer()
    const app = Fastify()
    try {
      await app.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url })
      await app.register(swagger, withEntraIdSecurity(app, { openapi: { openapi: '3.1.0', info: { title: 'x', version: '1' } } }))
      app.get('/feed', { onRequest: app.entraId.authenticateOptional }, ok)
      app.delete('/todo', { preHandler: [requireScopes('Todo.Write'), requireAuthContext('c1')] }, ok)
      app.get('/staff', { preHandler: [requireScopes('Todo.Read'), requireMember(), requireGroups('2f0c4a1e-7b9d-4e53-8a61-0c3d5e7f9a1b')] }, ok)
      await app.ready()
      const doc = app.swagger() as unknown as Document
      await assertValid(doc)
      const prefix = `api://${issuer.clientId}/`
      assert.deepEqual(doc.paths['/feed']?.get?.security, [{ entraId: [] }, { bearerToken: [] }, {}])
      assert.deepEqual(doc.paths['/todo']?.delete?.security, [{ entraId: [`${prefix}Todo.Write`] }, { bearerToken: [] }])
      assert.match(doc.paths['/todo']?.delete?.description ?? '', /authentication context c1/)
      assert.match(doc.paths['/staff']?.get?.description ?? '', /no guest accounts.*claim groups: 2f0c4a1e/)
    } finally {
      await app.close()
      await issuer.close()
    }
  })

  it('is optional only when every guard is: with a required guard, no {}', () => {
    const required: GuardDescription = { user: [{}], app: [{}], conditions: ['no guest accounts'], optional: false }
    const access = routeAccess([optionalWithContext, required])
    assert.deepEqual(securityOf(access, naming), [{ entraId: ['api://x/Todo.Read'] }, { bearerToken: [] }])
    assert.deepEqual(access.conditions, ['authentication context c1', 'no guest accounts'])
  })
})
