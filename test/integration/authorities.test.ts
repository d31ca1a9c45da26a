import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { randomUUID } from 'node:crypto'
import { startTestIssuer } from 'fastify-entra-id/testing'
import type { TestIssuer } from 'fastify-entra-id/testing'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { ConfigError } from '../../src/config/config-error.js'
import { bearer, envFor, openTestStore, tempDir } from '../helpers/app.js'

const B2C_DOMAIN = 'contosob2c.onmicrosoft.com'

describe('the sample on Azure AD B2C (AZURE_B2C_POLICIES)', () => {
  const tenantId = randomUUID()
  const dir = tempDir()
  let issuer: TestIssuer
  let app: FastifyInstance
  let dispose: () => Promise<void>

  before(async () => {
    // B2C_1_other shares the tenant's keys but is not among the API's user flows.
    issuer = await startTestIssuer({ tenantId, b2c: { policies: ['B2C_1_signupsignin', 'B2C_1_other'] }, domains: { [B2C_DOMAIN]: tenantId } })
    const opened = await openTestStore('sqlite', dir.path)
    dispose = opened.dispose
    app = await buildApp({
      env: envFor(issuer, dir.path, { AZURE_TENANT_ID: B2C_DOMAIN, AZURE_B2C_POLICIES: 'B2C_1_signupsignin' }),
      store: opened.store
    })
    await app.ready()
  })
  after(async () => {
    await app.close()
    await dispose()
    await issuer.close()
    dir.remove()
  })

  test('GET /api/me names a B2C user by sub, in the B2C tenant', async () => {
    const subject = randomUUID()
    const res = await app.inject({ url: '/api/me', headers: bearer(await issuer.mintB2c({ subject, scopes: ['Todo.Read'], name: 'Grace' })) })
    assert.equal(res.statusCode, 200)
    const body = res.json<Record<string, unknown>>()
    assert.deepEqual([body.oid, body.sub, body.tid, body.name, body.tokenVersion, body.accountType], [subject, subject, tenantId, 'Grace', 2, 'member'])
  })

  test('a B2C user owns the todos it creates', async () => {
    const subject = randomUUID()
    const token = await issuer.mintB2c({ subject, scopes: ['Todo.Read', 'Todo.Write'] })
    const created = await app.inject({ method: 'POST', url: '/api/todos', headers: bearer(token), payload: { title: 'Ship B2C' } })
    assert.equal(created.statusCode, 201, created.body)
    assert.deepEqual(created.json<{ owner: unknown }>().owner, { tid: tenantId, oid: subject })
    const listed = await app.inject({ url: '/api/todos', headers: bearer(await issuer.mintB2c({ subject, scopes: ['Todo.Read'] })) })
    assert.deepEqual(listed.json<{ items: { title: string }[] }>().items.map((t) => t.title), ['Ship B2C'])
  })

  test('refuses a token of a user flow that is not in AZURE_B2C_POLICIES', async () => {
    const res = await app.inject({ url: '/api/me', headers: bearer(await issuer.mintB2c({ policy: 'B2C_1_other', scopes: ['Todo.Read'] })) })
    assert.equal(res.statusCode, 401)
    assert.equal(res.json<{ code: string }>().code, 'ENTRA_TOKEN_POLICY_NOT_ALLOWED')
  })

  test('offers no Entra sign-in in the OpenAPI document, only bearer tokens', async () => {
    const document = (await app.inject({ url: '/docs/json' })).json<{ components: { securitySchemes: Record<string, unknown> } }>()
    assert.equal('entraUser' in document.components.securitySchemes, false)
  })
})

describe('the sample on Entra External ID (AZURE_AUTHORITY_HOST and AZURE_TENANT_ID only)', () => {
  test('accepts the external tenant\'s tokens, whose issuer host is the tenant ID', async () => {
    const tenantId = randomUUID()
    const dir = tempDir()
    const issuer = await startTestIssuer({ tenantId, issuerBaseUrl: 'https://{tenantid}.ciamlogin.com', domains: { 'contosocustomers.onmicrosoft.com': tenantId } })
    const opened = await openTestStore('sqlite', dir.path)
    const app = await buildApp({ env: envFor(issuer, dir.path, { AZURE_TENANT_ID: 'contosocustomers.onmicrosoft.com', AUTH_TOKEN_VERSIONS: '2' }), store: opened.store })
    try {
      const objectId = randomUUID()
      const res = await app.inject({ url: '/api/me', headers: bearer(await issuer.mint({ objectId, scopes: ['Todo.Read'] })) })
      assert.equal(res.statusCode, 200)
      assert.deepEqual([res.json<{ oid: string }>().oid, res.json<{ tid: string }>().tid], [objectId, tenantId])
      assert.equal(issuer.issuer(2), `https://${tenantId}.ciamlogin.com/${tenantId}/v2.0`)
    } finally {
      await app.close()
      await opened.dispose()
      await issuer.close()
      dir.remove()
    }
  })
})

describe('AZURE_B2C_POLICIES configuration', () => {
  const problems = async (env: Record<string, string>): Promise<readonly string[]> => {
    const dir = tempDir()
    try {
      const app = await buildApp({ env: { LOG_LEVEL: 'silent', DATA_DIR: dir.path, ...env } })
      await app.close()
    } catch (error) {
      assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`)
      return error.problems
    } finally {
      dir.remove()
    }
    assert.fail('the app started')
  }
  const clientId = randomUUID()

  test('needs the B2C tenant and its host', async () => {
    assert.deepEqual(await problems({ AZURE_B2C_POLICIES: 'B2C_1_signupsignin' }),
      ['AZURE_TENANT_ID is required when AZURE_B2C_POLICIES is set: the B2C tenant, such as contoso.onmicrosoft.com'])
    assert.deepEqual(await problems({ AZURE_TENANT_ID: B2C_DOMAIN, AZURE_CLIENT_ID: clientId, AZURE_B2C_POLICIES: 'B2C_1_signupsignin' }),
      ['AZURE_AUTHORITY_HOST is required when AZURE_B2C_POLICIES is set: https://<tenant>.b2clogin.com or the tenant\'s custom domain'])
  })

  test('names the variable when a user flow is malformed or v1 tokens are asked for', async () => {
    const base = { AZURE_TENANT_ID: B2C_DOMAIN, AZURE_CLIENT_ID: clientId, AZURE_AUTHORITY_HOST: 'https://contosob2c.b2clogin.com' }
    assert.deepEqual(await problems({ ...base, AZURE_B2C_POLICIES: 'B2C_1 signup' }),
      ['AZURE_B2C_POLICIES must be a comma-separated list of B2C user flows (policies), such as B2C_1_signupsignin'])
    const [versions] = await problems({ ...base, AZURE_B2C_POLICIES: 'B2C_1_a', AUTH_TOKEN_VERSIONS: '1,2' })
    assert.match(String(versions), /^AUTH_TOKEN_VERSIONS: .*"tokenVersions" does not apply to B2C/)
  })
})
