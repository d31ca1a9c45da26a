/**
 * The plugin's metrics stay a handful of series whatever the traffic: 10,000 users across 1,000 tenants of a
 * multi-tenant API make no more series than one user does, and the opt-in tenant attribute names at most 1,000
 * tenants. Mints 11,000 tokens with real keys: 20-40 s.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { metrics } from '@opentelemetry/api'
import { MeterProvider } from '@opentelemetry/sdk-metrics'
import type { FastifyInstance } from 'fastify'
import type { EntraIdPluginOptions } from '../../src/index.js'
import { startTestIssuer } from '../../src/testing/index.js'
import type { TestIssuer } from '../../src/testing/index.js'
import { bearer, buildApp } from '../helpers.js'
import { TestMetricReader } from '../telemetry-reader.js'
import type { Point } from '../telemetry-reader.js'

const USERS = 10_000
const TENANTS = 1_000

describe('metric cardinality under many users and tenants', () => {
  let issuer: TestIssuer
  let reader: TestMetricReader
  let provider: MeterProvider
  const tokens: string[] = []
  const tenants = Array.from({ length: TENANTS }, () => randomUUID())

  before(async () => {
    issuer = await startTestIssuer()
    reader = new TestMetricReader()
    provider = new MeterProvider({ readers: [reader] })
    metrics.setGlobalMeterProvider(provider)
    for (let i = 0; i < USERS; i++) {
      tokens.push(await issuer.mint({ tenantId: tenants[i % TENANTS] as string, objectId: randomUUID(), scopes: ['Todo.Read'], appOnly: i % 10 === 0, roles: ['Todo.Read.All'] }))
    }
  })
  after(async () => {
    metrics.disable()
    await provider.shutdown()
    await issuer.close()
  })

  async function serve(options: Partial<EntraIdPluginOptions>, each: (app: FastifyInstance) => Promise<void>): Promise<Point[]> {
    const app = await buildApp(issuer, { tenantId: 'organizations', allowedTenants: '*', ...options })
    try {
      await app.ready()
      await each(app)
      return (await reader.points()).filter((point) => point.name.startsWith('entra_id.'))
    } finally {
      await app.close()
    }
  }

  it('makes a fixed number of series from 10,000 users in 1,000 tenants', async () => {
    const points = await serve({}, async (app) => {
      for (const token of tokens) assert.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200)
      await app.inject({ url: '/me', headers: bearer(`${tokens[0] ?? ''}x`) })
    })
    const verifications = points.filter((point) => point.name === 'entra_id.verifications')
    assert.equal(verifications.reduce((total, point) => total + point.count, 0), USERS + 1)
    // Accepted users and applications (v2, not from the cache: every token is new), one refusal; a duration
    // series each; one refusal counter; the fetches at start-up (discovery and keys, v1 and v2 on one host).
    const series = new Set(points.map((point) => point.key))
    assert.ok(series.size <= 10, `${series.size} series: ${[...series].join('\n')}`)
    assert.ok(!JSON.stringify(points.map((point) => point.attributes)).includes(tenants[0] ?? '-'))
  })

  it('names at most 1,000 tenants when the application opts in, counting later ones as other', async () => {
    const later = await issuer.mint({ tenantId: randomUUID(), scopes: ['Todo.Read'] })
    const points = await serve({ telemetry: { tenantAttribute: true } }, async (app) => {
      for (const token of tokens.slice(0, TENANTS)) await app.inject({ url: '/me', headers: bearer(token) })
      await app.inject({ url: '/me', headers: bearer(later) })
    })
    const named = new Set(points.map((point) => point.attributes['entra_id.tenant.id']).filter((tenant) => tenant !== undefined))
    assert.equal(named.size, TENANTS + 1)
    assert.ok(named.has('other'))
    // Each verification timed with its tenant too, none lost (without the attribute, durations are batched).
    const timed = points.filter((point) => point.name === 'entra_id.verification.duration' && point.attributes['entra_id.tenant.id'] !== undefined)
    assert.equal(timed.reduce((total, point) => total + point.count, 0), TENANTS + 1)
  })
})
