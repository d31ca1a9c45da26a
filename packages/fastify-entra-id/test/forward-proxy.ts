// A loopback forward proxy for tests: `CONNECT` tunnels (https targets) and absolute-form requests (http targets),
// each counted, so a test can tell what went through it. It can also refuse (403 to everything) or hang (accept
// and never answer), the two ways a corporate proxy fails.
import { createServer, request as httpRequest } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { connect } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'

/** What the proxy did with one request: `CONNECT host:port` or `GET http://host:port/path`, and its answer. */
export interface ProxiedRequest {
  readonly method: string
  /** `host:port` of a tunnel, the absolute URL of a plain request. */
  readonly target: string
  /** The status the proxy answered (200 for a tunnel it opened); undefined while it hangs. */
  status: number | undefined
}

export type ProxyBehaviour = 'forward' | 'refuse' | 'hang'

export interface ForwardProxy {
  /** `http://127.0.0.1:{port}`. */
  readonly url: string
  readonly requests: ProxiedRequest[]
  setBehaviour(behaviour: ProxyBehaviour): void
  /** One line per request, `CONNECT 127.0.0.1:4433 -> 200`, for a test's diagnostics. */
  summary(): string[]
  close(): Promise<void>
}

export async function startForwardProxy(): Promise<ForwardProxy> {
  let behaviour: ProxyBehaviour = 'forward'
  const requests: ProxiedRequest[] = []
  const sockets = new Set<Socket>()
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const entry: ProxiedRequest = { method: req.method ?? 'GET', target: req.url ?? '', status: undefined }
    requests.push(entry)
    if (behaviour === 'hang') return
    if (behaviour === 'refuse' || !/^http:\/\//.test(entry.target)) {
      entry.status = 403
      res.writeHead(403, { 'content-type': 'text/html' }).end('<html><body>Blocked by policy</body></html>')
      return
    }
    const upstream = httpRequest(entry.target, { method: req.method, headers: { ...req.headers, connection: 'close' } }, (answer) => {
      entry.status = answer.statusCode
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    upstream.on('error', () => { entry.status = 502; res.writeHead(502).end() })
    req.pipe(upstream)
  })
  server.on('connect', (req: IncomingMessage, client: Socket) => {
    const entry: ProxiedRequest = { method: 'CONNECT', target: req.url ?? '', status: undefined }
    requests.push(entry)
    client.on('error', () => undefined)
    if (behaviour === 'hang') return
    if (behaviour === 'refuse') {
      entry.status = 403
      client.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n')
      return
    }
    const [host = '', port = '443'] = entry.target.split(/:(?=\d+$)/)
    const upstream = connect(Number(port), host, () => {
      entry.status = 200
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.pipe(client)
      client.pipe(upstream)
    })
    sockets.add(upstream)
    upstream.on('close', () => sockets.delete(upstream))
    upstream.on('error', () => client.destroy())
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setBehaviour(next) { behaviour = next },
    summary: () => requests.map((r) => `${r.method} ${r.target} -> ${r.status ?? 'no answer'}`),
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
