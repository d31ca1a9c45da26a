import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { TEST_BLUEPRINT_APP_ID, TEST_CLIENT_APP_ID } from 'fastify-entra-id/testing'
import { bearer, startHarness } from '../helpers/app.js'
import type { Harness } from '../helpers/app.js'

describe('GET /api/me', () => {
  let h: Harness
  before(async () => { h = await startHarness('sqlite') })
  after(async () => { await h.close() })

  test('describes a user of a v2 token', async () => {
    const token = await h.issuer.mint({ objectId: h.callers.alice, scopes: ['Todo.Read', 'Todo.Write'], name: 'Alice', username: 'alice@contoso.example' })
    const res = await h.app.inject({ url: '/api/me', headers: bearer(token) })
    assert.equal(res.statusCode, 200)
    const body = res.json<Record<string, unknown>>()
    assert.equal(typeof body.sub, 'string')
    assert.equal(typeof body.expiresAt, 'string')
    assert.deepEqual({ ...body, sub: null, expiresAt: null }, {
      oid: h.callers.alice,
      tid: h.issuer.tenantId,
      sub: null,
      name: 'Alice',
      username: 'alice@contoso.example',
      appId: TEST_CLIENT_APP_ID,
      isAppOnly: false,
      callerType: 'user',
      agent: null,
      scopes: ['Todo.Read', 'Todo.Write'],
      roles: [],
      tokenVersion: 2,
      accountType: 'member',
      expiresAt: null
    })
  })

  test('answers 401 invalid_token, not 500, to a token whose exp lies past the dates it can show', async () => {
    const token = await h.issuer.mint({ scopes: ['Todo.Read'], claims: { exp: 1e16 } })
    const res = await h.app.inject({ url: '/api/me', headers: bearer(token) })
    assert.equal(res.statusCode, 401)
    assert.equal(res.json<{ code: string }>().code, 'ENTRA_TOKEN_INVALID_CLAIMS')
    assert.match(res.headers['www-authenticate'] as string, /error="invalid_token", error_description="The token has no valid expiry \(exp\)"/)
  })

  test('describes a v1 token, whose user name is its upn', async () => {
    const token = await h.issuer.mint({ version: 1, scopes: ['Todo.Read'], username: 'v1user@contoso.example', audience: `api://${h.issuer.clientId}` })
    const res = await h.app.inject({ url: '/api/me', headers: bearer(token) })
    assert.equal(res.statusCode, 200)
    assert.equal(res.json<{ tokenVersion: number }>().tokenVersion, 1)
    assert.equal(res.json<{ username: string }>().username, 'v1user@contoso.example')
  })

  test('describes an application, with null for the user claims it lacks', async () => {
    const res = await h.app.inject({ url: '/api/me', headers: bearer(await h.callers.app(['Todo.Read.All'])) })
    assert.equal(res.statusCode, 200)
    const body = res.json<Record<string, unknown>>()
    assert.equal(body.isAppOnly, true)
    assert.equal(body.callerType, 'app')
    assert.equal(body.agent, null)
    assert.equal(body.name, null)
    assert.equal(body.username, null)
    assert.deepEqual(body.scopes, [])
    assert.deepEqual(body.roles, ['Todo.Read.All'])
    assert.equal(body.oid, h.callers.daemon)
    assert.equal(body.accountType, null)
  })

  test('says which agent calls, how, and from which blueprint (Microsoft Entra Agent ID), in v1 and v2 tokens', async () => {
    const agentAppId = 'aaaaaaaa-1111-2222-3333-444444444444'
    for (const version of [1, 2] as const) {
      const audience = version === 1 ? `api://${h.issuer.clientId}` : h.issuer.clientId
      const cases = [
        [{ agent: 'agent', roles: ['Todo.Read.All'] }, 'agent', true],
        [{ agent: 'agentForUser', scopes: ['Todo.Read'], objectId: h.callers.alice }, 'agentForUser', false],
        [{ agent: 'agentUser', scopes: ['Todo.Read'] }, 'agentUser', false]
      ] as const
      for (const [options, callerType, isAppOnly] of cases) {
        const token = await h.issuer.mint({ version, audience, clientAppId: agentAppId, ...options })
        const res = await h.app.inject({ url: '/api/me', headers: bearer(token) })
        assert.equal(res.statusCode, 200)
        const body = res.json<{ callerType: string, isAppOnly: boolean, appId: string, agent: unknown }>()
        assert.deepEqual([body.callerType, body.isAppOnly, body.appId, body.agent],
          [callerType, isAppOnly, agentAppId, { appId: agentAppId, blueprintAppId: TEST_BLUEPRINT_APP_ID }], `v${version} ${callerType}`)
      }
    }
  })

  test('reads an agent as a caller like any other on the todo routes: by its app role alone, by the scopes for a user', async () => {
    const alone = await h.issuer.mint({ agent: 'agent', roles: ['Todo.Read.All'] })
    assert.equal((await h.app.inject({ url: '/api/todos', headers: bearer(alone) })).statusCode, 200)
    const forAlice = await h.issuer.mint({ agent: 'agentForUser', scopes: ['Todo.Read'], objectId: h.callers.alice })
    assert.equal((await h.app.inject({ url: '/api/todos', headers: bearer(forAlice) })).statusCode, 200)
    const withoutRole = await h.issuer.mint({ agent: 'agent', roles: ['Other.Role'] })
    const res = await h.app.inject({ url: '/api/todos', headers: bearer(withoutRole) })
    assert.equal(res.statusCode, 403)
    assert.equal(res.headers['www-authenticate'],
      'Bearer realm="api", error="insufficient_scope", error_description="The token lacks the required app role: Todo.Read.All", scope="Todo.Read.All"')
  })

  test('says whether a user is a guest (acct)', async () => {
    const token = await h.issuer.mint({ scopes: ['Todo.Read'], claims: { acct: 1 } })
    assert.equal((await h.app.inject({ url: '/api/me', headers: bearer(token) })).json<{ accountType: string }>().accountType, 'guest')
  })

  test('accepts any valid token, even without the todo scopes', async () => {
    const res = await h.app.inject({ url: '/api/me', headers: bearer(await h.issuer.mint({ scopes: ['User.Read'] })) })
    assert.equal(res.statusCode, 200)
  })

  test('refuses an expired token: 401 invalid_token', async () => {
    const token = await h.issuer.mint({ scopes: ['Todo.Read'], expiresIn: -3600 })
    const res = await h.app.inject({ url: '/api/me', headers: bearer(token) })
    assert.equal(res.statusCode, 401)
    assert.match(String(res.headers['www-authenticate']), /error="invalid_token"/)
  })

  test('refuses no token: 401 with a bare challenge', async () => {
    const res = await h.app.inject({ url: '/api/me' })
    assert.equal(res.statusCode, 401)
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
  })
})

describe('GET /api: optional authentication', () => {
  let h: Harness
  before(async () => { h = await startHarness('sqlite') })
  after(async () => { await h.close() })

  test('answers anyone, with caller null without a token', async () => {
    const res = await h.app.inject({ url: '/api' })
    assert.equal(res.statusCode, 200)
    assert.deepEqual(res.json(), { service: 'todo-api', docs: '/docs', caller: null })
  })

  test('names the caller of a valid token', async () => {
    const token = await h.issuer.mint({ objectId: h.callers.alice, scopes: ['Todo.Read'], name: 'Alice' })
    assert.deepEqual((await h.app.inject({ url: '/api', headers: bearer(token) })).json<{ caller: unknown }>().caller,
      { oid: h.callers.alice, name: 'Alice', isAppOnly: false })
  })

  test('refuses a bad token rather than serving it as anonymous', async () => {
    const res = await h.app.inject({ url: '/api', headers: bearer(await h.issuer.mint({ scopes: ['Todo.Read'], expiresIn: -3600 })) })
    assert.equal(res.statusCode, 401)
    assert.equal(res.json<{ code: string }>().code, 'ENTRA_TOKEN_EXPIRED')
  })
})

describe('AUTH_ALLOW_GUESTS=false and AUTH_REQUIRED_GROUPS', () => {
  const FINANCE = '2f0c4a1e-7b9d-4e53-8a61-0c3d5e7f9a1b'
  const AUDIT = '9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d'
  let h: Harness
  before(async () => { h = await startHarness('sqlite', { AUTH_ALLOW_GUESTS: 'false', AUTH_REQUIRED_GROUPS: `${FINANCE}, ${AUDIT}` }) })
  after(async () => { await h.close() })

  const todos = async (token: string) => h.app.inject({ url: '/api/todos', headers: bearer(token) })

  test('refuses guests everywhere, members pass', async () => {
    const guest = await h.issuer.mint({ scopes: ['Todo.Read'], claims: { acct: 1, groups: [FINANCE] } })
    for (const url of ['/api/me', '/api/todos', '/api']) {
      const res = await h.app.inject({ url, headers: bearer(guest) })
      assert.equal(res.statusCode, 403, url)
      assert.equal(res.json<{ code: string }>().code, 'ENTRA_GUEST_NOT_ALLOWED', url)
    }
    assert.equal((await h.app.inject({ url: '/api/me', headers: bearer(await h.issuer.mint({ scopes: ['Todo.Read'], claims: { acct: 0 } })) })).statusCode, 200)
  })

  test('lets users of one of the groups use the todos, refuses the others, and leaves applications to their roles', async () => {
    assert.equal((await todos(await h.issuer.mint({ scopes: ['Todo.Read'], claims: { groups: [AUDIT] } }))).statusCode, 200)
    const outsider = await todos(await h.issuer.mint({ scopes: ['Todo.Read'], claims: { groups: ['0badc0de-0000-4000-8000-000000000000'] } }))
    assert.equal(outsider.statusCode, 403)
    assert.equal(outsider.json<{ code: string }>().code, 'ENTRA_CLAIM_REQUIRED')
    const overage = await todos(await h.issuer.mint({ scopes: ['Todo.Read'], claims: { hasgroups: true } }))
    assert.equal(overage.json<{ code: string }>().code, 'ENTRA_GROUPS_OVERAGE')
    assert.equal((await todos(await h.callers.app(['Todo.Read.All']))).statusCode, 200)
    // /api/me is not a todo route: any member of the tenant may ask who they are.
    assert.equal((await h.app.inject({ url: '/api/me', headers: bearer(await h.issuer.mint({ scopes: ['Todo.Read'] })) })).statusCode, 200)
  })
})

describe('AUTH_TOKEN_VERSIONS=2', () => {
  let h: Harness
  before(async () => { h = await startHarness('sqlite', { AUTH_TOKEN_VERSIONS: '2' }) })
  after(async () => { await h.close() })

  test('refuses a v1 token, naming requestedAccessTokenVersion; v2 passes', async () => {
    const v1 = await h.issuer.mint({ version: 1, scopes: ['Todo.Read'], audience: `api://${h.issuer.clientId}` })
    const res = await h.app.inject({ url: '/api/me', headers: bearer(v1) })
    assert.equal(res.statusCode, 401)
    assert.equal(res.json<{ code: string }>().code, 'ENTRA_TOKEN_VERSION_MISMATCH')
    assert.match(res.json<{ message: string }>().message, /requestedAccessTokenVersion/)
    assert.equal((await h.app.inject({ url: '/api/me', headers: bearer(await h.issuer.mint({ scopes: ['Todo.Read'] })) })).statusCode, 200)
  })
})
