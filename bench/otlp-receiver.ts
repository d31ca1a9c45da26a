// A stand-in for an OpenTelemetry collector, on loopback in the orchestrator's process: it accepts the telemetry-on
// servers' OTLP/HTTP exports (POST <prefix>/v1/metrics and <prefix>/v1/traces, the prefix being the server's id),
// answers each with an empty success, and counts requests and bytes per server and signal, so the report shows that
// exports happened while the servers were measured. It decodes nothing: what the plugin records is the tests' job.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/** The OTLP signals the receiver accepts, by the last segment of their path. */
export type OtlpSignal = 'metrics' | 'traces'

/** Exports received of one signal from one server. */
export interface OtlpTally {
  /** POST requests received. */
  readonly requests: number
  /** Their bodies' bytes, as sent (the exporters send JSON, uncompressed by default). */
  readonly bytes: number
}

/** Per server id, per signal. */
export type OtlpCounts = Readonly<Record<string, Readonly<Record<OtlpSignal, OtlpTally>>>>

/** A running receiver. */
export interface OtlpReceiver {
  /** Its origin, `http://127.0.0.1:<port>`: a server exports to `<url>/<server id>/v1/<signal>`. */
  readonly url: string
  /** What it received so far. */
  counts: () => OtlpCounts
  close: () => Promise<void>
}

const PATH = /^\/([^/]+)\/v1\/(metrics|traces)$/

/** Starts a receiver on an ephemeral loopback port. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const counts: Record<string, Record<OtlpSignal, { requests: number, bytes: number }>> = {}
  const server = createServer((req, res) => {
    const match = PATH.exec(req.url ?? '')
    if (req.method !== 'POST' || match === null) {
      req.resume()
      res.writeHead(404).end()
      return
    }
    const id = decodeURIComponent(match[1] as string)
    const signal = match[2] as OtlpSignal
    const tally = (counts[id] ??= { metrics: { requests: 0, bytes: 0 }, traces: { requests: 0, bytes: 0 } })[signal]
    tally.requests++
    req.on('data', (chunk: Buffer) => { tally.bytes += chunk.length })
    // An empty ExportMetricsServiceResponse / ExportTraceServiceResponse: everything accepted.
    req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json' }).end('{}') })
  })
  // Exporters keep their connections alive between exports: close() must not wait for them.
  server.keepAliveTimeout = 1_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    counts: () => structuredClone(counts),
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}
