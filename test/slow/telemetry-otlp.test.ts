import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import { SPAN_KIND_SERVER, pointsOf, spansOf } from '../helpers/otlp-json.js'
import type { OtlpSpan } from '../helpers/otlp-json.js'
import { startOtlpReceiver } from '../helpers/telemetry-endpoints.js'
import type { Endpoint } from '../helpers/telemetry-endpoints.js'
import { nonLoopback, runTelemetryScenario, statuses } from '../helpers/telemetry-scenario.js'
import type { ScenarioResult } from '../helpers/telemetry-scenario.js'

describe('OTLP over HTTP (OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  let receiver: Endpoint
  let run: ScenarioResult

  before(async () => {
    receiver = await startOtlpReceiver()
    // Nothing else to switch off: the Node SDK as the service starts it polls nothing, runs no cloud detector,
    // samples every trace (parent-based) and exports the metrics when it shuts down.
    run = await runTelemetryScenario({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url })
  })

  after(async () => {
    // TELEMETRY_DUMP=<file>: what the receiver got, decoded, to read by eye.
    if (process.env.TELEMETRY_DUMP !== undefined) writeFileSync(process.env.TELEMETRY_DUMP, JSON.stringify({ spans: spansOf(bodies('/v1/traces')), points: pointsOf(bodies('/v1/metrics')), egress: run.egress }, null, 2))
    await receiver.close()
  })

  const bodies = (path: string): string[] => receiver.received.filter((r) => r.path === path).map((r) => r.body)
  const serverSpan = (status: number): OtlpSpan => {
    const spans = spansOf(bodies('/v1/traces')).filter((s) => s.kind === SPAN_KIND_SERVER)
    const found = spans.find((s) => s.attributes['http.response.status_code'] === status)
    assert.ok(found, `no server span with status ${status} in ${JSON.stringify(spans, null, 1)}`)
    return found
  }

  test('the service answered as expected and exited 0 after SIGTERM', () => {
    assert.deepEqual(
      statuses(run),
      { accepted: 200, expired: 401, forbidden: 403, queryToken: 400, unknownRoute: 404 }
    )
    assert.equal(run.exitCode, 0, run.stderr)
  })

  test('exports a server span for the accepted request, the 401 and the 403, with the route, and Fastify\'s spans; none for the probe', () => {
    for (const status of [200, 401, 403]) {
      const span = serverSpan(status)
      assert.equal(span.name, 'GET /api/todos')
      assert.equal(span.attributes['http.route'], '/api/todos')
    }
    const spans = spansOf(bodies('/v1/traces'))
    assert.ok(spans.some((s) => s.name === 'request'), 'no @fastify/otel request span')
    assert.ok(!spans.some((s) => String(s.attributes['url.path']).startsWith('/health/')), 'a probe was traced')
  })

  test('a token in the query string is exported redacted: url.query keeps the parameter names only', () => {
    assert.equal(serverSpan(400).attributes['url.query'], 'access_token=[REDACTED]')
    assert.equal(serverSpan(404).attributes['url.query'], 'access_token=[REDACTED]&code=[REDACTED]')
  })

  test('the metrics since the last export are exported at shutdown (the export interval is 60 s)', () => {
    const names = new Set(pointsOf(bodies('/v1/metrics')).map((p) => p.metric))
    assert.ok(names.has('http.server.request.duration'), [...names].join(', '))
  })

  test('no token, secret, Authorization value or object ID appears in any byte received', () => {
    assert.ok(receiver.received.length > 0)
    const bytes = receiver.received.map((r) => `${JSON.stringify(r.headers)}\n${r.body}`).join('\n')
    for (const token of run.tokens) {
      for (const part of token.split('.')) assert.ok(!bytes.includes(part), 'a part of a token was sent')
    }
    assert.ok(!bytes.includes('eyJ'), 'something JWT-shaped was sent')
    for (const secret of run.secrets) assert.ok(!bytes.includes(secret), 'a secret was sent')
    assert.ok(!/bearer/i.test(bytes), 'an Authorization value was sent')
    assert.ok(!bytes.includes(run.oid), 'the caller\'s object ID was sent')
  })

  // The plugin's side of issue 20 (the telemetry contract): these need the plugin's OpenTelemetry metrics and span
  // attributes, and fail until they are in.
  test('the plugin\'s metrics: entra_id.refusals by code and status for the 401 and the 403, entra_id.verification.duration by outcome, caller type and token version, with bounded attributes only', () => {
    const points = pointsOf(bodies('/v1/metrics'))
    const refusals = points.filter((p) => p.metric === 'entra_id.refusals')
    assert.ok(refusals.some((p) => p.attributes['entra_id.outcome'] === 'ENTRA_TOKEN_EXPIRED' && p.attributes['http.response.status_code'] === 401), JSON.stringify(refusals))
    assert.ok(refusals.some((p) => p.attributes['entra_id.outcome'] === 'ENTRA_INSUFFICIENT_SCOPE' && p.attributes['http.response.status_code'] === 403), JSON.stringify(refusals))
    const durations = points.filter((p) => p.metric === 'entra_id.verification.duration')
    assert.ok(durations.some((p) => p.attributes['entra_id.outcome'] === 'accepted' && p.attributes['entra_id.caller.type'] === 'user' && ['1', '2'].includes(String(p.attributes['entra_id.token.version']))), JSON.stringify(durations))
    // Counted verifications reach the last export at shutdown, though the application closed before it.
    assert.ok(points.some((p) => p.metric === 'entra_id.verifications' && p.attributes['entra_id.outcome'] === 'accepted'), JSON.stringify(points.map((p) => p.metric)))
    const allowed = new Set(['entra_id.outcome', 'entra_id.token.version', 'entra_id.caller.type', 'entra_id.token_cache.hit', 'http.response.status_code', 'error.type', 'server.address'])
    for (const point of points.filter((p) => p.metric.startsWith('entra_id.'))) {
      assert.deepEqual(Object.keys(point.attributes).filter((key) => !allowed.has(key)), [], point.metric)
      for (const value of Object.values(point.attributes)) assert.ok(![run.oid, run.tenantId].includes(String(value)), `${point.metric} carries a user or tenant value`)
    }
  })

  test('the plugin\'s span attributes on the server span: entra_id.outcome (accepted, or the refusal code) and entra_id.caller.type; no enduser.id by default', () => {
    assert.equal(serverSpan(200).attributes['entra_id.outcome'], 'accepted')
    assert.equal(serverSpan(200).attributes['entra_id.caller.type'], 'user')
    assert.equal(serverSpan(401).attributes['entra_id.outcome'], 'ENTRA_TOKEN_EXPIRED')
    assert.equal(serverSpan(403).attributes['entra_id.outcome'], 'ENTRA_INSUFFICIENT_SCOPE')
    assert.ok(!spansOf(bodies('/v1/traces')).some((s) => 'enduser.id' in s.attributes))
  })

  test('nothing leaves loopback: every connection and name lookup stays on this machine', () => {
    assert.ok(run.egress.some((e) => e.connect === '127.0.0.1'), 'the recorder saw no connection at all')
    assert.deepEqual(nonLoopback(run.egress), [])
  })
})
