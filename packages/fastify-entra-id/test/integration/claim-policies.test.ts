import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { EntraConfigError, fastifyEntraId, requireClaim, requireClaimCheck, requireGroups, requireMember, requireScopes } from '../../src/index.js'
import { describeGuard } from '../../src/openapi/index.js'
import type { Requirement } from '../../src/index.js'
import { startTestIssuer } from '../../src/testing/index.js'
import type { TestIssuer } from '../../src/testing/index.js'
import { bearer, entraApp, outcome } from '../helpers.js'

const FINANCE = '2f0c4a1e-7b9d-4e53-8a61-0c3d5e7f9a1b'
const AUDIT = '9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d'
const GLOBAL_ADMIN = '62e90394-69f5-4237-9190-012177145e10'

describe('claim policies', () => {
  let issuer: TestIssuer
  let app: FastifyInstance

  before(async () => {
    issuer = await startTestIssuer()
    app = await entraApp(issuer)
    const ok = () => ({ ok: true })
    app.get('/finance-or-audit', { preHandler: requireGroups({ anyOf: [FINANCE, AUDIT] }) }, ok)
    app.get('/finance-and-audit', { preHandler: requireGroups({ allOf: [FINANCE, AUDIT] }) }, ok)
    app.get('/admin', { preHandler: requireClaim('wids', GLOBAL_ADMIN) }, ok)
    app.get('/department', { preHandler: requireClaim('department', { anyOf: ['Finance Ops', 'Audit'] }) }, ok)
    app.get('/france', { preHandler: requireClaimCheck((claims) => claims.ctry === 'FR', 'a user located in France (ctry FR)') }, ok)
    app.get('/members', { preHandler: [requireScopes('Todo.Read'), requireMember()] }, ok)
    await app.ready()
  })
  after(async () => {
    await app.close()
    await issuer.close()
  })

  const call = async (url: string, claims: Record<string, unknown>) =>
    outcome(await app.inject({ url, headers: bearer(await issuer.mint({ scopes: ['Todo.Read'], claims })) }))
  const refused = (code: string, description: string) => ({
    status: 403, code, challenge: `Bearer realm="api", error="insufficient_scope", error_description="${description}"`
  })

  it('any-of: one of the groups is enough', async () => {
    assert.equal((await call('/finance-or-audit', { groups: ['x', AUDIT] })).status, 200)
    assert.deepEqual(await call('/finance-or-audit', { groups: ['x'] }),
      refused('ENTRA_CLAIM_REQUIRED', `The token lacks the required claim value (groups: one of ${FINANCE}, ${AUDIT})`))
  })

  it('all-of: every group is needed', async () => {
    assert.equal((await call('/finance-and-audit', { groups: [AUDIT, FINANCE] })).status, 200)
    assert.deepEqual(await call('/finance-and-audit', { groups: [FINANCE] }),
      refused('ENTRA_CLAIM_REQUIRED', `The token lacks the required claim value (groups: all of ${FINANCE}, ${AUDIT})`))
  })

  it('directory roles (wids) and custom string claims, compared whole and case-sensitively', async () => {
    assert.equal((await call('/admin', { wids: [GLOBAL_ADMIN] })).status, 200)
    assert.equal((await call('/admin', { wids: [GLOBAL_ADMIN.toUpperCase()] })).status, 403)
    assert.equal((await call('/department', { department: 'Finance Ops' })).status, 200)
    for (const department of ['finance ops', 'Finance', ['Audit'], 7, { Audit: true }]) {
      const expected = Array.isArray(department) ? 200 : 403
      assert.equal((await call('/department', { department })).status, expected, JSON.stringify(department))
    }
  })

  it('appOnly: "allow" lets applications through a claim that describes users', async () => {
    const local = await entraApp(issuer)
    local.get('/users-in-finance', { preHandler: requireGroups(FINANCE, { appOnly: 'allow' }) }, () => ({ ok: true }))
    local.get('/finance', { preHandler: requireGroups(FINANCE) }, () => ({ ok: true }))
    try {
      const daemon = bearer(await issuer.mint({ appOnly: true, roles: ['Todo.Read.All'] }))
      assert.equal((await local.inject({ url: '/users-in-finance', headers: daemon })).statusCode, 200)
      assert.equal((await local.inject({ url: '/finance', headers: daemon })).statusCode, 403)
      const outsider = bearer(await issuer.mint({ scopes: ['Todo.Read'], claims: { groups: [AUDIT] } }))
      assert.equal((await local.inject({ url: '/users-in-finance', headers: outsider })).statusCode, 403)
    } finally {
      await local.close()
    }
    assert.throws(() => requireGroups(FINANCE, { appOnly: 'refuse' as 'allow' }), (e: unknown) => e instanceof EntraConfigError && e.option === 'appOnly')
  })

  it('names what was required, never what the caller holds', async () => {
    const secretGroup = '0badc0de-0000-4000-8000-000000000000'
    const result = await call('/finance-or-audit', { groups: [secretGroup] })
    assert.doesNotMatch(JSON.stringify(result), new RegExp(secretGroup))
  })

  it('groups overage: the token cannot tell, so the refusal says so and points to app roles', async () => {
    for (const claims of [
      { _claim_names: { groups: 'src1' }, _claim_sources: { src1: { endpoint: 'https://graph.microsoft.com/v1.0/users/x/getMemberObjects' } } },
      { hasgroups: true }
    ]) {
      const result = await call('/finance-or-audit', claims)
      assert.equal(result.status, 403)
      assert.equal(result.code, 'ENTRA_GROUPS_OVERAGE')
      assert.match(String(result.challenge), /too many groups.*app role/)
    }
  })

  it('a predicate with a description: the 403 says what is required', async () => {
    assert.equal((await call('/france', { ctry: 'FR' })).status, 200)
    assert.deepEqual(await call('/france', { ctry: 'DE' }),
      refused('ENTRA_CLAIM_REQUIRED', 'The token does not meet this route\'s requirement: a user located in France (ctry FR)'))
  })

  it('a predicate sees frozen claims, and only `true` lets a caller through', async () => {
    const seen: unknown[] = []
    const local = await entraApp(issuer)
    local.get('/frozen', { preHandler: requireClaimCheck((claims) => { seen.push(Object.isFrozen(claims)); return true }, 'anything') }, () => ({ ok: true }))
    // An async predicate by mistake: its promise is truthy, and must not pass.
    const asyncCheck = (() => Promise.resolve(true)) as unknown as () => boolean
    local.get('/async', { preHandler: requireClaimCheck(asyncCheck, 'anything') }, () => ({ ok: true }))
    try {
      const token = await issuer.mint({ scopes: ['Todo.Read'] })
      assert.equal((await local.inject({ url: '/frozen', headers: bearer(token) })).statusCode, 200)
      assert.deepEqual(seen, [true])
      assert.equal((await local.inject({ url: '/async', headers: bearer(token) })).statusCode, 403)
    } finally {
      await local.close()
    }
  })

  it('checks arguments when a guard is built', () => {
    const bad: Array<[() => unknown, string]> = [
      [() => requireClaim('', 'x'), 'claim'],
      [() => requireClaim('has space', 'x'), 'claim'],
      [() => requireClaim('groups', ''), 'requirement'],
      [() => requireClaim('groups', { anyOf: [] }), 'requirement'],
      [() => requireClaim('groups', JSON.parse('{ "anyOf": ["a"], "allOf": ["b"] }') as Requirement), 'requirement'],
      [() => requireClaim('groups', { anyOf: ['say "hi"'] }), 'requirement'],
      [() => requireGroups(42 as unknown as string), 'requirement'],
      [() => requireClaimCheck('x' as unknown as () => boolean, 'd'), 'check'],
      [() => requireClaimCheck(() => true, ''), 'description']
    ]
    for (const [build, option] of bad) {
      assert.throws(build, (error: unknown) => error instanceof EntraConfigError && error.option === option, build.toString())
    }
  })

  it('describes each policy as a condition for documentation', () => {
    assert.deepEqual(describeGuard(requireGroups({ anyOf: [FINANCE, AUDIT] }))?.conditions, [`claim groups: one of ${FINANCE}, ${AUDIT}`])
    assert.deepEqual(describeGuard(requireClaimCheck(() => true, 'a user in France'))?.conditions, ['a user in France'])
    assert.deepEqual(describeGuard(requireMember()), { user: [{}], app: [{}], conditions: ['no guest accounts'], optional: false })
  })
})

describe('guests', () => {
  let issuer: TestIssuer
  before(async () => { issuer = await startTestIssuer() })
  after(async () => { await issuer.close() })

  const guest = { acct: 1 }
  const member = { acct: 0 }
  const invitedWithoutAcct = { idp: 'https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/' }
  const personalAccount = { idp: 'live.com' }

  async function appWith(allowGuests?: boolean): Promise<FastifyInstance> {
    const app = Fastify()
    await app.register(fastifyEntraId, {
      tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url, ...(allowGuests === undefined ? {} : { allowGuests })
    })
    app.get('/me', { onRequest: app.entraId.authenticate }, (request) => ({ accountType: request.auth?.accountType }))
    app.get('/members', { onRequest: requireMember() }, () => ({ ok: true }))
    app.get('/optional', { onRequest: app.entraId.authenticateOptional }, (request) => ({ signedIn: request.auth !== null }))
    return app
  }
  const mint = (claims: Record<string, unknown>) => issuer.mint({ scopes: ['Todo.Read'], claims })

  it('puts the account type on request.auth: acct, else idp, and null for app-only tokens', async () => {
    const app = await appWith()
    try {
      const typeOf = async (token: string) => (await app.inject({ url: '/me', headers: bearer(token) })).json<{ accountType: unknown }>().accountType
      assert.equal(await typeOf(await mint(guest)), 'guest')
      assert.equal(await typeOf(await mint(member)), 'member')
      assert.equal(await typeOf(await mint({})), 'member')
      assert.equal(await typeOf(await mint(invitedWithoutAcct)), 'guest')
      assert.equal(await typeOf(await mint(personalAccount)), 'guest')
      assert.equal(await typeOf(await mint({ idp: `https://sts.windows.net/${issuer.tenantId}/` })), 'member')
      assert.equal(await typeOf(await issuer.mint({ appOnly: true, roles: ['Todo.Read.All'] })), null)
    } finally {
      await app.close()
    }
  })

  it('lets guests in by default, and requireMember refuses them on a route', async () => {
    const app = await appWith()
    try {
      assert.equal((await app.inject({ url: '/me', headers: bearer(await mint(guest)) })).statusCode, 200)
      assert.deepEqual(outcome(await app.inject({ url: '/members', headers: bearer(await mint(guest)) })), {
        status: 403,
        code: 'ENTRA_GUEST_NOT_ALLOWED',
        challenge: 'Bearer realm="api", error="insufficient_scope", error_description="Guest accounts may not call this API; sign in with an account of the organization"'
      })
      assert.equal((await app.inject({ url: '/members', headers: bearer(await mint(member)) })).statusCode, 200)
      assert.equal((await app.inject({ url: '/members', headers: bearer(await issuer.mint({ appOnly: true, roles: ['x'] })) })).statusCode, 200)
    } finally {
      await app.close()
    }
  })

  it('allowGuests: false refuses guests on every protected route, optional ones included', async () => {
    const app = await appWith(false)
    try {
      for (const url of ['/me', '/optional']) {
        const result = outcome(await app.inject({ url, headers: bearer(await mint(invitedWithoutAcct)) }))
        assert.equal(result.status, 403, url)
        assert.equal(result.code, 'ENTRA_GUEST_NOT_ALLOWED', url)
      }
      assert.equal((await app.inject({ url: '/me', headers: bearer(await mint(member)) })).statusCode, 200)
      assert.equal((await app.inject({ url: '/optional' })).json<{ signedIn: boolean }>().signedIn, false)
    } finally {
      await app.close()
    }
  })

  it('refuses an allowGuests that is not a boolean at registration', async () => {
    const app = Fastify()
    await assert.rejects(async () => {
      await app.register(fastifyEntraId, {
        tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url, allowGuests: 'no' as unknown as boolean
      })
    }, (error: unknown) => error instanceof EntraConfigError && error.option === 'allowGuests')
    await app.close()
  })
})
