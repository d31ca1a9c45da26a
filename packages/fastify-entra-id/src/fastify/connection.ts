import type { FastifyReply, FastifyRequest } from 'fastify'

/**
 * Marks the response to a refused request `Connection: close` when the request's body is still arriving, so Node
 * closes the socket once the refusal is written.
 *
 * Why: the plugin refuses in `onRequest`, before anything reads the body, and on a keep-alive connection Node then
 * reads and discards the rest of that body for as long as the client keeps sending it. Without this, anyone
 * without a token holds a connection open by trickling a body to a protected route (Fastify's `requestTimeout`
 * is 0, no limit, unless the application sets it).
 */
export function closeIfBodyArriving(request: FastifyRequest, reply: FastifyReply): void {
  const raw = request.raw
  // `complete`: the parser has seen the whole message; `readableEnded`: the body was read (light-my-request's
  // injected requests have no `complete`).
  if (raw.complete || raw.readableEnded || reply.sent) return
  const length = raw.headers['content-length']
  if (raw.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')) {
    void reply.header('connection', 'close')
  }
}
