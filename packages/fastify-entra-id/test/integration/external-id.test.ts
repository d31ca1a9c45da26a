import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { startTestIssuer } from '../../src/testing/index.js'
import type { TestIssuer } from '../../src/testing/index.js'
import { bearer, buildApp, outcome } from '../helpers.js'

const DOMAIN = 'contosocustomers.onmicrosoft.com'

// Entra External ID (customer tenants): the authority is https://{subdomain}.ciamlogin.com/{tenant}, the issuer
// https://{tenant ID}.ciamlogin.com/{tenant ID}/v2.0, a host the authority does not name.
describe('Microsoft Entra External ID', () => {
  const tenantId = randomUUID()
  let issuer: TestIssuer
  let app: FastifyInstance

  before(async () => {
    issuer = await startTestIssuer({ tenantId, issuerBaseUrl: 'https://{tenantid}.ciamlogin.com', domains: { [DOMAIN]: tenantId } })
    app = await buildApp(issuer, { tenantId: DOMAIN, tokenVersions: [2], audience: [issuer.clientId, 'https://todo.contoso.com/api'], protectedResources: [{ resource: 'https://todo.contoso.com/api' }] })
    await app.ready()
  })
  after(async () => {
    await app.close()
    await issuer.close()
  })

  it('takes the issuer from discovery, whose host is the tenant ID and not the authority\'s', async () => {
    const issuerOfTokens = `https://${tenantId}.ciamlogin.com/${tenantId}/v2.0`
    assert.equal(issuer.issuer(2), issuerOfTokens)
    assert.equal(app.entraId.verifier.v2Issuer, issuerOfTokens)
    assert.deepEqual(issuer.requests.filter((r) => r.kind === 'discovery-v2').map((r) => r.path), [`/${DOMAIN}/v2.0/.well-known/openid-configuration`])
    const metadata = await app.inject({ url: '/.well-known/oauth-protected-resource/api' })
    assert.deepEqual(metadata.json<{ authorization_servers: string[] }>().authorization_servers, [issuerOfTokens])
  })

  it('accepts a token of the external tenant', async () => {
    const objectId = randomUUID()
    const response = await app.inject({ url: '/me', headers: bearer(await issuer.mint({ scopes: ['Todo.Read'], objectId })) })
    assert.equal(response.statusCode, 200)
    assert.deepEqual([response.json<{ tenantId: string }>().tenantId, response.json<{ objectId: string }>().objectId], [tenantId, objectId])
  })

  it('refuses an issuer built from the authority, and a token of another external tenant', async () => {
    const built = await issuer.mint({ scopes: ['Todo.Read'], claims: { iss: `${issuer.url}/${tenantId}/v2.0` } })
    assert.equal(outcome(await app.inject({ url: '/me', headers: bearer(built) })).code, 'ENTRA_TOKEN_INVALID_ISSUER')
    const other = await issuer.mint({ scopes: ['Todo.Read'], tenantId: randomUUID() })
    assert.equal(outcome(await app.inject({ url: '/me', headers: bearer(other) })).code, 'ENTRA_TOKEN_TENANT_NOT_ALLOWED')
  })
})
