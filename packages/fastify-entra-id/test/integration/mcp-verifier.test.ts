import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import express from 'express'
import { OAuthError, OAuthErrorCode, bearerAuthChallengeResponse, verifyBearerToken } from '@modelcontextprotocol/server'
import { requireBearerAuth as requireBearerAuthV1 } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js'
import { InvalidTokenError as InvalidTokenErrorV1, ServerError as ServerErrorV1 } from '@modelcontextprotocol/sdk/server/auth/errors.js'
import { entraIdentityOf, entraTokenVerifier } from '../../src/mcp/index.js'
import type { EntraMcpVerifier, EntraMcpVerifierOptions } from '../../src/mcp/index.js'
import { entraTokenVerifier as entraTokenVerifierV1 } from '../../src/mcp/v1.js'
import { EntraConfigError, InvalidTokenError, KeysUnavailableError, RevocationCheckError } from '../../src/core/index.js'
import { TEST_CLIENT_APP_ID, startTestIssuer } from '../../src/testing/index.js'
import type { TestIssuer } from '../../src/testing/index.js'

const MCP = 'https://mcp.contoso.com/mcp'
const ADMIN = 'https://mcp.contoso.com/mcp/admin'
const OTHER_URI = 'https://contoso.com/todo'

describe('entraTokenVerifier (fastify-entra-id/mcp)', () => {
  let issuer: TestIssuer
  const verifiers: EntraMcpVerifier[] = []

  before(async () => { issuer = await startTestIssuer() })
  after(async () => {
    for (const verifier of verifiers) verifier.close()
    await issuer.close()
  })

  function make(options: Partial<EntraMcpVerifierOptions> = {}, line: typeof entraTokenVerifier = entraTokenVerifier): EntraMcpVerifier {
    const verifier = line({ tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url, ...options })
    verifiers.push(verifier)
    return verifier
  }

  // Two resources, the first configured the less specific: a v2 token (for the application) must map to it, not to
  // the one the plugin's resolution orders first.
  const twoResources = (): Partial<EntraMcpVerifierOptions> => ({
    audience: [issuer.clientId, `api://${issuer.clientId}`, MCP, ADMIN, OTHER_URI],
    protectedResources: [
      { resource: MCP, scopes: [`${MCP}/Todo.Read`, `${MCP}/Todo.Write`] },
      { resource: ADMIN, scopes: [`${ADMIN}/Todo.Admin`] }
    ]
  })

  it('answers a valid token with the SDK\'s AuthInfo: client, full scopes, expiry in seconds, resource, the caller under extra', async () => {
    const verifier = make(twoResources())
    const token = await issuer.mint({ scopes: ['Todo.Read', 'Todo.Export'], objectId: '11111111-2222-3333-4444-555555555555', expiresIn: 600 })
    const exp = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { exp: number }
    const info = await verifier.verifyAccessToken(token)
    assert.equal(info.token, token)
    assert.equal(info.clientId, TEST_CLIENT_APP_ID)
    // A scope the resource lists is written in full; one it does not list stays as Entra wrote it.
    assert.deepEqual(info.scopes, [`${MCP}/Todo.Read`, 'Todo.Export'])
    assert.equal(info.expiresAt, exp.exp)
    assert.equal(info.resource?.href, MCP)
    const caller = entraIdentityOf(info)
    assert.equal(caller?.objectId, '11111111-2222-3333-4444-555555555555')
    assert.deepEqual([...caller?.scopes ?? []], ['Todo.Read', 'Todo.Export'])
    // What the SDK checks on its own: the resource and the scopes, as they are.
    const checked = await verifyBearerToken(`Bearer ${token}`, { verifier, expectedResource: new URL(MCP), requiredScopes: [`${MCP}/Todo.Read`] })
    assert.equal(entraIdentityOf(checked)?.objectId, caller?.objectId, 'the identity survives the SDK\'s copy of AuthInfo')
  })

  it('maps the token\'s audience to a resource: its identifier, else the application\'s (client ID, api://) to the first, else none', async () => {
    const verifier = make(twoResources())
    const resourceOf = async (audience: string, version: 1 | 2 = 1): Promise<string | undefined> =>
      (await verifier.verifyAccessToken(await issuer.mint({ version, audience, scopes: ['Todo.Admin'] }))).resource?.href
    assert.equal(await resourceOf(issuer.clientId, 2), MCP)
    assert.equal(await resourceOf(`api://${issuer.clientId}`), MCP)
    assert.equal(await resourceOf(ADMIN), ADMIN)
    assert.equal(await resourceOf(MCP), MCP)
    assert.equal(await resourceOf(OTHER_URI), undefined)
    // Scopes are written under the token's own resource.
    const admin = await verifier.verifyAccessToken(await issuer.mint({ version: 1, audience: ADMIN, scopes: ['Todo.Admin'] }))
    assert.deepEqual(admin.scopes, [`${ADMIN}/Todo.Admin`])
    // A token for another identifier URI of the API is valid, but not for this resource: the SDK refuses it.
    const other = await issuer.mint({ version: 1, audience: OTHER_URI, scopes: ['Todo.Read'] })
    await assert.rejects(verifyBearerToken(`Bearer ${other}`, { verifier, expectedResource: new URL(MCP) }),
      (error: unknown) => error instanceof OAuthError && error.toResponseObject().error === 'invalid_token' && error.message === 'Token was not issued for this resource')
  })

  it('sets no resource and keeps the scopes\' names without protectedResources', async () => {
    const info = await make().verifyAccessToken(await issuer.mint({ scopes: ['Todo.Read'] }))
    assert.equal(info.resource, undefined)
    assert.equal('resource' in info, false)
    assert.deepEqual(info.scopes, ['Todo.Read'])
  })

  it('finds no identity in an AuthInfo it did not make', async () => {
    const info = await make().verifyAccessToken(await issuer.mint({ scopes: ['Todo.Read'] }))
    assert.equal(entraIdentityOf(undefined), undefined)
    assert.equal(entraIdentityOf({ extra: { entra: { objectId: info.extra.entra.objectId, scopes: info.extra.entra.scopes } } }), undefined)
    assert.equal(entraIdentityOf({}), undefined)
  })

  it('throws a token refusal as the SDK\'s invalid_token OAuthError, this package\'s error its cause, which the SDK answers 401', async () => {
    const verifier = make()
    const expired = await issuer.mint({ scopes: ['Todo.Read'], expiresIn: -3600 })
    const error = await verifier.verifyAccessToken(expired).then(() => undefined, (e: unknown) => e)
    assert.ok(error instanceof OAuthError)
    assert.equal(error.code, OAuthErrorCode.InvalidToken)
    assert.match(error.message, /^The token expired \d+ s ago/)
    assert.ok(error.cause instanceof InvalidTokenError)
    assert.equal(error.cause.code, 'ENTRA_TOKEN_EXPIRED')
    const answer = bearerAuthChallengeResponse(error, { resourceMetadataUrl: 'https://mcp.contoso.com/.well-known/oauth-protected-resource/mcp' })
    assert.equal(answer.status, 401)
    assert.match(answer.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token", error_description="The token expired \d+ s ago.*", resource_metadata="https:\/\/mcp\.contoso\.com\/\.well-known\/oauth-protected-resource\/mcp"$/)
  })

  it('throws an identity-provider outage as the SDK\'s server_error, never invalid_token: 500 without a challenge', async () => {
    const down = await startTestIssuer()
    try {
      down.setBehaviour('down')
      const verifier = entraTokenVerifier({ tenantId: down.tenantId, clientId: down.clientId, authorityHost: down.url })
      verifiers.push(verifier)
      const error = await verifier.verifyAccessToken(await down.mint({ scopes: ['Todo.Read'] })).then(() => undefined, (e: unknown) => e)
      assert.ok(error instanceof OAuthError)
      assert.equal(error.code, OAuthErrorCode.ServerError)
      assert.ok(error.cause instanceof KeysUnavailableError, 'the cause says why, and carries Retry-After')
      const answer = bearerAuthChallengeResponse(error)
      assert.equal(answer.status, 500)
      assert.equal(answer.headers.get('www-authenticate'), null)
      assert.deepEqual(await answer.json(), { error: 'server_error', error_description: 'The identity provider\'s signing keys are unavailable; retry later' })
    } finally {
      await down.close()
    }
  })

  it('asks the revocation check too: a revoked token is the SDK\'s invalid_token, a failed check its server_error', async () => {
    const revoked = make({ revocation: { isRevoked: () => true } })
    const failing = make({ revocation: { isRevoked: () => { throw new Error('deny-list down') } } })
    const token = await issuer.mint({ scopes: ['Todo.Read'] })
    const refusal = await revoked.verifyAccessToken(token).then(() => undefined, (e: unknown) => e)
    assert.ok(refusal instanceof OAuthError)
    assert.equal(refusal.code, OAuthErrorCode.InvalidToken)
    assert.ok(refusal.cause instanceof InvalidTokenError && refusal.cause.code === 'ENTRA_TOKEN_REVOKED')
    const outage = await failing.verifyAccessToken(token).then(() => undefined, (e: unknown) => e)
    assert.ok(outage instanceof OAuthError)
    assert.equal(outage.code, OAuthErrorCode.ServerError)
    assert.ok(outage.cause instanceof RevocationCheckError, 'the cause carries Retry-After')
  })

  it('checks protectedResources when made, naming the option', () => {
    assert.throws(() => make({ protectedResources: [{ resource: 'http://mcp.contoso.com/mcp' }] }),
      (error: unknown) => error instanceof EntraConfigError && error.message.includes('protectedResources[0].resource'))
  })

  it('refuses, as the plugin does, a resource that is not one of the accepted audiences (Entra would answer AADSTS9010010)', () => {
    assert.throws(() => make({ protectedResources: [{ resource: 'https://elsewhere.contoso.com/mcp' }] }),
      (error: unknown) => error instanceof EntraConfigError && /protectedResources\[0\]\.resource.*AADSTS9010010/.test(error.message))
  })

  it('serves each resource\'s RFC 9728 document at its metadata path, and nothing elsewhere', () => {
    const verifier = make(twoResources())
    assert.deepEqual(verifier.protectedResourceMetadata('/.well-known/oauth-protected-resource/mcp/admin'), {
      resource: ADMIN,
      authorization_servers: [issuer.issuer(2)],
      scopes_supported: [`${ADMIN}/Todo.Admin`],
      bearer_methods_supported: ['header']
    })
    assert.equal(verifier.protectedResourceMetadata('/mcp'), undefined)
    assert.equal(verifier.protectedResourceMetadata('/.well-known/oauth-protected-resource'), undefined)
  })

  describe('with the SDK\'s v1 line (fastify-entra-id/mcp/v1) and its Express requireBearerAuth', () => {
    let server: Server
    let base: string
    const resourceMetadataUrl = 'https://mcp.contoso.com/.well-known/oauth-protected-resource/mcp'

    before(async () => {
      const verifier = make(twoResources(), entraTokenVerifierV1)
      const app = express()
      app.get('/mcp', requireBearerAuthV1({ verifier, expectedResource: new URL(MCP), requiredScopes: [`${MCP}/Todo.Read`], resourceMetadataUrl }),
        (req, res) => { res.json({ objectId: entraIdentityOf(req.auth)?.objectId, scopes: req.auth?.scopes, resource: req.auth?.resource?.href }) })
      server = app.listen(0, '127.0.0.1')
      await new Promise((resolve) => server.once('listening', resolve))
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    })
    after(() => { server.close() })

    const get = async (token: string): Promise<Response> => fetch(`${base}/mcp`, { headers: { authorization: `Bearer ${token}` } })

    it('admits a valid token, with the same AuthInfo', async () => {
      const answer = await get(await issuer.mint({ scopes: ['Todo.Read'], objectId: '11111111-2222-3333-4444-555555555555' }))
      assert.equal(answer.status, 200)
      assert.deepEqual(await answer.json(), { objectId: '11111111-2222-3333-4444-555555555555', scopes: [`${MCP}/Todo.Read`], resource: MCP })
    })

    it('refuses a token for another audience 401 invalid_token, and one without the scope 403, both naming the metadata', async () => {
      const other = await get(await issuer.mint({ scopes: ['Todo.Read'], audience: 'api://another-api' }))
      assert.equal(other.status, 401)
      assert.equal(other.headers.get('www-authenticate'), 'Bearer error="invalid_token", error_description="The token is for another application (aud): ' +
        `request a token for this API's scope instead", scope="${MCP}/Todo.Read", resource_metadata="${resourceMetadataUrl}"`)
      const scopeless = await get(await issuer.mint({ scopes: ['Todo.Write'] }))
      assert.equal(scopeless.status, 403)
      assert.equal(scopeless.headers.get('www-authenticate'),
        `Bearer error="insufficient_scope", error_description="Insufficient scope", scope="${MCP}/Todo.Read", resource_metadata="${resourceMetadataUrl}"`)
    })

    it('throws v1\'s own error classes: InvalidTokenError for a refusal, ServerError for an outage', async () => {
      const verifier = make({}, entraTokenVerifierV1)
      await assert.rejects(verifier.verifyAccessToken('not-a-jwt'),
        (error: unknown) => error instanceof InvalidTokenErrorV1 && error.cause instanceof InvalidTokenError && error.cause.code === 'ENTRA_TOKEN_MALFORMED')
      const down = await startTestIssuer()
      try {
        down.setBehaviour('down')
        const outage = make({ tenantId: down.tenantId, clientId: down.clientId, authorityHost: down.url }, entraTokenVerifierV1)
        await assert.rejects(outage.verifyAccessToken(await down.mint({ scopes: ['Todo.Read'] })),
          (error: unknown) => error instanceof ServerErrorV1 && error.cause instanceof KeysUnavailableError)
      } finally {
        await down.close()
      }
    })
  })
})
