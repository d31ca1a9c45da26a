import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { hasSubscribers, tracingChannel } from 'node:diagnostics_channel'
import { context, metrics, trace } from '@opentelemetry/api'
import { MeterProvider } from '@opentelemetry/sdk-metrics'
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-node'
import { FastifyOtelInstrumentation } from '@fastify/otel'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { fastifyEntraId, requireScopes } from '../../src/index.js'
import type { EntraIdPluginOptions } from '../../src/index.js'
import { CHANNELS } from '../../src/core/index.js'
import { observeVerifications } from '../../src/core/verification/tracing.js'
import { startTestIssuer } from '../../src/testing/index.js'
import type { TestIssuer } from '../../src/testing/index.js'
import { bearer } from '../helpers.js'
import { TestMetricReader } from '../telemetry-reader.js'
import type { Point } from '../telemetry-reader.js'

// The plugin's OpenTelemetry, through the SDK an application registers: real providers, a metric reader and a
// span exporter in memory, tokens from the loopback issuer. Providers are registered for this file only.

/** An app with `/me` (authenticated) and `/write` (Todo.Write), @fastify/otel tracing its requests. */
async function tracedApp(issuer: TestIssuer, tracerProvider: NodeTracerProvider, options: Partial<EntraIdPluginOptions> = {},
  { otel: order = 'before the plugin' }: { otel?: 'before the plugin' | 'after the plugin' } = {}): Promise<FastifyInstance> {
  const app = Fastify()
  const otel = new FastifyOtelInstrumentation()
  otel.setTracerProvider(tracerProvider)
  if (order === 'before the plugin') await app.register(otel.plugin())
  await app.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url, ...options })
  if (order === 'after the plugin') await app.register(otel.plugin())
  app.get('/me', { onRequest: app.entraId.authenticate }, () => ({ ok: true }))
  app.post('/write', { onRequest: requireScopes('Todo.Write') }, () => ({ ok: true }))
  await app.ready()
  return app
}

describe('telemetry without OpenTelemetry providers', () => {
  it('subscribes to nothing, so a verification builds no message', async () => {
    const issuer = await startTestIssuer()
    const app = Fastify()
    try {
      await app.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url })
      app.get('/me', { onRequest: app.entraId.authenticate }, () => ({ ok: true }))
      await app.ready()
      assert.equal((await app.inject({ url: '/me', headers: bearer(await issuer.mint({ scopes: ['Todo.Read'] })) })).statusCode, 200)
      assert.equal(tracingChannel(CHANNELS.verify).hasSubscribers, false)
      for (const name of [CHANNELS.refusal, CHANNELS.keySet, CHANNELS.discovery, CHANNELS.tokenCache, CHANNELS.downstream]) {
        assert.equal(hasSubscribers(name), false, name)
      }
    } finally {
      await app.close()
      await issuer.close()
    }
  })
})

describe('a telemetry observer that fails', () => {
  it('changes no verification\'s outcome, and is reported once as a process warning', async () => {
    const issuer = await startTestIssuer()
    const app = Fastify()
    const warnings: Error[] = []
    const onWarning = (warning: Error): void => { warnings.push(warning) }
    process.on('warning', onWarning)
    const stop = observeVerifications({
      hit: () => { throw new Error('hit failed') },
      ended: () => { throw new Error('ended failed') }
    })
    try {
      await app.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url })
      app.get('/me', { onRequest: app.entraId.authenticate }, () => ({ ok: true }))
      await app.ready()
      const user = await issuer.mint({ scopes: ['Todo.Read'] })
      // A miss, a miss that enters the cache, then hits: each outcome as without the observer.
      for (let i = 0; i < 4; i++) assert.equal((await app.inject({ url: '/me', headers: bearer(user) })).statusCode, 200)
      assert.equal(app.entraId.verifier.tokenCacheStats.hits, 2)
      assert.equal((await app.inject({ url: '/me', headers: bearer(await issuer.mint({ expiresIn: -600 })) })).json<{ code: string }>().code, 'ENTRA_TOKEN_EXPIRED')
      await new Promise((resolve) => setImmediate(resolve))
      const ours = warnings.filter((warning) => (warning as Error & { code?: string }).code === 'FASTIFY_ENTRA_ID_TELEMETRY')
      assert.equal(ours.length, 1)
      assert.match(ours[0]?.message ?? '', /telemetry observer failed/)
    } finally {
      stop()
      process.off('warning', onWarning)
      await app.close()
      await issuer.close()
    }
  })
})

describe('telemetry with OpenTelemetry providers registered', () => {
  let issuer: TestIssuer
  let reader: TestMetricReader
  let meterProvider: MeterProvider
  let spans: InMemorySpanExporter
  let tracerProvider: NodeTracerProvider

  before(async () => {
    issuer = await startTestIssuer()
    reader = new TestMetricReader()
    meterProvider = new MeterProvider({ readers: [reader] })
    metrics.setGlobalMeterProvider(meterProvider)
    spans = new InMemorySpanExporter()
    tracerProvider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] })
    tracerProvider.register()
  })
  after(async () => {
    metrics.disable()
    trace.disable()
    context.disable()
    await meterProvider.shutdown()
    await tracerProvider.shutdown()
    await issuer.close()
  })

  /** The `request` spans @fastify/otel ended since the last call, oldest first. */
  function requestSpans(): ReadableSpan[] {
    const ended = spans.getFinishedSpans().filter((span) => span.name === 'request')
    spans.reset()
    return ended
  }

  it('counts verifications and refusals by outcome, token version and caller type, and times the fetches', async () => {
    const app = await tracedApp(issuer, tracerProvider)
    const before = await reader.points()
    try {
      const user = await issuer.mint({ scopes: ['Todo.Read'] })
      for (let i = 0; i < 3; i++) assert.equal((await app.inject({ url: '/me', headers: bearer(user) })).statusCode, 200)
      const appOnly = await issuer.mint({ version: 1, appOnly: true, roles: ['Todo.Read.All'] })
      assert.equal((await app.inject({ url: '/me', headers: bearer(appOnly) })).statusCode, 200)
      const expired = await issuer.mint({ expiresIn: -600 })
      assert.equal((await app.inject({ url: '/me', headers: bearer(expired) })).statusCode, 401)
      assert.equal((await app.inject({ method: 'POST', url: '/write', headers: bearer(user) })).statusCode, 403)
      assert.equal((await app.inject({ url: '/me' })).statusCode, 401)

      const points = delta(before, await reader.points())
      // The user's token: verified twice (the token cache keeps a token seen twice), then answered by the cache
      // (the third /me and the /write, whose guard authenticates first).
      assert.deepEqual(sum(points, 'entra_id.verifications'), {
        'accepted 2 user hit=false': 2,
        'accepted 2 user hit=true': 2,
        'accepted 1 app hit=false': 1,
        'ENTRA_TOKEN_EXPIRED hit=false': 1
      })
      assert.deepEqual(sum(points, 'entra_id.refusals'), {
        'ENTRA_TOKEN_EXPIRED 401': 1,
        'ENTRA_INSUFFICIENT_SCOPE 403': 1,
        'ENTRA_TOKEN_MISSING 401': 1
      })
      // Timed: the four verifications that checked a signature.
      assert.deepEqual(sum(points, 'entra_id.verification.duration'), {
        'accepted 2 user': 2,
        'accepted 1 app': 1,
        'ENTRA_TOKEN_EXPIRED': 1
      })
      assert.ok(points.filter((point) => point.name === 'entra_id.verification.duration').every((point) => point.unit === 's'))
    } finally {
      await app.close()
    }
  })

  it('times every new token and every refusal: by the next collection, across a full batch, and when the app closes', async () => {
    // Durations reach the histogram in batches (durations.ts says why): none may be lost or counted twice, below a
    // batch, across one (512), or still waiting when the app closes; refusals are counted as they come.
    const app = await tracedApp(issuer, tracerProvider)
    let open = true
    try {
      const verifyNew = async (count: number): Promise<void> => {
        for (let i = 0; i < count; i++) assert.equal((await app.inject({ url: '/me', headers: bearer(await issuer.mint({ scopes: ['Todo.Read'] })) })).statusCode, 200)
      }
      let from = await reader.points()
      await verifyNew(3)
      assert.deepEqual(sum(delta(from, await reader.points()), 'entra_id.verification.duration'), { 'accepted 2 user': 3 })

      from = await reader.points()
      await verifyNew(700)
      const forged = forgeSignature(await issuer.mint({ scopes: ['Todo.Read'] }))
      for (let i = 0; i < 600; i++) assert.equal((await app.inject({ url: '/me', headers: bearer(forged) })).statusCode, 401)
      const points = delta(from, await reader.points())
      assert.deepEqual(sum(points, 'entra_id.verification.duration'), { 'accepted 2 user': 700, ENTRA_TOKEN_INVALID_SIGNATURE: 600 })
      assert.deepEqual(sum(points, 'entra_id.refusals'), { 'ENTRA_TOKEN_INVALID_SIGNATURE 401': 600 })

      from = await reader.points()
      await verifyNew(2)
      assert.equal((await app.inject({ url: '/me', headers: bearer(forged) })).statusCode, 401)
      await app.close()
      open = false
      assert.deepEqual(sum(delta(from, await reader.points()), 'entra_id.verification.duration'), { 'accepted 2 user': 2, ENTRA_TOKEN_INVALID_SIGNATURE: 1 })
    } finally {
      if (open) await app.close()
    }
  })

  it('counts the same with or without an application subscribed to the verify channel, and asks the token cache once a request', async () => {
    // The metrics are given each verification directly; a subscriber to the channel puts every verification
    // on the traced path instead. Either way each is counted once, and a token not cached is one cache miss.
    const verifying = tracingChannel(CHANNELS.verify)
    const seen: unknown[] = []
    const onEnd = (message: unknown): void => { seen.push(message) }
    for (const subscribed of [false, true]) {
      if (subscribed) verifying.end.subscribe(onEnd)
      const app = await tracedApp(issuer, tracerProvider)
      const before = await reader.points()
      try {
        const user = await issuer.mint({ scopes: ['Todo.Read'] })
        for (let i = 0; i < 4; i++) assert.equal((await app.inject({ url: '/me', headers: bearer(user) })).statusCode, 200)
        assert.equal((await app.inject({ url: '/me', headers: bearer(await issuer.mint({ expiresIn: -600 })) })).statusCode, 401)
        assert.equal((await app.inject({ url: '/me', headers: bearer('not.a.token') })).statusCode, 401)
        assert.deepEqual(sum(delta(before, await reader.points()), 'entra_id.verifications'), {
          'accepted 2 user hit=false': 2,
          'accepted 2 user hit=true': 2,
          'ENTRA_TOKEN_EXPIRED hit=false': 1,
          'ENTRA_TOKEN_MALFORMED hit=false': 1
        }, subscribed ? 'subscribed' : 'not subscribed')
        // Misses: the user's token twice (it enters the cache when seen again), the expired one and the malformed one.
        const { hits, misses } = app.entraId.verifier.tokenCacheStats
        assert.deepEqual({ hits, misses }, { hits: 2, misses: 4 }, subscribed ? 'subscribed' : 'not subscribed')
        assert.equal(seen.length, subscribed ? 6 : 0)
      } finally {
        await app.close()
        verifying.end.unsubscribe(onEnd)
      }
    }
  })

  it('counts token-cache hits that revocation still screens, refused ones by their code', async () => {
    // With `revocation`, a cached token can still be refused: such hits take the traced path, not the counter.
    const offboarded = '3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b'
    const app = await tracedApp(issuer, tracerProvider, { revocation: { isRevoked: ({ oid }) => oid === offboarded } })
    const before = await reader.points()
    try {
      const kept = await issuer.mint({ scopes: ['Todo.Read'] })
      const gone = await issuer.mint({ scopes: ['Todo.Read'], objectId: offboarded })
      for (let i = 0; i < 4; i++) assert.equal((await app.inject({ url: '/me', headers: bearer(kept) })).statusCode, 200)
      for (let i = 0; i < 3; i++) assert.equal((await app.inject({ url: '/me', headers: bearer(gone) })).json<{ code: string }>().code, 'ENTRA_TOKEN_REVOKED')
      assert.deepEqual(sum(delta(before, await reader.points()), 'entra_id.verifications'), {
        'accepted 2 user hit=false': 2,
        'accepted 2 user hit=true': 2,
        'ENTRA_TOKEN_REVOKED hit=false': 2,
        'ENTRA_TOKEN_REVOKED hit=true': 1
      })
    } finally {
      await app.close()
    }
  })

  it('counts and marks agents by their caller type (agent, agentForUser, agentUser): still a fixed list of values', async () => {
    const app = await tracedApp(issuer, tracerProvider)
    const before = await reader.points()
    try {
      requestSpans()
      for (const options of [{ agent: 'agent', roles: ['Todo.Read.All'] }, { agent: 'agentForUser', scopes: ['Todo.Read'] }, { agent: 'agentUser', scopes: ['Todo.Read'] }] as const) {
        assert.equal((await app.inject({ url: '/me', headers: bearer(await issuer.mint(options)) })).statusCode, 200)
      }
      assert.deepEqual(sum(delta(before, await reader.points()), 'entra_id.verifications'), {
        'accepted 2 agent hit=false': 1,
        'accepted 2 agentForUser hit=false': 1,
        'accepted 2 agentUser hit=false': 1
      })
      assert.deepEqual(requestSpans().map((span) => span.attributes['entra_id.caller.type']), ['agent', 'agentForUser', 'agentUser'])
    } finally {
      await app.close()
    }
  })

  it('times the key-set and discovery fetches by outcome and host, never by tenant', async () => {
    const before = await reader.points()
    const app = await tracedApp(issuer, tracerProvider)
    await app.close()
    const points = delta(before, await reader.points())
    const host = new URL(issuer.url).hostname
    // v1 and v2 discovery documents, and their key sets.
    assert.deepEqual(sum(points, 'entra_id.discovery.fetch.duration'), { [`loaded ${host}`]: 2 })
    assert.deepEqual(sum(points, 'entra_id.key_set.fetch.duration'), { [`loaded ${host}`]: 2 })
  })

  it('names no token, key, user, tenant or issuer in any metric attribute', async () => {
    const app = await tracedApp(issuer, tracerProvider)
    try {
      const token = await issuer.mint({ scopes: ['Todo.Read'] })
      await app.inject({ url: '/me', headers: bearer(token) })
      const [header] = token.split('.')
      const { kid } = JSON.parse(Buffer.from(header ?? '', 'base64url').toString()) as { kid: string }
      const all = JSON.stringify((await reader.points()).map((point) => point.attributes))
      for (const secret of [token, kid, issuer.tenantId, issuer.clientId, issuer.issuer(2)]) assert.ok(!all.includes(secret), secret)
      assert.doesNotMatch(all, /eyJ|[0-9a-f]{8}-[0-9a-f]{4}-/)
    } finally {
      await app.close()
    }
  })

  it('marks the request span with the outcome and caller type, and names the user only when asked', async () => {
    const app = await tracedApp(issuer, tracerProvider)
    const named = await tracedApp(issuer, tracerProvider, { telemetry: { enduserId: true } })
    try {
      requestSpans()
      const objectId = '8a2c4b1e-0d6f-4e7a-9b3c-5d1e2f3a4b5c'
      const user = await issuer.mint({ scopes: ['Todo.Read'], objectId })
      await app.inject({ url: '/me', headers: bearer(user) })
      await app.inject({ method: 'POST', url: '/write', headers: bearer(user) })
      await app.inject({ url: '/me', headers: bearer(`${user}x`) })
      await named.inject({ url: '/me', headers: bearer(user) })
      const [accepted, forbidden, invalid, withUser] = requestSpans().map((span) => span.attributes)
      assert.deepEqual(pick(accepted), { 'entra_id.outcome': 'accepted', 'entra_id.caller.type': 'user', 'entra_id.token.version': '2' })
      assert.equal(forbidden?.['entra_id.outcome'], 'ENTRA_INSUFFICIENT_SCOPE')
      assert.equal(invalid?.['entra_id.outcome'], 'ENTRA_TOKEN_MALFORMED')
      assert.equal(withUser?.['enduser.id'], objectId)
      assert.equal(accepted?.['enduser.id'], undefined)
    } finally {
      await app.close()
      await named.close()
    }
  })

  // Where the plugin does not find @fastify/otel, it marks the active span instead: inside the route's onRequest
  // hook, that is @fastify/otel's span of the hook, not its `request` span, so these tests see the difference.
  /** Sends `url` an accepted and a malformed token: their @fastify/otel request spans carry the outcomes. */
  async function assertMarksRequestSpans(app: FastifyInstance, url: string): Promise<void> {
    requestSpans()
    const user = await issuer.mint({ scopes: ['Todo.Read'] })
    await app.inject({ url, headers: bearer(user) })
    await app.inject({ url, headers: bearer(`${user}x`) })
    const [accepted, invalid] = requestSpans().map((span) => span.attributes)
    assert.deepEqual(pick(accepted), { 'entra_id.outcome': 'accepted', 'entra_id.caller.type': 'user', 'entra_id.token.version': '2' })
    assert.equal(invalid?.['entra_id.outcome'], 'ENTRA_TOKEN_MALFORMED')
  }

  it('finds @fastify/otel\'s request span when @fastify/otel is registered after the plugin', async () => {
    const app = await tracedApp(issuer, tracerProvider, {}, { otel: 'after the plugin' })
    try {
      await assertMarksRequestSpans(app, '/me')
    } finally {
      await app.close()
    }
  })

  it('finds @fastify/otel\'s request span when @fastify/otel traces only a group of routes', async () => {
    // As @fastify/otel's README shows: registered in a group under a prefix, the plugin at the root.
    const app = Fastify()
    try {
      await app.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url })
      await app.register(async (traced) => {
        const otel = new FastifyOtelInstrumentation()
        otel.setTracerProvider(tracerProvider)
        await traced.register(otel.plugin())
        traced.get('/me', { onRequest: app.entraId.authenticate }, () => ({ ok: true }))
      }, { prefix: '/traced' })
      app.get('/me', { onRequest: app.entraId.authenticate }, () => ({ ok: true }))
      await app.ready()
      assert.equal((await app.inject({ url: '/me', headers: bearer(await issuer.mint({ scopes: ['Todo.Read'] })) })).statusCode, 200)
      await assertMarksRequestSpans(app, '/traced/me')
    } finally {
      await app.close()
    }
  })

  it('finds @fastify/otel\'s request span on a route added before the plugin and authenticated by a hook of the app', async () => {
    const app = Fastify()
    try {
      const otel = new FastifyOtelInstrumentation()
      otel.setTracerProvider(tracerProvider)
      await app.register(otel.plugin())
      app.get('/me', () => ({ ok: true }))
      await app.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url })
      app.addHook('onRequest', app.entraId.authenticate)
      await app.ready()
      await assertMarksRequestSpans(app, '/me')
    } finally {
      await app.close()
    }
  })

  it('marks the active span when no framework span exists (an application tracing without @fastify/otel)', async () => {
    const app = Fastify()
    try {
      await app.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url })
      app.get('/me', { onRequest: app.entraId.authenticate }, () => ({ ok: true }))
      await app.ready()
      spans.reset()
      const user = await issuer.mint({ scopes: ['Todo.Read'] })
      const tracer = tracerProvider.getTracer('test')
      for (const token of [user, `${user}x`]) {
        await tracer.startActiveSpan('handled', async (span) => {
          try {
            await app.inject({ url: '/me', headers: bearer(token) })
          } finally {
            span.end()
          }
        })
      }
      // And outside any span: nothing to mark, and the request is answered as without telemetry.
      assert.equal((await app.inject({ url: '/me', headers: bearer(user) })).statusCode, 200)
      const handled = spans.getFinishedSpans().filter((span) => span.name === 'handled').map((span) => span.attributes)
      assert.deepEqual(handled.map(pick), [
        { 'entra_id.outcome': 'accepted', 'entra_id.caller.type': 'user', 'entra_id.token.version': '2' },
        { 'entra_id.outcome': 'ENTRA_TOKEN_MALFORMED' }
      ])
    } finally {
      await app.close()
    }
  })

  it('marks an identity-provider outage as what it is: 503 ENTRA_KEYS_UNAVAILABLE on the request span and in the refusals', async () => {
    // Its own issuer, closed before the plugin starts: discovery fails on a loopback port this test opened.
    const down = await startTestIssuer()
    const token = await down.mint({ scopes: ['Todo.Read'] })
    await down.close()
    const app = await tracedApp(down, tracerProvider)
    try {
      requestSpans()
      const before = await reader.points()
      const response = await app.inject({ url: '/me', headers: bearer(token) })
      assert.equal(response.statusCode, 503)
      assert.equal(requestSpans()[0]?.attributes['entra_id.outcome'], 'ENTRA_KEYS_UNAVAILABLE')
      assert.deepEqual(sum(delta(before, await reader.points()), 'entra_id.refusals'), { 'ENTRA_KEYS_UNAVAILABLE 503': 1 })
    } finally {
      await app.close()
    }
  })

  it('records nothing for a registration with telemetry: false', async () => {
    const app = await tracedApp(issuer, tracerProvider, { telemetry: false })
    try {
      requestSpans()
      const before = await reader.points()
      await app.inject({ url: '/me', headers: bearer(await issuer.mint({ scopes: ['Todo.Read'] })) })
      assert.deepEqual(delta(before, await reader.points()).filter((point) => point.name.startsWith('entra_id.')), [])
      assert.equal(requestSpans()[0]?.attributes['entra_id.outcome'], undefined)
    } finally {
      await app.close()
    }
  })

  it('refuses a telemetry option that is not true, false or an object of flags', async () => {
    for (const telemetry of ['yes', { enduserId: 'yes' }]) {
      await assert.rejects(tracedApp(issuer, tracerProvider, { telemetry } as unknown as Partial<EntraIdPluginOptions>), { name: 'EntraConfigError' })
    }
  })
})

/** The points of `after` less those of `before` (cumulative counts), keeping the ones that grew. */
/** `token` with its signature's last characters changed: well formed, signed by nobody. */
function forgeSignature(token: string): string {
  // The last character carries padding bits, left as minted so that the signature still decodes.
  return token.slice(0, -5) + (token.slice(-5, -1) === 'AAAA' ? 'QAAA' : 'AAAA') + token.slice(-1)
}

function delta(before: readonly Point[], after: readonly Point[]): Point[] {
  const earlier = new Map(before.map((point) => [point.key, point.count]))
  return after
    .map((point) => ({ ...point, count: point.count - (earlier.get(point.key) ?? 0) }))
    .filter((point) => point.count > 0)
}

/** `name`'s counts by a short label of their attributes. */
function sum(points: readonly Point[], name: string): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const point of points) {
    if (point.name !== name) continue
    const a = point.attributes
    const label = [a['entra_id.outcome'], a['entra_id.token.version'], a['entra_id.caller.type'], a['http.response.status_code'], a['server.address'],
      a['entra_id.token_cache.hit'] === undefined ? undefined : `hit=${String(a['entra_id.token_cache.hit'])}`]
      .filter((part) => part !== undefined).join(' ')
    counts[label] = (counts[label] ?? 0) + point.count
  }
  return counts
}

function pick(attributes: Record<string, unknown> | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(attributes ?? {}).filter(([key]) => key.startsWith('entra_id.')))
}
