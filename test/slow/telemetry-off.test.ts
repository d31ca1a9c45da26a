import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { startOtlpReceiver } from '../helpers/telemetry-endpoints.js'
import { nonLoopback, runTelemetryScenario } from '../helpers/telemetry-scenario.js'

/** Modules of telemetry: OpenTelemetry's, the Azure Monitor distro and exporter, @fastify/otel, the ESM hook. */
const TELEMETRY_MODULE = /\/node_modules\/(?:@opentelemetry\/|@azure\/monitor-opentelemetry|@fastify\/otel\/|import-in-the-middle\/)|\/src\/telemetry\/(?:azure-monitor|otlp|instrumentation-hooks|instrumentations|redacting-span-processor)\.ts$/

describe('telemetry off', () => {
  test('with neither APPLICATIONINSIGHTS_CONNECTION_STRING nor OTEL_EXPORTER_OTLP_ENDPOINT set, no telemetry module is loaded', async () => {
    const run = await runTelemetryScenario({})
    assert.equal(run.requests.accepted.status, 200)
    assert.equal(run.exitCode, 0, run.stderr)
    // The recorder saw the service's modules (Fastify among them), so it would have seen these.
    assert.ok(run.modules.some((url) => url.includes('/node_modules/fastify/')), `${run.modules.length} modules recorded`)
    assert.deepEqual(run.modules.filter((url) => TELEMETRY_MODULE.test(url)), [])
    assert.deepEqual(nonLoopback(run.egress), [])
  })

  test('the module recorder sees telemetry modules when telemetry is on (the control of the test above)', async () => {
    const receiver = await startOtlpReceiver()
    try {
      const run = await runTelemetryScenario({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url })
      const loaded = run.modules.filter((url) => TELEMETRY_MODULE.test(url))
      for (const name of ['@opentelemetry/sdk-node/', '@fastify/otel/', 'import-in-the-middle/', 'src/telemetry/otlp.ts']) {
        assert.ok(loaded.some((url) => url.includes(name)), `${name} not recorded`)
      }
    } finally {
      await receiver.close()
    }
  })
})
