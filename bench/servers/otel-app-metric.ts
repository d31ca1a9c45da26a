// Preloaded after bench/servers/otel-providers.ts into the server whose plugin telemetry is off: one metric of the
// application's own, recorded once at start-up, so that its MeterProvider has something to export every interval,
// as an application that uses OpenTelemetry for itself does (a periodic reader skips an export with nothing
// recorded, and the exports, through node:http, are part of what OpenTelemetry costs the process).
import { metrics } from '@opentelemetry/api'

metrics.getMeter('bench-application').createHistogram('app.startup.duration', { unit: 's' }).record(0.5, { 'app.phase': 'listen' })
