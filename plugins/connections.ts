import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { IncomingMessage } from 'node:http'

/** The service's shutdown state, as `fastify.shutdown`; src/start-server.ts moves it on at SIGTERM. */
export interface Shutdown {
  /**
   * `true` once {@link Shutdown.begin} was called (the drain): `/health/ready` answers 503 and every response carries
   * `Connection: close`, while requests are still served.
   */
  readonly begun: boolean
  /**
   * `true` once {@link Shutdown.refuse} was called (after the drain): every new request is answered 503 with
   * `Retry-After` and `Connection: close`, unprocessed, so that its client sends it elsewhere.
   */
  readonly refusing: boolean
  /** Starts the drain. Calling it again changes nothing. */
  begin(): void
  /** Starts refusing new requests (and the drain, if not begun). Calling it again changes nothing. */
  refuse(): void
}

/** `Retry-After` of a request refused during shutdown, in seconds: another instance can take it at once. */
const REFUSED_RETRY_AFTER = '1'

/** The refusal, serialized once: it fits no route's response schema, and is sent as it is. */
const REFUSAL = JSON.stringify({
  statusCode: 503,
  code: 'SHUTTING_DOWN',
  error: 'Service Unavailable',
  message: 'The service is shutting down and did not process this request; retry it'
})

declare module 'fastify' {
  interface FastifyInstance {
    /** Whether shutdown has begun; src/start-server.ts begins it. */
    readonly shutdown: Shutdown
  }
  interface FastifyContextConfig {
    /** Served as usual while refusing new requests at shutdown (the health probes, which say so themselves). */
    servedDuringShutdown?: boolean
  }
}

/**
 * Whether the request still has body bytes on the way. Node reads and discards the rest of a body that nobody
 * read (an early refusal), on a keep-alive connection, for as long as the client keeps sending it.
 */
function bodyStillArriving(raw: IncomingMessage): boolean {
  // `complete`: the parser has seen the whole message; `readableEnded`: the body was read (light-my-request's
  // injected requests have no `complete`, and their body was read when this is true).
  if (raw.complete || raw.readableEnded) return false
  const length = raw.headers['content-length']
  return raw.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/**
 * Decides which responses close their connection (`Connection: close`, after which Node closes the socket once
 * the response is written):
 *
 * - a response sent while the request's body is still arriving: a refusal from an `onRequest` hook (401, 403),
 *   a 404 or a 413 is sent before the body is read, and the connection would otherwise stay busy with discarding
 *   it. Anyone, without a token, could hold a connection that way until `requestTimeout`;
 * - every response once shutdown has begun, so that clients move their keep-alive connections elsewhere at a
 *   response boundary, instead of finding them reset when the server closes (a request sent on a connection the
 *   server is closing fails without telling the client whether it was processed).
 *
 * Once refusing, a new request is answered 503 before anything else runs (authentication included): a clear
 * "not processed, retry" rather than a reset. Routes with `config.servedDuringShutdown` (the health probes) are
 * answered as usual.
 */
// eslint-disable-next-line @typescript-eslint/require-await -- async, so that a throw rejects `register`
async function connections(app: FastifyInstance): Promise<void> {
  let begun = false
  let refusing = false
  app.decorate('shutdown', {
    get begun() { return begun },
    get refusing() { return refusing },
    begin() { begun = true },
    refuse() { begun = true; refusing = true }
  } satisfies Shutdown)

  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => {
    if (!refusing || request.routeOptions.config.servedDuringShutdown === true) { done(); return }
    void reply.code(503).type('application/json; charset=utf-8')
      .headers({ 'retry-after': REFUSED_RETRY_AFTER, connection: 'close' }).send(REFUSAL)
  })

  app.addHook('onSend', (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (error: null, payload: unknown) => void) => {
    if (begun || bodyStillArriving(request.raw)) void reply.header('connection', 'close')
    done(null, payload)
  })
}

/** Connection handling: `Connection: close` on early refusals and during shutdown, and `fastify.shutdown`. */
export default fp(connections, { name: 'connections', fastify: '5.x' })
