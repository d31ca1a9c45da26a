import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { EntraConfigError } from '../../src/index.js'
import { EntraTokenVerifier } from '../../src/core/index.js'
import type { TenantPolicy } from '../../src/core/index.js'
import { startTestIssuer } from '../../src/testing/index.js'
import type { TestIssuer } from '../../src/testing/index.js'
import { bearer, buildApp, outcome } from '../helpers.js'

const REFUSED = 'Bearer realm="api", error="invalid_token", error_description="The token\'s tenant is not allowed to call this API: sign in with an account of an allowed tenant, or ask the API\'s owner to onboard this tenant"'

describe('allowedTenants as a function', () => {
  let issuer: TestIssuer
  before(async () => { issuer = await startTestIssuer() })
  after(async () => { await issuer.close() })

  /** An app whose tenant policy is `decide`, and the tenants it was asked about, in order. */
  async function appWith(decide: TenantPolicy, extra: Record<string, unknown> = {}): Promise<{ app: FastifyInstance, asked: string[] }> {
    const asked: string[] = []
    const app = await buildApp(issuer, {
      tenantId: 'organizations',
      allowedTenants: (tenantId) => { asked.push(tenantId); return decide(tenantId) },
      ...extra
    })
    await app.ready()
    return { app, asked }
  }
  // A new token each time: a token seen before comes from the token cache, which asks nothing.
  const callAs = async (app: FastifyInstance, tenantId: string) =>
    outcome(await app.inject({ url: '/me', headers: bearer(await issuer.mint({ tenantId, scopes: ['Todo.Read'] })) }))

  it('admits the tenants a synchronous function allows, refuses the others with the usual 401', async () => {
    const [allowed, other] = [randomUUID(), randomUUID()]
    const { app, asked } = await appWith((tenantId) => tenantId === allowed)
    try {
      assert.equal((await callAs(app, allowed)).status, 200)
      assert.deepEqual(await callAs(app, other), { status: 401, code: 'ENTRA_TOKEN_TENANT_NOT_ALLOWED', challenge: REFUSED })
      assert.deepEqual(asked, [allowed, other])
    } finally {
      await app.close()
    }
  })

  it('caches the answers of an async function, allowed and refused alike', async () => {
    const [allowed, other] = [randomUUID(), randomUUID()]
    const { app, asked } = await appWith(async (tenantId) => { await Promise.resolve(); return tenantId === allowed })
    try {
      for (let i = 0; i < 3; i++) {
        assert.equal((await callAs(app, allowed)).status, 200)
        assert.equal((await callAs(app, other)).code, 'ENTRA_TOKEN_TENANT_NOT_ALLOWED')
      }
      assert.deepEqual(asked, [allowed, other])
    } finally {
      await app.close()
    }
  })

  it('asks once for concurrent tokens of one tenant', async () => {
    const asked: string[] = []
    let answer: (allowed: boolean) => void = () => undefined
    const verifier = EntraTokenVerifier.create({
      tenantId: 'organizations',
      clientId: issuer.clientId,
      authorityHost: issuer.url,
      allowedTenants: (tenantId) => { asked.push(tenantId); return new Promise<boolean>((resolve) => { answer = resolve }) }
    })
    try {
      await verifier.hydrate()
      const tenantId = randomUUID()
      const tokens = await Promise.all(Array.from({ length: 5 }, () => issuer.mint({ tenantId, scopes: ['Todo.Read'] })))
      const pending = tokens.map((token) => verifier.verify(token))
      // Every verification is waiting on the one lookup before it is answered.
      await Promise.resolve()
      answer(true)
      const identities = await Promise.all(pending)
      assert.deepEqual(identities.map((i) => i.tenantId), tokens.map(() => tenantId))
      assert.deepEqual(asked, [tenantId])
    } finally {
      verifier.close()
    }
  })

  it('asks again once an answer is older than allowedTenantsCache.maxAge', async () => {
    let now = Date.now()
    const tenantId = randomUUID()
    const { app, asked } = await appWith(() => true, { clock: () => now, allowedTenantsCache: { maxAge: 60_000 } })
    try {
      assert.equal((await callAs(app, tenantId)).status, 200)
      now += 59_000
      assert.equal((await callAs(app, tenantId)).status, 200)
      assert.equal(asked.length, 1)
      now += 1_000
      assert.equal((await callAs(app, tenantId)).status, 200)
      assert.equal(asked.length, 2)
    } finally {
      await app.close()
    }
  })

  it('answers 503 with Retry-After when the lookup fails, caches nothing, and asks again next time', async () => {
    const tenantId = randomUUID()
    const failures: (() => boolean | Promise<boolean>)[] = [
      () => { throw new Error('database down') },
      () => Promise.reject(new Error('timeout')),
      () => 'yes' as unknown as boolean
    ]
    let calls = 0
    const { app, asked } = await appWith(() => (failures[calls++] ?? (() => true))())
    try {
      for (let i = 0; i < failures.length; i++) {
        const response = await app.inject({ url: '/me', headers: bearer(await issuer.mint({ tenantId, scopes: ['Todo.Read'] })) })
        assert.equal(response.statusCode, 503)
        assert.equal(response.json<{ code: string }>().code, 'ENTRA_TENANT_LOOKUP_FAILED')
        assert.equal(response.headers['retry-after'], '5')
        assert.equal(response.headers['www-authenticate'], undefined)
      }
      assert.equal((await callAs(app, tenantId)).status, 200)
      assert.equal(asked.length, 4)
    } finally {
      await app.close()
    }
  })

  it('asks only about tokens that verified', async () => {
    const { app, asked } = await appWith(() => true)
    try {
      const tenantId = randomUUID()
      const token = await issuer.mint({ tenantId, scopes: ['Todo.Read'] })
      const forged = `${token.slice(0, token.lastIndexOf('.'))}.${'A'.repeat(342)}`
      assert.equal(outcome(await app.inject({ url: '/me', headers: bearer(forged) })).code, 'ENTRA_TOKEN_INVALID_SIGNATURE')
      const expired = await issuer.mint({ tenantId, scopes: ['Todo.Read'], expiresIn: -3600 })
      assert.equal(outcome(await app.inject({ url: '/me', headers: bearer(expired) })).code, 'ENTRA_TOKEN_EXPIRED')
      const otherApi = await issuer.mint({ tenantId, scopes: ['Todo.Read'], audience: randomUUID() })
      assert.equal(outcome(await app.inject({ url: '/me', headers: bearer(otherApi) })).code, 'ENTRA_TOKEN_INVALID_AUDIENCE')
      assert.deepEqual(asked, [])
    } finally {
      await app.close()
    }
  })

  it('keeps at most maxEntries refused tenants, and a flood of them never pushes out an allowed one', async () => {
    const customer = randomUUID()
    const { app, asked } = await appWith((tenantId) => tenantId === customer, { allowedTenantsCache: { maxEntries: 2 } })
    try {
      assert.equal((await callAs(app, customer)).status, 200)
      const strangers = Array.from({ length: 10 }, () => randomUUID())
      for (const stranger of strangers) assert.equal((await callAs(app, stranger)).code, 'ENTRA_TOKEN_TENANT_NOT_ALLOWED')
      assert.equal((await callAs(app, customer)).status, 200)
      assert.deepEqual(asked.filter((t) => t === customer), [customer])
      // The two most recent strangers are remembered; the first one was let go, and is asked about again.
      assert.equal((await callAs(app, strangers[9] as string)).code, 'ENTRA_TOKEN_TENANT_NOT_ALLOWED')
      assert.equal((await callAs(app, strangers[0] as string)).code, 'ENTRA_TOKEN_TENANT_NOT_ALLOWED')
      assert.deepEqual(asked.slice(11), [strangers[0]])
    } finally {
      await app.close()
    }
  })

  it('validates its cache options, and allows them only with a function', () => {
    const base = { tenantId: 'organizations', clientId: randomUUID() }
    const refused = (options: Record<string, unknown>, option: string): void => {
      assert.throws(() => EntraTokenVerifier.create({ ...base, ...options }), (error: unknown) => error instanceof EntraConfigError && error.option === option)
    }
    refused({ allowedTenants: '*', allowedTenantsCache: { maxEntries: 10 } }, 'allowedTenantsCache')
    refused({ allowedTenants: () => true, allowedTenantsCache: { maxEntries: 0 } }, 'allowedTenantsCache.maxEntries')
    refused({ allowedTenants: () => true, allowedTenantsCache: { maxAge: -1 } }, 'allowedTenantsCache.maxAge')
    refused({ tenantId: randomUUID(), allowedTenants: () => true }, 'allowedTenants')
  })
})
