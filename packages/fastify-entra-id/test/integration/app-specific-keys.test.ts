import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { EntraConfigError } from '../../src/index.js'
import { EntraTokenVerifier } from '../../src/core/index.js'
import { bearer, buildApp, outcome, withIssuer } from '../helpers.js'

// Entra signs the tokens of an application with a claims-mapping policy with keys it publishes only at
// jwks_uri?appid={client ID}, which the discovery document read with ?appid= names.
describe('application-specific signing keys', () => {
  it('verifies a token signed with a key published only at ?appid= when appSpecificKeys is on', async () => {
    await withIssuer(async (issuer) => {
      const kid = await issuer.addAppKey(issuer.clientId)
      const app = await buildApp(issuer, { appSpecificKeys: true })
      try {
        await app.ready()
        for (const version of [2, 1] as const) {
          const response = await app.inject({ url: '/me', headers: bearer(await issuer.mint({ version, kid, scopes: ['Todo.Read'] })) })
          assert.equal(response.statusCode, 200, response.body)
        }
        const query = `?appid=${issuer.clientId}`
        assert.deepEqual(issuer.requests.map((r) => [r.kind, r.query]).sort(), [
          ['discovery-v1', query], ['discovery-v2', query], ['jwks-v1', query], ['jwks-v2', query]
        ])
        // The tenant's own keys are still served there.
        assert.equal((await app.inject({ url: '/me', headers: bearer(await issuer.mint({ scopes: ['Todo.Read'] })) })).statusCode, 200)
      } finally {
        await app.close()
      }
    })
  })

  it('refuses such a token without the option: its key is not in the tenant\'s set', async () => {
    await withIssuer(async (issuer) => {
      const kid = await issuer.addAppKey(issuer.clientId)
      const app = await buildApp(issuer)
      try {
        await app.ready()
        const token = await issuer.mint({ kid, scopes: ['Todo.Read'] })
        assert.equal(outcome(await app.inject({ url: '/me', headers: bearer(token) })).code, 'ENTRA_TOKEN_UNKNOWN_KEY')
        assert.ok(issuer.requests.every((r) => r.query === ''))
      } finally {
        await app.close()
      }
    })
  })

  it('must be true or false', () => {
    assert.throws(() => EntraTokenVerifier.create({ tenantId: 'contoso.example', clientId: '00000000-0000-0000-0000-000000000001', appSpecificKeys: 'yes' as never }),
      (error: unknown) => error instanceof EntraConfigError && error.option === 'appSpecificKeys')
  })
})
