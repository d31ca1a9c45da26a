import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { EntraConfigError, fastifyEntraId, requireScopes } from '../../src/index.js'
import { startTestIssuer } from '../../src/testing/index.js'
import type { TestIssuer } from '../../src/testing/index.js'
import { Signal, bearer, outcome, withIssuer } from '../helpers.js'

/**
 * The way to protect route groups with different configurations in one app: one encapsulated plugin per group,
 * each registering fastify-entra-id itself. fastify-plugin lets the registration decorate the group it is in,
 * not the root, so each group has its own `entraId` (verifier, keys, realm, readiness) and guards use their own.
 */
async function group(app: FastifyInstance, prefix: string, issuer: TestIssuer, realm: string, onLoad: () => void): Promise<void> {
  await app.register(async (scope) => {
    await scope.register(fastifyEntraId, {
      tenantId: issuer.tenantId,
      clientId: issuer.clientId,
      authorityHost: issuer.url,
      realm,
      cooldownDuration: 1,
      onLoad
    })
    scope.get('/me', { onRequest: scope.entraId.authenticate, preHandler: requireScopes('Todo.Read') }, (request) => ({ tenantId: request.auth?.tenantId }))
    scope.get('/ready', (_request, reply) => reply.code(scope.entraId.isReady() ? 200 : 503).send({ ready: scope.entraId.isReady() }))
  }, { prefix })
}

describe('several registrations in one app', () => {
  let staff: TestIssuer
  let customers: TestIssuer
  let app: FastifyInstance
  const loaded = new Signal()
  const loads = { staff: 0, customers: 0 }

  before(async () => {
    staff = await startTestIssuer()
    // An External ID tenant: its issuer's host is its tenant ID.
    customers = await startTestIssuer({ issuerBaseUrl: 'https://{tenantid}.ciamlogin.com' })
    customers.setBehaviour('down')
    app = Fastify()
    await group(app, '/staff', staff, 'staff', () => { loads.staff++; loaded.notify() })
    await group(app, '/customers', customers, 'customers', () => { loads.customers++; loaded.notify() })
    await app.ready()
  })
  after(async () => {
    await app.close()
    await staff.close()
    await customers.close()
  })

  const call = async (url: string, token: string) => outcome(await app.inject({ url, headers: bearer(token) }))

  it('decorates each group, not the root', () => {
    assert.equal(app.hasDecorator('entraId'), false)
  })

  it('keeps readiness and outages apart: one group answers while the other\'s identity provider is down', async () => {
    assert.equal((await app.inject({ url: '/staff/ready' })).statusCode, 200)
    assert.equal((await app.inject({ url: '/customers/ready' })).statusCode, 503)
    assert.equal((await call('/staff/me', await staff.mint({ scopes: ['Todo.Read'] }))).status, 200)
    const waiting = await app.inject({ url: '/customers/me', headers: bearer(await customers.mint({ scopes: ['Todo.Read'] })) })
    assert.equal(waiting.statusCode, 503)
    assert.equal(waiting.json<{ code: string }>().code, 'ENTRA_KEYS_UNAVAILABLE')

    customers.setBehaviour('normal')
    await loaded.until(() => loads.customers === 1)
    assert.equal((await app.inject({ url: '/customers/ready' })).statusCode, 200)
    assert.equal(loads.staff, 1)
    assert.equal((await call('/customers/me', await customers.mint({ scopes: ['Todo.Read'] }))).status, 200)
  })

  it('refuses a token of one registration in the other, each with its own challenge', async () => {
    const staffToken = await staff.mint({ scopes: ['Todo.Read'] })
    const customerToken = await customers.mint({ scopes: ['Todo.Read'] })
    const crossed = [await call('/customers/me', staffToken), await call('/staff/me', customerToken)]
    assert.deepEqual(crossed.map((o) => o.status), [401, 401])
    assert.deepEqual(crossed.map((o) => o.code), ['ENTRA_TOKEN_UNKNOWN_KEY', 'ENTRA_TOKEN_UNKNOWN_KEY'])
    assert.match(String(crossed[0]?.challenge), /^Bearer realm="customers", error="invalid_token"/)
    assert.match(String(crossed[1]?.challenge), /^Bearer realm="staff", error="invalid_token"/)
    // The guards of each group answer in its realm.
    const noScope = await call('/staff/me', await staff.mint({ scopes: ['Other'] }))
    assert.deepEqual([noScope.status, String(noScope.challenge).startsWith('Bearer realm="staff", error="insufficient_scope"')], [403, true])
  })
})

describe('a second registration in the same context or under one', () => {
  it('fails to register, saying to give each registration a group of its own', async () => {
    await withIssuer(async (issuer) => {
      const options = { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url }
      for (const nested of [false, true]) {
        const app = Fastify()
        // Not awaited: `ready()` loads the plugins and rejects with the registration's error.
        void app.register(fastifyEntraId, options)
        if (nested) void app.register(async (scope) => { await scope.register(fastifyEntraId, options) })
        else void app.register(fastifyEntraId, options)
        await assert.rejects(async () => { await app.ready() }, (error: unknown) => error instanceof EntraConfigError && error.option === 'fastifyEntraId')
        await app.close()
      }
    })
  })
})
