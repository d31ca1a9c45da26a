import { FastifyOtelInstrumentation } from '@fastify/otel'
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http'
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg'
import { NodeSDK, metrics, resources, tracing } from '@opentelemetry/sdk-node'
import { fastifyInstrumentationConfig, httpInstrumentationConfig } from './instrumentations.js'
import { RedactingSpanProcessor } from './redacting-span-processor.js'
import type { Telemetry } from './telemetry.js'

/** OpenTelemetry's default metric export interval, in milliseconds. */
const DEFAULT_METRIC_EXPORT_INTERVAL = 60_000

/**
 * Starts OpenTelemetry's Node SDK exporting traces and metrics as OTLP over HTTP (JSON) to
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/traces` and `/v1/metrics` under it; the exporters also read the
 * specification's other variables: per-signal endpoints, `OTEL_EXPORTER_OTLP_HEADERS`, timeouts). Instrumented: HTTP
 * (incoming and outgoing), PostgreSQL and Fastify, the same as with Azure Monitor; {@link RedactingSpanProcessor}
 * before the exporter. Sampling follows `OTEL_TRACES_SAMPLER` (default: every trace, parent-based), the metric
 * interval `OTEL_METRIC_EXPORT_INTERVAL` (default 60 s), and the resource `OTEL_SERVICE_NAME` (default `todo-api`)
 * and `OTEL_RESOURCE_ATTRIBUTES`, with the host and OS; no cloud detector runs.
 */
export function startOtlp(env: Readonly<Record<string, string | undefined>>): Telemetry {
  const sdk = new NodeSDK({
    // `todo-api` unless the environment names the service.
    ...(namesService(env) ? {} : { serviceName: 'todo-api' }),
    resourceDetectors: [resources.envDetector, resources.hostDetector, resources.osDetector],
    spanProcessors: [new RedactingSpanProcessor(), new tracing.BatchSpanProcessor(new OTLPTraceExporter())],
    metricReaders: [new metrics.PeriodicExportingMetricReader({
      exporter: new OTLPMetricExporter(),
      exportIntervalMillis: metricExportInterval(env.OTEL_METRIC_EXPORT_INTERVAL)
    })],
    instrumentations: [
      new HttpInstrumentation(httpInstrumentationConfig),
      new PgInstrumentation(),
      new FastifyOtelInstrumentation(fastifyInstrumentationConfig)
    ]
  })
  sdk.start()
  return { backend: 'otlp', shutdown: () => sdk.shutdown() }
}

/** Whether `OTEL_SERVICE_NAME` or `OTEL_RESOURCE_ATTRIBUTES` gives the service's name. */
function namesService(env: Readonly<Record<string, string | undefined>>): boolean {
  return (env.OTEL_SERVICE_NAME ?? '') !== '' || /(?:^|,)\s*service\.name\s*=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? '')
}

/** The specification's variable, in milliseconds: a positive integer, or the default. */
function metricExportInterval(value: string | undefined): number {
  const parsed = Number(value)
  return Number.isSafeInteger(parsed) && parsed > 0 ? parsed : DEFAULT_METRIC_EXPORT_INTERVAL
}
