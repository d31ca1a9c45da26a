import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import swagger from '@fastify/swagger'
import { EntraConfigError, fastifyEntraId, identityOf, requireByCallerType, requireRoles, requireScopes } from '../../src/index.js'
import { EntraTokenVerifier } from '../../src/core/index.js'
import { describeGuard, withEntraIdSecurity } from '../../src/openapi/index.js'
import { TEST_BLUEPRINT_APP_ID, TEST_CLIENT_APP_ID, startTestIssuer } from '../../src/testing/index.js'
import type { MintOptions, TestIssuer } from '../../src/testing/index.js'
import { bearer, entraApp, logSink, outcome } from '../helpers.js'

// Agent identities of Microsoft Entra Agent ID, as Microsoft Learn's "Token claims reference for agents" and
// "Tokens in Microsoft agent identity platform" describe their tokens.

const OTHER_BLUEPRINT = '30cf4c22-9985-4ef7-8756-91cc888176bd'
const forbidden = (description: string, scope?: string): string =>
  `Bearer realm="api", error="insufficient_scope", error_description="${description}"${scope === undefined ? '' : `, scope="${scope}"`}`

/** What a route answers about its caller. */
interface Who {
  callerType: string
  isAppOnly: boolean
  isAgent: boolean
  agent: { appId: string | null, blueprintAppId: string | null } | null
  facets: { actor: number[], subject: number[], tenant: number[], identityRelationship: number[] }
  objectId: string | null
  clientAppId: string | null
  scopes: string[]
  roles: string[]
}

async function whoApp(issuer: TestIssuer): Promise<FastifyInstance> {
  const app = await entraApp(issuer)
  app.get('/who', { onRequest: app.entraId.authenticate }, (request): Who => {
    const auth = identityOf(request)
    return {
      callerType: auth.callerType,
      isAppOnly: auth.isAppOnly,
      isAgent: auth.isAgent,
      agent: auth.agent,
      facets: auth.facets as Who['facets'],
      objectId: auth.objectId,
      clientAppId: auth.clientAppId,
      scopes: [...auth.scopes],
      roles: [...auth.roles]
    }
  })
  return app
}

describe('agent tokens, shaped as Microsoft documents them', () => {
  let issuer: TestIssuer
  let app: FastifyInstance
  before(async () => {
    issuer = await startTestIssuer()
    app = await whoApp(issuer)
  })
  after(async () => {
    await app.close()
    await issuer.close()
  })

  const who = async (token: string): Promise<Who> => {
    const res = await app.inject({ url: '/who', headers: bearer(token) })
    assert.equal(res.statusCode, 200, res.body)
    return res.json<Who>()
  }

  /**
   * The reference's example of an agent acting on its own, claim for claim, in the test issuer's tenant and for
   * this API (`aud`, `iss`, `tid`, `idp` are the issuer's; the signature must verify). The example lists no
   * permission; its scenario table says the token carries the agent's `roles`, and an access token without `scp`
   * or `roles` is refused, so one role is added. In v2, `azp` and `azpacr` replace `appid` and `appidacr`.
   */
  function documentedExample(version: 1 | 2): MintOptions {
    const tid = issuer.tenantId
    const v1 = version === 1
    return {
      version,
      claims: {
        aud: issuer.clientId,
        iss: issuer.issuer(version),
        iat: 1753392285,
        nbf: 1753392285,
        exp: Math.floor(Date.now() / 1000) + 3600,
        aio: 'Y2JgYGhn1nzmErKqi0vc4Fr6H22/C5/4FP+xZbZYpik8nRkp+gEA',
        appid: v1 ? 'aaaaaaaa-1111-2222-3333-444444444444' : undefined,
        appidacr: v1 ? '2' : undefined,
        azp: v1 ? undefined : 'aaaaaaaa-1111-2222-3333-444444444444',
        azpacr: v1 ? undefined : '2',
        idp: `https://sts.windows.net/${tid}/`,
        idtyp: 'app',
        oid: 'bbbbbbbb-1111-2222-3333-444444444444',
        rh: '1.AAAAAQAAAAAA8Q_OAAAAAAAAADQNUfLKjbhKoLyq7E06PjYAAAAAAA.',
        sub: 'cccccccc-1111-2222-3333-444444444444',
        tid,
        uti: 'm5RaaRnoFUyp2TbSCAAAAA',
        ver: v1 ? '1.0' : '2.0',
        xms_act_fct: '3 9 11',
        xms_ftd: 'Z5DrW4HFOkR_Lz0M5qETa260d2-fO6seMZJ_tOwRNuc',
        xms_idrel: '7 10',
        xms_sub_fct: '9 3 11',
        xms_tnt_fct: '3 9',
        xms_par_app_azp: '30cf4c22-9985-4ef7-8756-91cc888176bd',
        roles: ['Todo.Read.All'],
        // The issuer's own claims that the example does not have.
        name: undefined,
        preferred_username: undefined,
        upn: undefined
      }
    }
  }

  for (const version of [1, 2] as const) {
    it(`reads the reference's example token of an agent acting on its own (v${version}): caller type agent, its app ID and blueprint, every facet kept`, async () => {
      const body = await who(await issuer.mint(documentedExample(version)))
      assert.deepEqual(body, {
        callerType: 'agent',
        isAppOnly: true,
        isAgent: true,
        agent: { appId: 'aaaaaaaa-1111-2222-3333-444444444444', blueprintAppId: '30cf4c22-9985-4ef7-8756-91cc888176bd' },
        // 3 and 9 are not in the reference's table: kept as they are, given no meaning.
        facets: { actor: [3, 9, 11], subject: [9, 3, 11], tenant: [3, 9], identityRelationship: [7, 10] },
        objectId: 'bbbbbbbb-1111-2222-3333-444444444444',
        clientAppId: 'aaaaaaaa-1111-2222-3333-444444444444',
        scopes: [],
        roles: ['Todo.Read.All']
      })
    })

    // The reference's scenario tables: which claims say what, for each way an agent calls.
    it(`reads an agent acting on its own, by the scenario table (v${version}): idtyp app, xms_idrel 7, both facets 11, scp "/" (unscoped)`, async () => {
      const body = await who(await issuer.mint({ version, appOnly: true, roles: ['Todo.Read.All'], claims: { xms_act_fct: '11', xms_sub_fct: '11', xms_idrel: '7', scp: '/', xms_par_app_azp: TEST_BLUEPRINT_APP_ID } }))
      assert.deepEqual([body.callerType, body.isAppOnly, body.scopes, body.roles], ['agent', true, [], ['Todo.Read.All']])
      assert.deepEqual(body.agent, { appId: TEST_CLIENT_APP_ID, blueprintAppId: TEST_BLUEPRINT_APP_ID })
    })

    it(`reads an agent acting for a user (v${version}): idtyp user, xms_act_fct 11, the user's oid, the agent as azp/appid`, async () => {
      const token = await issuer.mint({ version, scopes: ['Todo.Read'], objectId: '11111111-aaaa-4bbb-8ccc-000000000001', clientAppId: 'aaaaaaaa-1111-2222-3333-444444444444', claims: { idtyp: 'user', xms_idrel: '1', xms_act_fct: '11' } })
      const body = await who(token)
      assert.deepEqual([body.callerType, body.isAppOnly, body.isAgent, body.objectId, body.scopes], ['agentForUser', false, true, '11111111-aaaa-4bbb-8ccc-000000000001', ['Todo.Read']])
      assert.deepEqual(body.agent, { appId: 'aaaaaaaa-1111-2222-3333-444444444444', blueprintAppId: null }, 'the table lists no xms_par_app_azp: null, never guessed')
      assert.deepEqual(body.facets, { actor: [11], subject: [], tenant: [], identityRelationship: [1] })
    })

    it(`reads an agent through its own user account (v${version}): idtyp user, xms_act_fct 11, xms_sub_fct 13, the agent user's oid`, async () => {
      const token = await issuer.mint({ version, scopes: ['Todo.Read'], objectId: '11111111-aaaa-4bbb-8ccc-000000000013', claims: { idtyp: 'user', xms_idrel: '1', xms_act_fct: '11', xms_sub_fct: '13' } })
      const body = await who(token)
      assert.deepEqual([body.callerType, body.isAppOnly, body.isAgent, body.objectId], ['agentUser', false, true, '11111111-aaaa-4bbb-8ccc-000000000013'])
    })

    it(`mints each of them with fastify-entra-id/testing (v${version})`, async () => {
      const alone = await who(await issuer.mint({ version, agent: 'agent', roles: ['Todo.Read.All'] }))
      assert.deepEqual([alone.callerType, alone.agent, alone.facets], ['agent', { appId: TEST_CLIENT_APP_ID, blueprintAppId: TEST_BLUEPRINT_APP_ID },
        { actor: [3, 9, 11], subject: [9, 3, 11], tenant: [3, 9], identityRelationship: [7, 10] }])
      const forUser = await who(await issuer.mint({ version, agent: 'agentForUser', scopes: ['Todo.Read'], blueprintAppId: OTHER_BLUEPRINT }))
      assert.deepEqual([forUser.callerType, forUser.agent?.blueprintAppId, forUser.facets.actor], ['agentForUser', OTHER_BLUEPRINT, [11]])
      const agentUser = await who(await issuer.mint({ version, agent: 'agentUser', scopes: ['Todo.Read'], blueprintAppId: null }))
      assert.deepEqual([agentUser.callerType, agentUser.agent?.blueprintAppId, agentUser.facets.subject], ['agentUser', null, [13]])
    })
  }

  it('keeps every facet value it does not know, even ones the reference calls invalid (even numbers), and gives them no meaning', async () => {
    // A delegated agent token as Entra issued one in the field: "11 9 3", "2 3", "1 8", "3 8".
    const token = await issuer.mint({ scopes: ['Todo.Read'], claims: { idtyp: 'user', xms_act_fct: '11 9 3', xms_sub_fct: '2 3', xms_idrel: '1 8', xms_tnt_fct: '3 8', xms_par_app_azp: OTHER_BLUEPRINT } })
    const body = await who(token)
    assert.equal(body.callerType, 'agentForUser')
    assert.deepEqual(body.facets, { actor: [11, 9, 3], subject: [2, 3], tenant: [3, 8], identityRelationship: [1, 8] })
  })

  it('takes a token of a user or an application without agent facets (or with facets of no agent) as before', async () => {
    assert.deepEqual(await who(await issuer.mint({ scopes: ['Todo.Read'] })).then((b) => [b.callerType, b.isAgent, b.agent]), ['user', false, null])
    assert.deepEqual(await who(await issuer.mint({ appOnly: true, roles: ['R'] })).then((b) => [b.callerType, b.isAgent, b.agent]), ['app', false, null])
    // An agent identity blueprint's own token ("1 9"): 1 and 9 are no agent facet, and xms_par_app_azp alone says nothing.
    const blueprint = await who(await issuer.mint({ appOnly: true, roles: ['R'], claims: { xms_act_fct: '1 9', xms_sub_fct: '1 9', xms_idrel: '7 26', xms_par_app_azp: OTHER_BLUEPRINT } }))
    assert.deepEqual([blueprint.callerType, blueprint.agent, blueprint.facets.actor], ['app', null, [1, 9]])
  })

  it('rebuilds the same caller from the token cache: everything derives from the claims', async () => {
    const verifier = EntraTokenVerifier.create({ tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url })
    try {
      await verifier.hydrate()
      for (const agent of ['agent', 'agentForUser', 'agentUser'] as const) {
        const token = await issuer.mint({ agent, ...(agent === 'agent' ? { roles: ['R'] } : { scopes: ['S'] }) })
        await verifier.verify(token)
        // The cache keeps a token from its second sight on, as a record of its claims.
        const fresh = await verifier.verify(token)
        const cached = verifier.cachedIdentity(token)
        assert.ok(cached !== undefined && cached !== fresh, 'decoded from its record, not the same object')
        assert.deepEqual([cached.callerType, cached.agent, cached.facets], [fresh.callerType, fresh.agent, fresh.facets])
        assert.ok(Object.isFrozen(cached.agent) && Object.isFrozen(cached.facets) && Object.isFrozen(cached.facets.actor))
      }
    } finally {
      verifier.close()
    }
  })
})

describe('malformed agent claims', () => {
  let issuer: TestIssuer
  let app: FastifyInstance
  before(async () => {
    issuer = await startTestIssuer()
    app = await whoApp(issuer)
  })
  after(async () => {
    await app.close()
    await issuer.close()
  })

  // Entra writes each facet claim as a string of space-separated numbers; a token carrying anything else cannot
  // say whether its caller is an agent, so it is refused (401), never taken for a user or an application.
  const malformed: ReadonlyArray<[string, unknown]> = [
    ['a number', 11], ['an array', ['11']], ['an array of numbers', [11, 13]], ['an object', { 11: true }], ['null', null], ['true', true],
    ['an empty string', ''], ['only spaces', '   '], ['commas', '3,9,11'], ['words', 'AgentIdentity'], ['a negative number', '-11'],
    ['a decimal', '11.0'], ['a number too long', '1234567890'], ['33 numbers', Array.from({ length: 33 }, () => '11').join(' ')],
    ['a huge string (10,000 characters, within the token size limit)', '11 '.repeat(3_333)], ['a tab', '3\t11'], ['a newline', '11\n13']
  ]

  for (const claim of ['xms_act_fct', 'xms_sub_fct', 'xms_tnt_fct', 'xms_idrel']) {
    it(`refuses ${claim} that is not a list of numbers: 401 invalid_token naming the claim, never a 5xx`, async () => {
      for (const [what, value] of malformed) {
        const token = await issuer.mint({ appOnly: true, roles: ['R'], claims: { xms_act_fct: '11', [claim]: value } })
        const res = await app.inject({ url: '/who', headers: bearer(token) })
        assert.deepEqual(outcome(res), {
          status: 401,
          code: 'ENTRA_TOKEN_INVALID_CLAIMS',
          challenge: `Bearer realm="api", error="invalid_token", error_description="The token's ${claim} claim is not a list of space-separated numbers"`
        }, `${claim}: ${what}`)
      }
    })
  }

  it('refuses xms_par_app_azp that is not an application ID, and takes spaces around facet numbers as Entra might write them', async () => {
    for (const value of [42, ['30cf4c22-9985-4ef7-8756-91cc888176bd'], '', 'not-a-guid', `${OTHER_BLUEPRINT} `, 'x'.repeat(10_000)]) {
      const token = await issuer.mint({ agent: 'agent', roles: ['R'], claims: { xms_par_app_azp: value } })
      assert.deepEqual(outcome(await app.inject({ url: '/who', headers: bearer(token) })), {
        status: 401,
        code: 'ENTRA_TOKEN_INVALID_CLAIMS',
        challenge: 'Bearer realm="api", error="invalid_token", error_description="The token\'s xms_par_app_azp claim is not an application ID"'
      })
    }
    const spaced = await issuer.mint({ appOnly: true, roles: ['R'], claims: { xms_act_fct: ' 3  9 11 ' } })
    const res = await app.inject({ url: '/who', headers: bearer(spaced) })
    assert.equal(res.statusCode, 200)
    assert.deepEqual([res.json<Who>().callerType, res.json<Who>().facets.actor], ['agent', [3, 9, 11]])
  })
})

describe('guards and agents', () => {
  let issuer: TestIssuer
  let app: FastifyInstance
  const ok = () => ({ ok: true })

  before(async () => {
    issuer = await startTestIssuer()
    app = await entraApp(issuer)
    // Written before agents: an agent passes as the callers of its token's shape.
    app.get('/split', { onRequest: requireByCallerType({ user: { scopes: 'Todo.Read' }, app: { roles: 'Todo.Read.All' } }) }, ok)
    app.get('/role', { onRequest: requireRoles('Todo.Read.All') }, ok)
    app.get('/scope', { onRequest: requireScopes('Todo.Read') }, ok)
    // No agent acting on its own; agents for users need another scope; agents' user accounts as users.
    app.get('/no-autonomous', {
      onRequest: requireByCallerType({ user: { scopes: 'Todo.Read' }, app: { roles: 'Todo.Read.All' }, agent: false, agentForUser: { scopes: 'Todo.Agent' } })
    }, ok)
    // Agents of one blueprint only; users and applications as usual.
    app.get('/blueprint', { onRequest: requireByCallerType({ user: { scopes: 'Todo.Read' }, app: { roles: 'Todo.Read.All' }, blueprints: [TEST_BLUEPRINT_APP_ID.toUpperCase()] }) }, ok)
    // Anyone but agents, composed with a scope guard.
    app.get('/no-agents', {
      onRequest: [requireScopes('Todo.Write'), requireByCallerType({ user: true, app: true, agent: false, agentForUser: false, agentUser: false })]
    }, ok)
    // Agents only.
    app.get('/agents-only', { onRequest: requireByCallerType({ user: false, app: false, agent: { roles: 'Todo.Read.All' }, agentForUser: true, agentUser: true }) }, ok)
    await app.ready()
  })
  after(async () => {
    await app.close()
    await issuer.close()
  })

  const call = async (url: string, token: string) => outcome(await app.inject({ url, headers: bearer(token) }))
  const agent = (roles: string[], blueprintAppId?: string | null) => issuer.mint({ agent: 'agent', roles, ...(blueprintAppId === undefined ? {} : { blueprintAppId }) })
  const agentForUser = (scopes: string[]) => issuer.mint({ agent: 'agentForUser', scopes })
  const agentUser = (scopes: string[]) => issuer.mint({ agent: 'agentUser', scopes })

  it('admits an agent as a caller like any other by default: acting on its own by its app roles, for a user by the scopes', async () => {
    assert.equal((await call('/split', await agent(['Todo.Read.All']))).status, 200)
    assert.equal((await call('/role', await agent(['Todo.Read.All']))).status, 200)
    assert.equal((await call('/split', await agentForUser(['Todo.Read']))).status, 200)
    assert.equal((await call('/split', await agentUser(['Todo.Read']))).status, 200)
    assert.equal((await call('/scope', await agentForUser(['Todo.Read']))).status, 200)
    assert.deepEqual(await call('/split', await agent(['Todo.Write.All'])), {
      status: 403, code: 'ENTRA_INSUFFICIENT_SCOPE', challenge: forbidden('The token lacks the required app role: Todo.Read.All', 'Todo.Read.All')
    })
  })

  it('refuses the agent types a route refuses, with a 403 naming the type, and lets the others through', async () => {
    assert.deepEqual(await call('/no-autonomous', await agent(['Todo.Read.All'])), {
      status: 403, code: 'ENTRA_AGENT_NOT_ALLOWED', challenge: forbidden('This route does not accept agents acting on their own')
    })
    assert.equal((await call('/no-autonomous', await issuer.mint({ appOnly: true, roles: ['Todo.Read.All'] }))).status, 200, 'applications still pass')
    assert.deepEqual(await call('/no-autonomous', await agentForUser(['Todo.Read'])), {
      status: 403, code: 'ENTRA_INSUFFICIENT_SCOPE', challenge: forbidden('The token lacks the required scope: Todo.Agent', 'Todo.Agent')
    })
    assert.equal((await call('/no-autonomous', await agentForUser(['Todo.Agent']))).status, 200)
    assert.equal((await call('/no-autonomous', await agentUser(['Todo.Read']))).status, 200, 'left out: as a user')
    assert.equal((await call('/no-autonomous', await issuer.mint({ scopes: ['Todo.Read'] }))).status, 200)
  })

  it('requires a blueprint of agents only, naming the blueprint required and never the caller\'s', async () => {
    assert.equal((await call('/blueprint', await agent(['Todo.Read.All']))).status, 200)
    const required = forbidden(`This route accepts agents of the blueprint ${TEST_BLUEPRINT_APP_ID} only`)
    const other = await call('/blueprint', await agent(['Todo.Read.All'], OTHER_BLUEPRINT))
    assert.deepEqual(other, { status: 403, code: 'ENTRA_AGENT_BLUEPRINT_REQUIRED', challenge: required })
    assert.ok(!other.challenge.includes(OTHER_BLUEPRINT), 'the caller\'s blueprint is never named')
    assert.deepEqual(await call('/blueprint', await agent(['Todo.Read.All'], null)), { status: 403, code: 'ENTRA_AGENT_BLUEPRINT_REQUIRED', challenge: required },
      'an agent token without xms_par_app_azp')
    assert.deepEqual(await call('/blueprint', await issuer.mint({ agent: 'agentForUser', scopes: ['Todo.Read'], blueprintAppId: OTHER_BLUEPRINT })),
      { status: 403, code: 'ENTRA_AGENT_BLUEPRINT_REQUIRED', challenge: required })
    // The blueprint narrows, it grants nothing: the roles are still required.
    assert.equal((await call('/blueprint', await agent(['Todo.Write.All']))).code, 'ENTRA_INSUFFICIENT_SCOPE')
    assert.equal((await call('/blueprint', await issuer.mint({ scopes: ['Todo.Read'] }))).status, 200, 'users are not concerned')
    assert.equal((await call('/blueprint', await issuer.mint({ appOnly: true, roles: ['Todo.Read.All'], claims: { xms_par_app_azp: OTHER_BLUEPRINT } }))).status, 200,
      'nor applications, whatever they carry')
  })

  it('composes with the scope guards: each must pass', async () => {
    assert.equal((await call('/no-agents', await issuer.mint({ scopes: ['Todo.Write'] }))).status, 200)
    assert.equal((await call('/no-agents', await issuer.mint({ scopes: ['Todo.Read'] }))).code, 'ENTRA_INSUFFICIENT_SCOPE')
    for (const [token, description] of [
      [await agentForUser(['Todo.Write']), 'This route does not accept agents acting for a user'],
      [await agentUser(['Todo.Write']), 'This route does not accept agents\' user accounts']
    ] as const) {
      assert.deepEqual(await call('/no-agents', token), { status: 403, code: 'ENTRA_AGENT_NOT_ALLOWED', challenge: forbidden(description) })
    }
  })

  it('can admit agents only', async () => {
    assert.equal((await call('/agents-only', await agent(['Todo.Read.All']))).status, 200)
    assert.equal((await call('/agents-only', await agentUser(['Anything']))).status, 200)
    assert.deepEqual(await call('/agents-only', await issuer.mint({ scopes: ['Todo.Read'] })), {
      status: 403, code: 'ENTRA_INSUFFICIENT_SCOPE', challenge: forbidden('This route does not accept delegated (user) tokens')
    })
    assert.deepEqual(await call('/agents-only', await issuer.mint({ appOnly: true, roles: ['Todo.Read.All'] })), {
      status: 403, code: 'ENTRA_INSUFFICIENT_SCOPE', challenge: forbidden('This route does not accept app-only tokens')
    })
  })

  it('checks its arguments when built', () => {
    const bad: unknown[] = [
      {}, { agent: undefined }, { user: true, blueprints: [] }, { user: true, blueprints: ['not-a-guid'] }, { user: true, blueprints: TEST_BLUEPRINT_APP_ID },
      { user: true, agent: 'yes' }, { user: true, agentUser: {} }, { user: true, agentForUser: { scopes: 'two words' } }
    ]
    for (const options of bad) {
      assert.throws(() => requireByCallerType(options as Parameters<typeof requireByCallerType>[0]), EntraConfigError, JSON.stringify(options))
    }
  })
})

describe('agent guards, described', () => {
  const read = { match: 'anyOf', values: ['Todo.Read'] }
  const readAll = { match: 'anyOf', values: ['Todo.Read.All'] }

  it('says nothing of agents for a guard that treats them as any caller', () => {
    assert.deepEqual(describeGuard(requireByCallerType({ user: { scopes: 'Todo.Read' }, app: { roles: 'Todo.Read.All' } })),
      { user: [{ scopes: read }], app: [{ roles: readAll }], conditions: [], optional: false })
  })

  it('lists the ways of the agent types a guard sets apart, and the blueprints as a condition', () => {
    assert.deepEqual(describeGuard(requireByCallerType({ user: { scopes: 'Todo.Read' }, app: { roles: 'Todo.Read.All' }, agent: false, agentUser: true, blueprints: [TEST_BLUEPRINT_APP_ID, OTHER_BLUEPRINT] })), {
      user: [{ scopes: read }], app: [{ roles: readAll }], agent: [], agentUser: [{}],
      conditions: [`agents of one of the blueprints ${TEST_BLUEPRINT_APP_ID}, ${OTHER_BLUEPRINT}`], optional: false
    })
  })

  it('documents the agent types in each operation of the OpenAPI document', async () => {
    const issuer = await startTestIssuer()
    const app = Fastify()
    try {
      await app.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url })
      await app.register(swagger, withEntraIdSecurity(app, { openapi: { openapi: '3.1.0', info: { title: 'x', version: '1' } } }))
      const ok = () => ({ ok: true })
      app.get('/split', { onRequest: requireByCallerType({ user: { scopes: 'Todo.Read' }, app: { roles: 'Todo.Read.All' } }) }, ok)
      app.get('/guarded', {
        onRequest: requireByCallerType({ user: { scopes: 'Todo.Read' }, app: { roles: 'Todo.Read.All' }, agent: false, agentForUser: { scopes: 'Todo.Agent' }, blueprints: [TEST_BLUEPRINT_APP_ID] })
      }, ok)
      app.get('/no-agents', { onRequest: [requireScopes('Todo.Write'), requireByCallerType({ user: true, app: true, agent: false, agentForUser: false, agentUser: false })] }, ok)
      await app.ready()
      const doc = app.swagger() as unknown as { paths: Record<string, { get: { description: string, security: unknown, responses: Record<string, unknown> } }> }
      const prefix = `api://${issuer.clientId}/`
      assert.equal(doc.paths['/split']?.get.description,
        '**Access:** Users need the delegated scope `Todo.Read`. Applications calling as themselves need the app role `Todo.Read.All`.')
      const guarded = doc.paths['/guarded']?.get
      assert.equal(guarded?.description, '**Access:** Users need the delegated scope `Todo.Read`. Applications calling as themselves need the app role `Todo.Read.All`. ' +
        'Agents acting on their own (Microsoft Entra Agent ID) are refused. Agents acting for a user (Microsoft Entra Agent ID) need the delegated scope `Todo.Agent`. ' +
        `Also required: agents of the blueprint ${TEST_BLUEPRINT_APP_ID}.`)
      assert.deepEqual(guarded?.security, [{ entraId: [`${prefix}Todo.Read`] }, { entraId: [`${prefix}Todo.Agent`] }, { bearerToken: [] }])
      assert.ok(guarded?.responses['403'] !== undefined)
      assert.equal(doc.paths['/no-agents']?.get.description, '**Access:** Users need the delegated scope `Todo.Write`. App-only tokens are refused. ' +
        'Agents acting for a user (Microsoft Entra Agent ID) are refused. Agents\' user accounts (Microsoft Entra Agent ID) are refused.')
    } finally {
      await app.close()
      await issuer.close()
    }
  })
})

describe('the log line of an agent\'s request', () => {
  it('names the caller type of every request, and an agent\'s blueprint', async () => {
    const issuer = await startTestIssuer()
    const sink = logSink()
    const app = Fastify({ logger: { level: 'info', stream: sink.stream } })
    try {
      await app.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url })
      app.get('/me', { onRequest: app.entraId.authenticate }, () => ({ ok: true }))
      const tokens = [
        await issuer.mint({ scopes: ['S'] }),
        await issuer.mint({ appOnly: true, roles: ['R'] }),
        await issuer.mint({ agent: 'agent', roles: ['R'] }),
        await issuer.mint({ agent: 'agentForUser', scopes: ['S'], blueprintAppId: OTHER_BLUEPRINT }),
        await issuer.mint({ agent: 'agentUser', scopes: ['S'], blueprintAppId: null })
      ]
      for (const token of tokens) assert.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200)
      const completed = sink.lines().filter((l) => l.msg === 'request completed')
      assert.deepEqual(completed.map((l) => [l.caller, l.blueprint]), [
        ['user', undefined], ['app', undefined], ['agent', TEST_BLUEPRINT_APP_ID], ['agentForUser', OTHER_BLUEPRINT], ['agentUser', null]
      ])
    } finally {
      await app.close()
      await issuer.close()
    }
  })
})
