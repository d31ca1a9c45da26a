import { connect, createServer } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'
import { Signal } from '@fastify-entra-id/test-kit'

/**
 * A TCP proxy on loopback that can be cut and restored: the database "goes down" for the code under test (its
 * connections drop and new ones are refused) while the real server keeps running.
 */
export class TcpProxy {
  readonly #target: { host: string, port: number }
  readonly #sockets = new Set<Socket>()
  /** The waits of {@link forwarded}, each shown every chunk a client sends; `#sent` is notified after each. */
  readonly #watches = new Set<(chunk: Buffer) => void>()
  readonly #sent = new Signal()
  #server: Server | null = null
  #port = 0

  constructor(target: { host: string, port: number }) {
    this.#target = target
  }

  get port(): number {
    return this.#port
  }

  /** Listens (again, on the same port once one was taken). */
  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.#target.port, this.#target.host)
      for (const s of [client, upstream]) {
        this.#sockets.add(s)
        s.on('close', () => this.#sockets.delete(s))
        s.on('error', () => { client.destroy(); upstream.destroy() })
      }
      client.pipe(upstream)
      upstream.pipe(client)
      // After pipe()'s own listener: the chunk has been written to the server when a watch sees it.
      client.on('data', (chunk: Buffer) => {
        for (const watch of this.#watches) watch(chunk)
        this.#sent.notify()
      })
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.#port, '127.0.0.1', () => { server.off('error', reject); resolve() })
    })
    this.#port = (server.address() as AddressInfo).port
    this.#server = server
  }

  /**
   * Resolves once a client has sent `text` (a statement, say) and it was forwarded to the server; rejects after
   * `timeoutMs`. Call it before whatever sends the text. The text is looked for in each chunk the client sends,
   * so it must be short enough to arrive in one (an SQL statement's first words do).
   */
  forwarded(text: string, timeoutMs = 5000): Promise<void> {
    let seen = false
    const watch = (chunk: Buffer): void => { if (chunk.includes(text)) seen = true }
    this.#watches.add(watch)
    return this.#sent.until(() => seen, timeoutMs, `a client to send ${JSON.stringify(text)}`)
      .finally(() => { this.#watches.delete(watch) })
  }

  /** Drops every connection and stops listening: connecting is refused until {@link start}. */
  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    const server = this.#server
    this.#server = null
    if (server !== null) await new Promise<void>((resolve) => server.close(() => { resolve() }))
  }
}
