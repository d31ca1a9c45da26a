import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { startTestIssuer } from 'fastify-entra-id/testing'
import type { TestIssuer } from 'fastify-entra-id/testing'
import type { FastifyInstance } from 'fastify'
import type { Route } from 'playwright-core'
import { buildApp } from '../../src/app.js'
import { Callers, bearer, envFor, tempDir } from '../helpers/app.js'
import { launchChromium, skipWithoutChromium } from '../helpers/browser.js'
import type { TestBrowser } from '../helpers/browser.js'
import { SwaggerUi } from '../helpers/swagger-ui.js'

// The single-page-application registration Swagger UI signs in with (OPENAPI_CLIENT_ID), not the API's own.
const SWAGGER_CLIENT_ID = '5d9f2a7e-3c4b-4e8f-9a1d-2b6c7e8f9a0b'

// Real Swagger UI in Debian's Chromium against the app on loopback. Entra's /authorize and /token are answered
// by the browser's request interception (the test issuer serves only discovery and keys), so what is asserted is
// what Swagger UI really sends.
// Without Chromium, skipped on a developer's machine (the reason says how to get it) and failed in CI.
describe('Swagger UI in a browser', { timeout: 180_000, skip: skipWithoutChromium() }, () => {
  let dir: ReturnType<typeof tempDir> | undefined
  let issuer: TestIssuer | undefined
  let app: FastifyInstance | undefined
  let browser: TestBrowser | undefined
  let origin = ''
  let callers: Callers

  before(async () => {
    dir = tempDir()
    issuer = await startTestIssuer()
    callers = new Callers(issuer)
    app = await buildApp({ env: envFor(issuer, dir.path, { OPENAPI_CLIENT_ID: SWAGGER_CLIENT_ID }) })
    origin = await app.listen({ host: '127.0.0.1', port: 0 })
    browser = await launchChromium()
  })
  after(async () => {
    await browser?.close()
    await app?.close()
    await issuer?.close()
    dir?.remove()
  })

  /** A todo of `token`'s caller, written through the API, to recognise the caller's list in the UI. */
  async function seedTodo(token: string, title: string): Promise<void> {
    const created = await app?.inject({ method: 'POST', url: '/api/todos', headers: bearer(token), payload: { title } })
    assert.equal(created?.statusCode, 201)
  }

  test('signs in with the redirect URI /docs/oauth2-redirect.html, which exists, and calls the API with the token', async (t) => {
    assert.ok(issuer !== undefined && browser !== undefined)
    const context = browser.context
    const authority = `${issuer.url}/${issuer.tenantId}/oauth2/v2.0`
    const api = `api://${issuer.clientId}`
    const token = await callers.user(callers.alice, ['Todo.Read', 'Todo.Write'])
    await seedTodo(token, 'Signed in through Entra')
    const code = 'code-from-entra'

    let authorize: URL | undefined
    await context.route((url) => url.href.startsWith(`${authority}/authorize?`), async (route: Route) => {
      authorize = new URL(route.request().url())
      // What Entra does once the user signed in: back to the redirect URI with the code and the state.
      const back = new URL(authorize.searchParams.get('redirect_uri') ?? 'about:blank')
      back.searchParams.set('code', code)
      back.searchParams.set('state', authorize.searchParams.get('state') ?? '')
      await route.fulfill({ status: 302, headers: { location: back.href } })
    })
    const redemptions: URLSearchParams[] = []
    await context.route(`${authority}/token`, async (route: Route) => {
      const cors = { 'access-control-allow-origin': origin, 'access-control-allow-methods': 'POST', 'access-control-allow-headers': '*' }
      if (route.request().method() === 'OPTIONS') {
        await route.fulfill({ status: 204, headers: cors })
        return
      }
      redemptions.push(new URLSearchParams(route.request().postData() ?? ''))
      await route.fulfill({ status: 200, headers: cors, json: { token_type: 'Bearer', access_token: token, expires_in: 3600, scope: `${api}/Todo.Read ${api}/Todo.Write` } })
    })
    t.after(() => context.unrouteAll())

    const ui = await SwaggerUi.open(context, `${origin}/docs`)
    t.after(() => ui.close())
    await ui.openAuthorize()
    const signIn = ui.scheme('entraUser')
    await signIn.locator('button.authorize').click()
    // Authorized only once the redirect page handed the code back and Swagger UI redeemed it.
    await SwaggerUi.logoutButton(signIn).waitFor()
    assert.deepEqual(ui.errors, [])

    assert.ok(authorize !== undefined, 'the Authorize button opened Entra\'s /authorize')
    const redirectUri = `${origin}/docs/oauth2-redirect.html`
    const query = authorize.searchParams
    assert.equal(query.get('redirect_uri'), redirectUri)
    assert.equal(query.get('response_type'), 'code')
    assert.equal(query.get('client_id'), SWAGGER_CLIENT_ID)
    assert.deepEqual(query.get('scope')?.split(' ').sort(), [`${api}/Todo.Read`, `${api}/Todo.Write`])
    assert.equal(query.get('code_challenge_method'), 'S256')

    // Entra redeems the code only with the same redirect URI and the PKCE verifier of the challenge (RFC 7636 §4.6).
    assert.equal(redemptions.length, 1)
    const redemption = redemptions[0]
    assert.equal(redemption?.get('grant_type'), 'authorization_code')
    assert.equal(redemption.get('code'), code)
    assert.equal(redemption.get('redirect_uri'), redirectUri)
    assert.equal(redemption.get('client_id'), SWAGGER_CLIENT_ID)
    assert.equal(createHash('sha256').update(redemption.get('code_verifier') ?? '').digest('base64url'), query.get('code_challenge'))
    assert.equal(redemption.get('client_secret'), null)

    const page = await ui.page.evaluate(async (url) => {
      const response = await fetch(url)
      return { status: response.status, type: response.headers.get('content-type'), text: await response.text() }
    }, redirectUri)
    assert.equal(page.status, 200)
    assert.match(page.type ?? '', /^text\/html/)
    assert.match(page.text, /oauth2-redirect\.js/)

    await ui.closeAuthorize()
    const sent = ui.page.waitForRequest((request) => new URL(request.url()).pathname === '/api/todos' && request.method() === 'GET')
    const shown = await ui.execute('GET', '/api/todos')
    assert.equal(await (await sent).headerValue('authorization'), `Bearer ${token}`)
    assert.equal(shown.status, '200')
    assert.match(shown.body, /Signed in through Entra/)
  })

  test('sends a token pasted under bearerToken with "Try it out", and shows the 200', async (t) => {
    assert.ok(browser !== undefined)
    const token = await callers.user(callers.bob, ['Todo.Read'])
    await seedTodo(await callers.user(callers.bob, ['Todo.Write']), 'Pasted by hand')
    const ui = await SwaggerUi.open(browser.context, `${origin}/docs`)
    t.after(() => ui.close())
    await ui.openAuthorize()
    await ui.authorizeBearer('bearerToken', token)
    await ui.closeAuthorize()

    const sent = ui.page.waitForRequest((request) => new URL(request.url()).pathname === '/api/todos' && request.method() === 'GET')
    const shown = await ui.execute('GET', '/api/todos')
    assert.equal(await (await sent).headerValue('authorization'), `Bearer ${token}`)
    assert.equal(shown.status, '200')
    assert.match(shown.body, /Pasted by hand/)
    assert.deepEqual(ui.errors, [])
  })

  test('shows the lock on each protected operation, from the security fastify-entra-id/openapi derived, and none on the probes', async (t) => {
    assert.ok(browser !== undefined)
    const ui = await SwaggerUi.open(browser.context, `${origin}/docs`)
    t.after(() => ui.close())
    const operations: string[] = []
    for (const block of await ui.page.locator('.opblock').all()) {
      const method = (await block.locator('.opblock-summary-method').innerText()).trim()
      const path = await block.locator('.opblock-summary-path').getAttribute('data-path')
      // Swagger UI draws the lock (an "authorization" button) on the summary of an operation with `security`.
      const locked = await block.locator('.opblock-summary button.authorization__btn').count()
      operations.push(`${method} ${path ?? ''}${locked === 1 ? ' (locked)' : ''}`)
    }
    // GET /api takes a token optionally: its security lists `{}` too, and Swagger UI still draws the lock.
    assert.deepEqual(operations.sort(), [
      'DELETE /api/todos/{id} (locked)',
      'GET /api (locked)',
      'GET /api/me (locked)',
      'GET /api/me/profile (locked)',
      'GET /api/todos (locked)',
      'GET /api/todos/{id} (locked)',
      'GET /health/live',
      'GET /health/ready',
      'PATCH /api/todos/{id} (locked)',
      'POST /api/todos (locked)'
    ])
    assert.deepEqual(ui.errors, [])
  })

  test('offers no client-credentials flow, neither in /docs/json nor in the Authorize dialog', async (t) => {
    assert.ok(browser !== undefined)
    const ui = await SwaggerUi.open(browser.context, `${origin}/docs`)
    t.after(() => ui.close())
    const doc = await ui.page.evaluate(async () => (await fetch('json')).text())
    assert.doesNotMatch(doc, /clientCredentials/)
    const dialog = await ui.openAuthorize()
    assert.deepEqual(await ui.schemeNames(), ['entraUser', 'bearerToken'])
    const flows = await dialog.locator('.flow code').allInnerTexts()
    assert.deepEqual(flows, ['authorizationCode with PKCE'])
  })
})
