import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import { tempDir } from '../helpers/app.js'
import { startIngestionEndpoint, startRefusingProxy } from '../helpers/telemetry-endpoints.js'
import type { Envelope, IngestionEndpoint, RefusingProxy } from '../helpers/telemetry-endpoints.js'
import { nonLoopback, runTelemetryScenario, statuses } from '../helpers/telemetry-scenario.js'
import type { ScenarioResult } from '../helpers/telemetry-scenario.js'

describe('Application Insights (APPLICATIONINSIGHTS_CONNECTION_STRING), through the real Azure Monitor exporter', () => {
  const dir = tempDir('todo-ingestion-')
  let ingestion: IngestionEndpoint
  let proxy: RefusingProxy
  let run: ScenarioResult

  before(async () => {
    ingestion = await startIngestionEndpoint(dir.path)
    proxy = await startRefusingProxy()
    run = await runTelemetryScenario({
      APPLICATIONINSIGHTS_CONNECTION_STRING: ingestion.connectionString,
      // The exporter sends https only: trust the endpoint's test CA.
      NODE_EXTRA_CA_CERTS: ingestion.caFile,
      // Statsbeat (the SDK's own counters, to Microsoft's statsbeat endpoints): all of it off.
      APPLICATION_INSIGHTS_NO_STATSBEAT: 'true',
      // Offline storage off: a run must not resend what an earlier run left on disk, nor leave files.
      APPLICATIONINSIGHTS_CONFIGURATION_CONTENT: JSON.stringify({ azureMonitorExporterOptions: { disableOfflineStorage: true } }),
      // Every trace kept (the distro rate-limits to 5 per second by default).
      OTEL_TRACES_SAMPLER: 'always_on',
      // Runs as on App Service: the distro recognises the platform and skips the Azure VM detector, which asks
      // the instance-metadata service (169.254.169.254).
      WEBSITE_SITE_NAME: 'todo-api-test',
      // The exporter's control-plane poll (settings.sdk.monitor.azure.com) honours the proxy variables: the
      // refusing proxy keeps it home; the ingestion endpoint on loopback is reached directly.
      ...proxyVariables(proxy.url)
    })
  })

  after(async () => {
    // TELEMETRY_DUMP=<file>: what the endpoint received, decoded, to read by eye.
    if (process.env.TELEMETRY_DUMP !== undefined) writeFileSync(process.env.TELEMETRY_DUMP, JSON.stringify({ envelopes: ingestion.envelopes(), refusedByProxy: proxy.refused, egress: run.egress }, null, 2))
    await ingestion.close()
    await proxy.close()
    dir.remove()
  })

  /** The Request telemetry (incoming HTTP server spans) received. */
  const requests = (): Envelope[] => ingestion.envelopes().filter((e) => e.data?.baseType === 'RequestData')
  const request = (code: string): Record<string, unknown> & { properties?: Record<string, string> } => {
    const found = requests().find((e) => e.data?.baseData?.responseCode === code)
    assert.ok(found?.data?.baseData, `no Request with result code ${code} in ${JSON.stringify(requests(), null, 1)}`)
    return found.data.baseData
  }

  test('the service answered as expected and exited 0 after SIGTERM', () => {
    assert.deepEqual(
      statuses(run),
      { accepted: 200, expired: 401, forbidden: 403, queryToken: 400, unknownRoute: 404 }
    )
    assert.equal(run.exitCode, 0, run.stderr)
  })

  test('sends Request telemetry for the accepted request, the 401 and the 403, named by route, and none for the probe', () => {
    for (const [code, success] of [['200', true], ['401', false], ['403', false]] as const) {
      const r = request(code)
      assert.equal(r.name, 'GET /api/todos')
      assert.equal(r.success, success)
      assert.match(String(r.url), /^http:\/\/127\.0\.0\.1(?::\d+)?\/api\/todos$/)
    }
    assert.ok(!requests().some((e) => JSON.stringify(e).includes('/health/')), 'a probe was traced')
    // Fastify's spans (@fastify/otel) arrive as in-process dependencies of the request.
    const dependencies = ingestion.envelopes().filter((e) => e.data?.baseType === 'RemoteDependencyData')
    assert.ok(dependencies.some((e) => e.data?.baseData?.name === 'request'), JSON.stringify(dependencies.map((e) => e.data?.baseData?.name)))
  })

  test('the metrics since the last export are flushed at shutdown (the export interval is 60 s)', () => {
    const metrics = ingestion.envelopes().filter((e) => e.data?.baseType === 'MetricData')
    assert.ok(metrics.length > 0, 'no metric received')
  })

  test('no token, secret, Authorization value or object ID appears in any byte received', () => {
    assert.ok(ingestion.received.length > 0)
    const bytes = ingestion.received.map((r) => `${JSON.stringify(r.headers)}\n${r.body}`).join('\n')
    for (const token of run.tokens) {
      assert.ok(!bytes.includes(token), 'a token was sent whole')
      for (const part of token.split('.')) assert.ok(!bytes.includes(part), 'a part of a token was sent')
    }
    assert.ok(!bytes.includes('eyJ'), 'something JWT-shaped was sent')
    for (const secret of run.secrets) assert.ok(!bytes.includes(secret), 'a secret was sent')
    assert.ok(!/bearer/i.test(bytes), 'an Authorization value was sent')
    assert.ok(!bytes.includes(run.oid), 'the caller\'s object ID was sent')
  })

  // The plugin's side of issue 20 (the telemetry contract): these need the plugin's OpenTelemetry metrics and span
  // attributes, and fail until they are in.
  /** The metric items received, each with its name and its dimensions (customMetrics' customDimensions). */
  const metricItems = (): Array<{ name: string, properties: Record<string, string> }> =>
    ingestion.envelopes().filter((e) => e.data?.baseType === 'MetricData').flatMap((e) => {
      const baseData = e.data?.baseData as { metrics?: Array<{ name: string }>, properties?: Record<string, string> } | undefined
      return (baseData?.metrics ?? []).map((m) => ({ name: m.name, properties: baseData?.properties ?? {} }))
    })

  test('the plugin\'s metrics: entra_id.refusals by code and status for the 401 and the 403, entra_id.verification.duration by outcome, caller type and token version, with bounded attributes only', () => {
    const items = metricItems()
    const refusals = items.filter((m) => m.name === 'entra_id.refusals')
    assert.ok(refusals.some((m) => m.properties['entra_id.outcome'] === 'ENTRA_TOKEN_EXPIRED' && m.properties['http.response.status_code'] === '401'), JSON.stringify(refusals))
    assert.ok(refusals.some((m) => m.properties['entra_id.outcome'] === 'ENTRA_INSUFFICIENT_SCOPE' && m.properties['http.response.status_code'] === '403'), JSON.stringify(refusals))
    const durations = items.filter((m) => m.name === 'entra_id.verification.duration')
    assert.ok(durations.some((m) => m.properties['entra_id.outcome'] === 'accepted' && m.properties['entra_id.caller.type'] === 'user' && ['1', '2'].includes(m.properties['entra_id.token.version'] ?? '')), JSON.stringify(durations))
    assert.ok(durations.some((m) => m.properties['entra_id.outcome'] === 'ENTRA_TOKEN_EXPIRED'), JSON.stringify(durations))
    // Counted verifications reach the last export at shutdown, though the application closed before it.
    const verifications = items.filter((m) => m.name === 'entra_id.verifications')
    assert.ok(verifications.some((m) => m.properties['entra_id.outcome'] === 'accepted' && m.properties['entra_id.token_cache.hit'] === 'false'), JSON.stringify(verifications))
    const allowed = new Set(['entra_id.outcome', 'entra_id.token.version', 'entra_id.caller.type', 'entra_id.token_cache.hit', 'http.response.status_code', 'error.type', 'server.address'])
    for (const item of items.filter((m) => m.name.startsWith('entra_id.'))) {
      assert.deepEqual(Object.keys(item.properties).filter((key) => !allowed.has(key) && !key.startsWith('_MS.')), [], item.name)
      for (const value of Object.values(item.properties)) assert.ok(![run.oid, run.tenantId].includes(value), `${item.name} carries a user or tenant value`)
    }
  })

  test('the plugin\'s span attributes on the Request: entra_id.outcome (accepted, or the refusal code) and entra_id.caller.type; no enduser.id by default', () => {
    assert.equal(request('200').properties?.['entra_id.outcome'], 'accepted')
    assert.equal(request('200').properties?.['entra_id.caller.type'], 'user')
    assert.equal(request('401').properties?.['entra_id.outcome'], 'ENTRA_TOKEN_EXPIRED')
    assert.equal(request('403').properties?.['entra_id.outcome'], 'ENTRA_INSUFFICIENT_SCOPE')
    for (const e of requests()) {
      assert.equal(e.tags?.['ai.user.authUserId'], undefined)
      assert.equal(e.data?.baseData?.properties?.['enduser.id'], undefined)
    }
  })

  test('nothing leaves loopback: every connection and name lookup stays on this machine; the control-plane poll was refused by the proxy', () => {
    assert.ok(run.egress.some((e) => e.connect === '127.0.0.1'), 'the recorder saw no connection at all')
    assert.deepEqual(nonLoopback(run.egress), [])
    assert.ok(proxy.refused.every((target) => target === 'settings.sdk.monitor.azure.com:443'), proxy.refused.join(', '))
  })
})

/** The proxy variables, in both spellings (clients differ in which one they read first), for loopback-only runs. */
export function proxyVariables(url: string): Record<string, string> {
  return {
    HTTPS_PROXY: url, https_proxy: url, HTTP_PROXY: url, http_proxy: url, ALL_PROXY: url, all_proxy: url,
    NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost'
  }
}
