import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { envFor, startHarness, tempDir } from '../helpers/app.js'
import type { Harness } from '../helpers/app.js'
import { validate } from '@readme/openapi-parser'
import { buildApp } from '../../src/app.js'

interface Operation { security?: Record<string, string[]>[], description?: string, responses: Record<string, { description: string }> }
interface OpenApi {
  openapi: string
  components: { securitySchemes: Record<string, { type: string, flows?: Record<string, { authorizationUrl?: string, tokenUrl: string, scopes: Record<string, string> }> }> }
  paths: Record<string, Record<string, Operation>>
}

describe('OpenAPI and Swagger UI', () => {
  let h: Harness
  let doc: OpenApi
  before(async () => {
    h = await startHarness('sqlite')
    doc = (await h.app.inject({ url: '/docs/json' })).json()
  })
  after(async () => { await h.close() })

  /** Validates against the OpenAPI schema of the document's version, showing the errors if any. */
  async function assertValid(document: OpenApi): Promise<void> {
    const result = await validate(structuredClone(document) as never)
    assert.deepEqual({ valid: result.valid, errors: result.valid ? [] : result.errors }, { valid: true, errors: [] })
  }

  test('is an OpenAPI 3.1 document that validates', async () => {
    assert.equal(doc.openapi, '3.1.0')
    await assertValid(doc)
  })

  test('declares the tenant\'s sign-in (authorization code) and a pasted bearer token, and no client-credentials flow', () => {
    const api = `api://${h.issuer.clientId}`
    const authority = `${h.issuer.url}/${h.issuer.tenantId}/oauth2/v2.0`
    const schemes = doc.components.securitySchemes
    assert.deepEqual(schemes.entraUser?.flows?.authorizationCode, {
      authorizationUrl: `${authority}/authorize`,
      tokenUrl: `${authority}/token`,
      scopes: { [`${api}/Todo.Read`]: 'Read your todos', [`${api}/Todo.Write`]: 'Create, change and delete your todos' }
    })
    assert.equal(schemes.bearerToken?.type, 'http')
    // A browser cannot redeem client credentials at Entra, and the flow would ask for a secret in a web page.
    assert.deepEqual(Object.keys(schemes).sort(), ['bearerToken', 'entraUser'])
    assert.doesNotMatch(JSON.stringify(doc), /clientCredentials/)
  })

  test('each route\'s security follows its guard', () => {
    const api = `api://${h.issuer.clientId}`
    // Applications paste their client-credentials token under bearerToken.
    const read = [{ entraUser: [`${api}/Todo.Read`] }, { bearerToken: [] }]
    const write = [{ entraUser: [`${api}/Todo.Write`] }, { bearerToken: [] }]
    assert.deepEqual(doc.paths['/api/todos']?.get?.security, read)
    assert.deepEqual(doc.paths['/api/todos']?.post?.security, write)
    assert.deepEqual(doc.paths['/api/todos/{id}']?.get?.security, read)
    assert.deepEqual(doc.paths['/api/todos/{id}']?.patch?.security, write)
    assert.deepEqual(doc.paths['/api/todos/{id}']?.delete?.security, write)
    assert.deepEqual(doc.paths['/api/me']?.get?.security, [{ entraUser: [] }, { bearerToken: [] }])
    assert.equal(doc.paths['/health/ready']?.get?.security, undefined)
    assert.equal(doc.paths['/health/live']?.get?.security, undefined)
  })

  test('says who passes and documents the refusals of protected routes, from their guards', () => {
    const list = doc.paths['/api/todos']?.get
    assert.match(list?.description ?? '', /^Users get their own todos/)
    assert.match(list?.description ?? '', /\*\*Access:\*\* Users need the delegated scope `Todo\.Read`\. Applications calling as themselves need the app role `Todo\.Read\.All`\./)
    assert.deepEqual(Object.keys(list?.responses ?? {}).sort(), ['200', '400', '401', '403', '503'])
    // The route's own 400 (input validation) is kept.
    assert.match(list?.responses['400']?.description ?? '', /names the field at fault/)
    const me = doc.paths['/api/me']?.get
    assert.match(me?.description ?? '', /Any valid access token for this API\./)
    // A verified token always passes authenticate: no 403 to document.
    assert.deepEqual(Object.keys(me?.responses ?? {}).sort(), ['200', '400', '401', '503'])
    assert.equal(doc.paths['/health/ready']?.get?.responses['401'], undefined)
  })

  test('serves Swagger UI at /docs with PKCE', async () => {
    const page = await h.app.inject({ url: '/docs/' })
    assert.equal(page.statusCode, 200)
    assert.match(String(page.headers['content-type']), /text\/html/)
    const init = await h.app.inject({ url: '/docs/static/swagger-initializer.js' })
    assert.equal(init.statusCode, 200)
    assert.match(init.body, /usePkceWithAuthorizationCodeGrant/)
  })

  test('signs users in at the authority the plugin resolved: a final / in AZURE_AUTHORITY_HOST is not doubled', async () => {
    const dir = tempDir()
    const app = await buildApp({ env: envFor(h.issuer, dir.path, { AZURE_AUTHORITY_HOST: `${h.issuer.url}/` }) })
    try {
      const flow = (await app.inject({ url: '/docs/json' })).json<OpenApi>().components.securitySchemes.entraUser?.flows?.authorizationCode
      assert.equal(app.authSettings.authorityHost, h.issuer.url)
      assert.equal(flow?.authorizationUrl, `${h.issuer.url}/${h.issuer.tenantId}/oauth2/v2.0/authorize`)
    } finally {
      await app.close()
      dir.remove()
    }
  })

  test('in development mode, offers only the pasted bearer token', async () => {
    const dir = tempDir()
    const app = await buildApp({ env: { DATA_DIR: dir.path, DEV_ISSUER_PORT: '0', LOG_LEVEL: 'silent' } })
    try {
      const dev = (await app.inject({ url: '/docs/json' })).json<OpenApi>()
      assert.deepEqual(Object.keys(dev.components.securitySchemes), ['bearerToken'])
      assert.deepEqual(dev.paths['/api/todos']?.get?.security, [{ bearerToken: [] }])
      await assertValid(dev)
    } finally {
      await app.close()
      dir.remove()
    }
  })
})
