import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, test } from 'node:test'
import { Agent } from 'node:https'
import { Writable } from 'node:stream'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { selfSignedCertificate, startTestGraph, startTestIssuer, startTestTokenEndpoint } from 'fastify-entra-id/testing'
import type { TestGraph, TestIssuer, TestTokenEndpoint } from 'fastify-entra-id/testing'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { openSqliteStore } from '../../src/store/sqlite-store.js'
import type { TodoStore } from '../../src/store/store.js'
import { bearer, envFor, tempDir } from '../helpers/app.js'

const SECRET = 'sample-secret-never-logged'

describe('GET /api/me/profile', () => {
  let issuer: TestIssuer
  let tokenEndpoint: TestTokenEndpoint
  let graph: TestGraph
  let agent: Agent
  let dir: { path: string, remove: () => void }
  let store: TodoStore
  let logs: string[]
  let app: FastifyInstance

  /** The sample with `env` on top of the issuer's, msal-node pointed at the loopback https token endpoint. */
  async function start(env: Record<string, string>): Promise<FastifyInstance> {
    const stream = new Writable({ write(chunk: Buffer, _encoding, callback) { logs.push(chunk.toString()); callback() } })
    return await buildApp({
      env: envFor(issuer, dir.path, { LOG_LEVEL: 'debug', GRAPH_BASE_URL: graph.url, ...env }),
      store,
      downstream: { authorityHost: tokenEndpoint.url, agent },
      fastify: { logger: { level: 'debug', stream } }
    })
  }

  before(async () => {
    issuer = await startTestIssuer()
    const tls = selfSignedCertificate()
    tokenEndpoint = await startTestTokenEndpoint(issuer, { tls, clientSecret: SECRET })
    graph = await startTestGraph(issuer)
    agent = new Agent({ ca: tls.cert })
    dir = tempDir()
    store = await openSqliteStore({ file: join(dir.path, 'todos.sqlite') })
    logs = []
    app = await start({ AZURE_CLIENT_SECRET: SECRET })
  })
  after(async () => {
    await app.close()
    await store.close()
    agent.destroy()
    await tokenEndpoint.close()
    await graph.close()
    await issuer.close()
    dir.remove()
  })
  beforeEach(() => {
    tokenEndpoint.setBehaviour('normal')
    graph.setBehaviour('normal')
  })

  test('answers the caller\'s Graph profile, fetched on their behalf', async () => {
    const token = await issuer.mint({ scopes: ['Todo.Read'], name: 'Megan Bowen', username: 'megan@contoso.example' })
    const res = await app.inject({ url: '/api/me/profile', headers: bearer(token) })
    assert.equal(res.statusCode, 200, res.body)
    assert.deepEqual(res.json(), { displayName: 'Megan Bowen', mail: 'megan@contoso.example', jobTitle: 'Test Engineer' })
    const request = tokenEndpoint.requests.at(-1)
    assert.equal(request?.form.assertion, token)
    assert.equal(request?.form.requested_token_use, 'on_behalf_of')
  })

  test('passes a claims challenge through: 401 insufficient_claims with Entra\'s claims', async () => {
    const claims = '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}'
    tokenEndpoint.setBehaviour('interaction-required', claims)
    const res = await app.inject({ url: '/api/me/profile', headers: bearer(await issuer.mint({ scopes: ['Todo.Read'] })) })
    assert.equal(res.statusCode, 401)
    assert.equal(res.json<{ code: string }>().code, 'ENTRA_INSUFFICIENT_CLAIMS')
    assert.equal(res.headers['www-authenticate'],
      `Bearer realm="api", authorization_uri="${issuer.url}/${issuer.tenantId}/oauth2/v2.0/authorize", error="insufficient_claims", claims="${Buffer.from(claims).toString('base64')}"`)
  })

  test('answers 403 ENTRA_CONSENT_REQUIRED when the User.Read consent is missing', async () => {
    tokenEndpoint.setBehaviour('consent-required')
    const res = await app.inject({ url: '/api/me/profile', headers: bearer(await issuer.mint({ scopes: ['Todo.Read'] })) })
    assert.deepEqual([res.statusCode, res.json<{ code: string }>().code], [403, 'ENTRA_CONSENT_REQUIRED'])
  })

  test('refuses an application token with 403 ENTRA_USER_REQUIRED', async () => {
    const res = await app.inject({ url: '/api/me/profile', headers: bearer(await issuer.mint({ appOnly: true, roles: ['Todo.Read.All'] })) })
    assert.deepEqual([res.statusCode, res.json<{ code: string }>().code], [403, 'ENTRA_USER_REQUIRED'])
  })

  test('never logs the client secret or the tokens', async () => {
    const token = await issuer.mint({ scopes: ['Todo.Read'] })
    await app.inject({ url: '/api/me/profile', headers: bearer(token) })
    const text = logs.join('')
    assert.ok(text.includes('AZURE_CLIENT_SECRET'), 'start-up names the variable')
    assert.ok(!text.includes(SECRET), 'the secret is not logged')
    assert.ok(!text.includes(token.split('.')[2] as string), 'the incoming token is not logged')
  })

  test('answers 501 DOWNSTREAM_NOT_CONFIGURED without a credential', async () => {
    const bare = await start({})
    try {
      const res = await bare.inject({ url: '/api/me/profile', headers: bearer(await issuer.mint({ scopes: ['Todo.Read'] })) })
      assert.deepEqual([res.statusCode, res.json<{ code: string }>().code], [501, 'DOWNSTREAM_NOT_CONFIGURED'])
    } finally {
      await bare.close()
    }
  })

  test('authenticates with a federated token file (AZURE_FEDERATED_TOKEN_FILE)', async () => {
    const file = join(dir.path, 'azure-identity-token')
    writeFileSync(file, 'workload-identity-token\n')
    // A token endpoint that accepts this federated assertion (and no secret).
    const endpointTls = selfSignedCertificate()
    const endpoint = await startTestTokenEndpoint(issuer, { tls: endpointTls, federatedAssertion: () => 'workload-identity-token' })
    const endpointAgent = new Agent({ ca: endpointTls.cert })
    const fed = await buildApp({
      env: envFor(issuer, dir.path, { GRAPH_BASE_URL: graph.url, AZURE_FEDERATED_TOKEN_FILE: file }),
      store,
      downstream: { authorityHost: endpoint.url, agent: endpointAgent }
    })
    try {
      const res = await fed.inject({ url: '/api/me/profile', headers: bearer(await issuer.mint({ scopes: ['Todo.Read'] })) })
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(endpoint.requests[0]?.form.client_assertion, 'workload-identity-token')
    } finally {
      await fed.close()
      endpointAgent.destroy()
      await endpoint.close()
    }
  })

  test('refuses two credentials at once, and a credential in development mode', async () => {
    await assert.rejects(start({ AZURE_CLIENT_SECRET: SECRET, AZURE_FEDERATED_TOKEN_FILE: '/nonexistent' }),
      (error: Error) => /AZURE_CLIENT_SECRET and AZURE_FEDERATED_TOKEN_FILE are each a credential/.test(error.message) && !error.message.includes(SECRET))
    await assert.rejects(buildApp({ env: { NODE_ENV: 'test', DATA_DIR: dir.path, LOG_LEVEL: 'silent', AZURE_CLIENT_SECRET: SECRET, DEV_ISSUER_PORT: '0' }, store }),
      (error: Error) => /AZURE_CLIENT_SECRET needs AZURE_TENANT_ID/.test(error.message) && !error.message.includes(SECRET))
  })
})
