// Preloaded (`node --import`) into the telemetry-on servers: OpenTelemetry's MeterProvider and TracerProvider,
// registered globally before the server file builds its app, as an application that exports telemetry does. The
// plugin records its metrics and sets its span attributes only when it finds them registered at registration time
// (its `telemetry` option, on by default), so the server file itself stays the telemetry-off server's.
//
// Both export over OTLP/HTTP (JSON) to the loopback receiver the orchestrator runs (bench/otlp-receiver.ts), under
// a path prefix of this server's id so that the report can tell whose exports it received. No instrumentation is
// registered here: no HTTP server span, so the plugin has no active span to annotate; bench/servers/otel-fastify.ts
// adds @fastify/otel's request span for the sample's stack.
import { metrics } from '@opentelemetry/api'
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics'
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node'
import { benchConfig, benchServerId } from './harness.js'

/**
 * How often the metric reader exports, in milliseconds. The SDK's default is 60,000: a run's server lives for
 * seconds to a minute, and every export should fall inside the measured rounds, so it exports 12 times as often as
 * an application would (what exporting costs is counted, if anything more than an application pays).
 */
const METRIC_EXPORT_INTERVAL_MS = 5_000

const { otlpEndpoint } = benchConfig()
if (otlpEndpoint === undefined) throw new Error('bench server: no otlpEndpoint in BENCH_SERVER_CONFIG; start the telemetry servers through npm run bench')
const base = `${otlpEndpoint}/${encodeURIComponent(benchServerId())}`

metrics.setGlobalMeterProvider(new MeterProvider({
  readers: [new PeriodicExportingMetricReader({
    exporter: new OTLPMetricExporter({ url: `${base}/v1/metrics` }),
    exportIntervalMillis: METRIC_EXPORT_INTERVAL_MS
  })]
}))

// The span processor's defaults (a batch of at most 512 spans every 5 s, or sooner when 512 are waiting; at most
// 2,048 queued, the rest dropped), as an application that does not tune them runs. register() also installs the
// AsyncLocalStorage context manager and the W3C trace-context propagator.
new NodeTracerProvider({
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${base}/v1/traces` }))]
}).register()
