/**
 * Loopback stand-ins for where telemetry goes, for started-service tests: Application Insights' ingestion
 * endpoint (https, with a test CA), an OTLP/HTTP receiver, and an HTTP proxy that refuses every destination.
 */
import { writeFileSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { join } from 'node:path'
import { gunzipSync, inflateSync } from 'node:zlib'
import { selfSignedCertificate } from 'fastify-entra-id/testing'

/** One request a stand-in received: its path, headers, and body as text (decompressed). */
export interface Received {
  method: string
  path: string
  headers: IncomingMessage['headers']
  body: string
}

/** A started loopback server with what it received; `close()` stops it. */
export interface Endpoint {
  readonly url: string
  readonly received: Received[]
  close(): Promise<void>
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  const raw = Buffer.concat(chunks)
  const encoding = request.headers['content-encoding']
  const decoded = encoding === 'gzip' ? gunzipSync(raw) : encoding === 'deflate' ? inflateSync(raw) : raw
  return decoded.toString('utf8')
}

async function listen(server: Server, scheme: 'http' | 'https'): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => { resolve() })
  })
  return `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function closer(server: Server): () => Promise<void> {
  return () => new Promise((resolve) => {
    server.closeAllConnections()
    server.close(() => { resolve() })
  })
}

function recording(received: Received[], answer: (request: Received, response: ServerResponse) => void) {
  return (request: IncomingMessage, response: ServerResponse): void => {
    readBody(request).then((body) => {
      const entry = { method: request.method ?? '', path: request.url ?? '', headers: request.headers, body }
      received.push(entry)
      answer(entry, response)
    }, () => { response.writeHead(400).end() })
  }
}

/** Application Insights' ingestion endpoint over https, and the CA file a child process trusts it by. */
export interface IngestionEndpoint extends Endpoint {
  /** A PEM file holding the endpoint's certificate: give it to the child as `NODE_EXTRA_CA_CERTS`. */
  readonly caFile: string
  /** A connection string that sends everything here. */
  readonly connectionString: string
  /** Every telemetry item (envelope) received, in order. */
  envelopes(): Envelope[]
}

/** An Application Insights envelope, as the exporter sends it (the fields the tests read). */
export interface Envelope {
  name: string
  iKey?: string
  tags?: Record<string, string>
  data?: { baseType?: string, baseData?: Record<string, unknown> & { properties?: Record<string, string> } }
}

/** The instrumentation key of {@link startIngestionEndpoint}'s connection string (any GUID passes). */
export const TEST_INSTRUMENTATION_KEY = '11111111-2222-4333-8444-555555555555'

/**
 * An https server on 127.0.0.1 that accepts Application Insights' track requests (`POST /v2.1/track`, a gzipped
 * JSON array of envelopes, or one per line) as the service does: 200 with the count accepted. Its certificate is
 * made for the run (`selfSignedCertificate`, openssl), written to `caFile` under `dir`. The exporter turns an
 * `http://` ingestion endpoint into `https://`, hence TLS.
 */
export async function startIngestionEndpoint(dir: string): Promise<IngestionEndpoint> {
  const { key, cert } = selfSignedCertificate()
  const caFile = join(dir, 'ingestion-ca.pem')
  writeFileSync(caFile, cert)
  const received: Received[] = []
  const server = createHttpsServer({ key, cert }, recording(received, (request, response) => {
    const count = parseEnvelopes(request.body).length
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(JSON.stringify({ itemsReceived: count, itemsAccepted: count, errors: [] }))
  }))
  const url = await listen(server, 'https')
  return {
    url,
    caFile,
    connectionString: `InstrumentationKey=${TEST_INSTRUMENTATION_KEY};IngestionEndpoint=${url}/`,
    received,
    envelopes: () => received.filter((r) => r.path.endsWith('/track')).flatMap((r) => parseEnvelopes(r.body)),
    close: closer(server)
  }
}

function parseEnvelopes(body: string): Envelope[] {
  const text = body.trim()
  if (text === '') return []
  if (text.startsWith('[')) return JSON.parse(text) as Envelope[]
  return text.split('\n').map((line) => JSON.parse(line) as Envelope)
}

/** An OTLP/HTTP receiver (JSON encoding): `/v1/traces`, `/v1/metrics` and `/v1/logs` answered 200 `{}`. */
export async function startOtlpReceiver(): Promise<Endpoint> {
  const received: Received[] = []
  const server = createHttpServer(recording(received, (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}')
  }))
  const url = await listen(server, 'http')
  return { url, received, close: closer(server) }
}

/** A forward proxy that refuses every destination, and the destinations it was asked for (`host:port`, or a URL). */
export interface RefusingProxy {
  readonly url: string
  readonly refused: string[]
  close(): Promise<void>
}

/**
 * An HTTP proxy on 127.0.0.1 that answers every `CONNECT` (https through the proxy) and every proxied request 403
 * and records what it was asked for. Given to a child process as `HTTPS_PROXY` and `HTTP_PROXY`, it keeps
 * clients that honour them (the Azure SDK's pipeline: the exporter's control-plane poll) from leaving the machine,
 * and shows that they tried.
 */
export async function startRefusingProxy(): Promise<RefusingProxy> {
  const refused: string[] = []
  const server = createHttpServer((request, response) => {
    refused.push(request.url ?? '')
    response.writeHead(403).end()
  })
  server.on('connect', (request: IncomingMessage, socket: Duplex) => {
    refused.push(request.url ?? '')
    socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
  })
  const url = await listen(server, 'http')
  return { url, refused, close: closer(server) }
}
