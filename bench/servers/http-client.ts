// Preloaded into a server with no OpenTelemetry at all: a node:http client that POSTs a small JSON body to the
// loopback receiver every 5 s, over a keep-alive agent, as the OTLP/HTTP exporter of bench/servers/otel-providers.ts
// does. It prices one part of what "telemetry on" costs that belongs to neither the plugin nor OpenTelemetry's
// API: an HTTP client in the same process as an HTTP server. Node's client and server share code (the outgoing
// message and stream machinery); once both have run, V8 compiles that code for both kinds of object, and the
// server's requests pay for it from then on.
import { Agent, request } from 'node:http'
import { benchConfig, benchServerId } from './harness.js'

/** The OTLP metric reader's interval in otel-providers.ts, in milliseconds. */
const INTERVAL_MS = 5_000
/** What an export with nothing recorded would carry. */
const BODY = '{"resourceMetrics":[]}'

const { otlpEndpoint } = benchConfig()
if (otlpEndpoint === undefined) throw new Error('bench server: no otlpEndpoint in BENCH_SERVER_CONFIG; start the telemetry servers through npm run bench')
const url = new URL(`${otlpEndpoint}/${encodeURIComponent(benchServerId())}/v1/metrics`)
const agent = new Agent({ keepAlive: true })

function post(): void {
  const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => { res.resume() })
  // A failed post changes nothing the bench measures; the receiver's tally shows whether they arrived.
  req.on('error', () => {})
  req.end(BODY)
}

setInterval(post, INTERVAL_MS).unref()
