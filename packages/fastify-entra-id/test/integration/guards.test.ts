import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { EntraConfigError, fastifyEntraId, identityOf, requireByCallerType, requireRoles, requireScopes, requireScopesOrRoles } from '../../src/index.js'
import { describeGuard } from '../../src/openapi/index.js'
import type { Requirement } from '../../src/index.js'
import { startTestIssuer } from '../../src/testing/index.js'
import type { TestIssuer } from '../../src/testing/index.js'
import { bearer, entraApp, outcome } from '../helpers.js'

const forbidden = (description: string, scope?: string): string =>
  `Bearer realm="api", error="insufficient_scope", error_description="${description}"${scope === undefined ? '' : `, scope="${scope}"`}`

describe('route guards', () => {
  let issuer: TestIssuer
  let app: FastifyInstance

  before(async () => {
    issuer = await startTestIssuer()
    app = await entraApp(issuer)
    const ok = () => ({ ok: true })
    app.get('/read', { onRequest: app.entraId.authenticate, preHandler: requireScopes('Todo.Read') }, ok)
    app.get('/any', { preHandler: requireScopes({ anyOf: ['Todo.Read', 'Todo.Write'] }) }, ok)
    app.get('/all', { preHandler: requireScopes({ allOf: ['Todo.Read', 'Todo.Write'] }) }, ok)
    app.get('/role', { preHandler: requireRoles('Todo.Read.All') }, ok)
    app.get('/roles-all', { preHandler: requireRoles({ allOf: ['Todo.Read.All', 'Todo.Write.All'] }) }, ok)
    app.get('/either', { preHandler: requireScopesOrRoles({ scopes: 'Todo.Read', roles: 'Todo.Read.All' }) }, ok)
    app.get('/split', { preHandler: requireByCallerType({ user: { scopes: 'Todo.Read' }, app: { roles: 'Todo.Read.All' } }) }, ok)
    app.get('/users-only', { preHandler: requireByCallerType({ user: { scopes: 'Todo.Read' } }) }, ok)
    app.get('/early', { onRequest: [app.entraId.authenticate, requireScopes('Todo.Write')] }, ok)
    app.post('/early', { onRequest: [app.entraId.authenticate, requireScopes('Todo.Write')] }, ok)
    await app.ready()
  })
  after(async () => {
    await app.close()
    await issuer.close()
  })

  const call = async (url: string, token?: string) =>
    outcome(await app.inject({ url, headers: token === undefined ? {} : bearer(token) }))
  const user = (scopes: string[], roles: string[] = []) => issuer.mint({ scopes, roles })
  const application = (roles: string[]) => issuer.mint({ appOnly: true, roles })

  it('requireScopes lets a caller with the scope through', async () => {
    assert.equal((await call('/read', await user(['Todo.Read']))).status, 200)
  })

  it('requireScopes answers 403 insufficient_scope naming the scope', async () => {
    assert.deepEqual(await call('/read', await user(['Todo.Write'])), {
      status: 403, code: 'ENTRA_INSUFFICIENT_SCOPE', challenge: forbidden('The token lacks the required scope: Todo.Read', 'Todo.Read')
    })
  })

  it('compares scopes whole and case-sensitively', async () => {
    for (const scp of [['todo.read'], ['Todo'], ['Todo.Read.All'], ['Todo.ReadWrite']]) {
      assert.equal((await call('/read', await user(scp))).status, 403, scp.join(' '))
    }
  })

  it('never takes a role for a scope: an app role named like the scope does not pass requireScopes', async () => {
    assert.equal((await call('/read', await application(['Todo.Read']))).status, 403)
    assert.equal((await call('/read', await issuer.mint({ roles: ['Todo.Read'] }))).status, 403)
  })

  it('never takes a scope for a role: a scope named like the role does not pass requireRoles', async () => {
    assert.deepEqual(await call('/role', await user(['Todo.Read.All'])), {
      status: 403, code: 'ENTRA_INSUFFICIENT_SCOPE', challenge: forbidden('The token lacks the required app role: Todo.Read.All', 'Todo.Read.All')
    })
    assert.equal((await call('/role', await application(['Todo.Read.All']))).status, 200)
  })

  it('anyOf passes with one of the scopes; allOf needs every one', async () => {
    assert.equal((await call('/any', await user(['Todo.Write']))).status, 200)
    assert.deepEqual(await call('/all', await user(['Todo.Write'])), {
      status: 403, code: 'ENTRA_INSUFFICIENT_SCOPE', challenge: forbidden('The token lacks the required scope: all of Todo.Read, Todo.Write', 'Todo.Read Todo.Write')
    })
    assert.equal((await call('/all', await user(['Todo.Write', 'Todo.Read']))).status, 200)
    assert.deepEqual(await call('/any', await user(['Other'])), {
      status: 403, code: 'ENTRA_INSUFFICIENT_SCOPE', challenge: forbidden('The token lacks the required scope: one of Todo.Read, Todo.Write', 'Todo.Read Todo.Write')
    })
  })

  it('requireRoles with allOf needs every role', async () => {
    assert.equal((await call('/roles-all', await application(['Todo.Read.All']))).status, 403)
    assert.equal((await call('/roles-all', await application(['Todo.Read.All', 'Todo.Write.All']))).status, 200)
  })

  it('requireScopesOrRoles passes with the scope or with the role, and names both when refusing', async () => {
    assert.equal((await call('/either', await user(['Todo.Read']))).status, 200)
    assert.equal((await call('/either', await application(['Todo.Read.All']))).status, 200)
    assert.deepEqual(await call('/either', await application(['Todo.Write.All'])), {
      status: 403,
      code: 'ENTRA_INSUFFICIENT_SCOPE',
      challenge: forbidden('The token lacks the required scope (Todo.Read) or app role (Todo.Read.All)', 'Todo.Read Todo.Read.All')
    })
  })

  it('requireByCallerType asks users for the scope and apps for the role', async () => {
    assert.equal((await call('/split', await user(['Todo.Read']))).status, 200)
    assert.equal((await call('/split', await application(['Todo.Read.All']))).status, 200)
    // A user holding the app role as an assigned role still needs the delegated scope.
    assert.deepEqual(await call('/split', await user(['Other'], ['Todo.Read.All'])), {
      status: 403, code: 'ENTRA_INSUFFICIENT_SCOPE', challenge: forbidden('The token lacks the required scope: Todo.Read', 'Todo.Read')
    })
    assert.deepEqual(await call('/split', await application(['Todo.Write.All'])), {
      status: 403, code: 'ENTRA_INSUFFICIENT_SCOPE', challenge: forbidden('The token lacks the required app role: Todo.Read.All', 'Todo.Read.All')
    })
  })

  it('requireByCallerType refuses a kind of caller it was given no requirement for', async () => {
    assert.deepEqual(await call('/users-only', await application(['Todo.Read.All'])), {
      status: 403, code: 'ENTRA_INSUFFICIENT_SCOPE', challenge: forbidden('This route does not accept app-only tokens')
    })
  })

  it('authenticate on its own: a guard with no token answers 401, and with a bad token 401 invalid_token', async () => {
    assert.deepEqual(await call('/any'), { status: 401, code: 'ENTRA_TOKEN_MISSING', challenge: 'Bearer realm="api"' })
    assert.equal((await call('/any', await issuer.mint({ scopes: ['Todo.Read'], expiresIn: -3600 }))).code, 'ENTRA_TOKEN_EXPIRED')
  })

  it('authenticates on its own for repeated tokens too, served from the token cache', async () => {
    const token = await user(['Todo.Read'])
    const denied = await user(['Other'])
    for (let i = 0; i < 3; i++) {
      assert.equal((await call('/any', token)).status, 200, `request ${i + 1}`)
      assert.equal((await call('/any', denied)).status, 403, `request ${i + 1}`)
    }
    assert.ok(app.entraId.verifier.cachedTokens >= 2)
  })

  it('can refuse in onRequest, before the body is read', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/early',
      headers: { ...bearer(await user(['Todo.Read'])), 'content-type': 'application/json' },
      payload: '{not json'
    })
    // A 400 for the malformed body would mean it was parsed before the caller was refused.
    assert.equal(response.statusCode, 403)
  })
})

describe('guard factories check their arguments when built', () => {
  const bad: [string, () => unknown][] = [
    ['an empty name', () => requireScopes('')],
    ['a name with a space', () => requireScopes('Todo.Read Todo.Write')],
    ['an empty anyOf', () => requireScopes({ anyOf: [] })],
    ['both anyOf and allOf', () => requireRoles({ anyOf: ['a'], allOf: ['b'] })],
    ['neither anyOf nor allOf', () => requireRoles({} as unknown as Requirement)],
    ['a non-string entry', () => requireScopes({ allOf: [42] as unknown as string[] })],
    ['requireScopesOrRoles without roles', () => requireScopesOrRoles({ scopes: 'a' } as unknown as { scopes: string, roles: string })],
    ['requireByCallerType with no side', () => requireByCallerType({})],
    ['requireByCallerType with an empty side', () => requireByCallerType({ user: {} })]
  ]
  for (const [name, build] of bad) {
    it(`throws EntraConfigError for ${name}`, () => {
      assert.throws(build, EntraConfigError)
    })
  }
})

describe('identityOf', () => {
  it('returns the verified caller behind a guard, and fails with a 500 naming the bug on a route that does not authenticate', async () => {
    const issuer = await startTestIssuer()
    const app = Fastify()
    try {
      await app.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url })
      app.get('/guarded', { onRequest: requireScopes('Todo.Read') }, (request) => ({ oid: identityOf(request).objectId }))
      app.get('/open', (request) => ({ oid: identityOf(request).objectId }))
      const token = await issuer.mint({ scopes: ['Todo.Read'], claims: { oid: 'alice-oid' } })
      const guarded = await app.inject({ url: '/guarded', headers: bearer(token) })
      assert.deepEqual([guarded.statusCode, guarded.json()], [200, { oid: 'alice-oid' }])
      const open = await app.inject({ url: '/open', headers: bearer(token) })
      assert.equal(open.statusCode, 500)
      assert.equal(open.json<{ code: string }>().code, 'ENTRA_NOT_AUTHENTICATED')
    } finally {
      await app.close()
      await issuer.close()
    }
  })
})

describe('a guard in an app without the plugin', () => {
  it('fails the request with a 500 that says the plugin is missing, not a 401 that blames the caller', async () => {
    const app = Fastify()
    app.get('/guarded', { preHandler: requireScopes('Todo.Read') }, () => ({ ok: true }))
    try {
      const response = await app.inject({ url: '/guarded', headers: { authorization: 'Bearer a.b.c' } })
      assert.equal(response.statusCode, 500)
      assert.match(response.json<{ message: string }>().message, /need the plugin registered/)
      assert.equal(response.json<{ code: string }>().code, 'ENTRA_PLUGIN_MISSING')
    } finally {
      await app.close()
    }
  })
})

describe('describeGuard: what each guard requires, for documentation', () => {
  const read = { match: 'anyOf', values: ['Todo.Read'] }
  const readAll = { match: 'anyOf', values: ['Todo.Read.All'] }

  it('requireScopes: users with the scopes; app-only tokens (no scp) never pass', () => {
    assert.deepEqual(describeGuard(requireScopes('Todo.Read')), { user: [{ scopes: read }], app: [], conditions: [], optional: false })
  })

  it('requireRoles: users or applications with the roles', () => {
    assert.deepEqual(describeGuard(requireRoles('Todo.Read.All')), { user: [{ roles: readAll }], app: [{ roles: readAll }], conditions: [], optional: false })
  })

  it('requireScopesOrRoles: either path for users, the roles for applications', () => {
    assert.deepEqual(describeGuard(requireScopesOrRoles({ scopes: 'Todo.Read', roles: 'Todo.Read.All' })),
      { user: [{ scopes: read }, { roles: readAll }], app: [{ roles: readAll }], conditions: [], optional: false })
  })

  it('requireByCallerType: each side as given, a side left out refused', () => {
    assert.deepEqual(describeGuard(requireByCallerType({ user: { scopes: 'Todo.Read' }, app: { roles: 'Todo.Read.All' } })),
      { user: [{ scopes: read }], app: [{ roles: readAll }], conditions: [], optional: false })
    assert.deepEqual(describeGuard(requireByCallerType({ user: { scopes: 'Todo.Read' } }))?.app, [])
  })

  it('is undefined for any other function, and cannot be changed through what it returns', () => {
    assert.equal(describeGuard(() => undefined), undefined)
    assert.equal(describeGuard('requireScopes'), undefined)
    const description = describeGuard(requireScopes('Todo.Read'))
    assert.ok(description !== undefined && Object.isFrozen(description) && Object.isFrozen(description.user) && Object.isFrozen(description.user[0]))
  })
})
