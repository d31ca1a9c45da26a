import type { FastifyRequest } from 'fastify'

// The bearer token each authenticated request presented, for a call on the caller's behalf (OAuth 2.0 on-behalf-of
// sends it to Entra as the assertion). Kept here, per request, rather than on the identity: identities are shared
// by every request presenting the same token (the token cache), and whatever sits on `request.auth` is printed and
// serialized with it. A WeakMap entry goes with its request; nothing else can enumerate or reach it.
const tokens = new WeakMap<FastifyRequest, string>()

/** @internal Called by the plugin once the token of `request` verified. */
export function keepIncomingToken(request: FastifyRequest, token: string): void {
  tokens.set(request, token)
}

/** @internal The verified bearer token of `request`, or `undefined` when the plugin did not authenticate it. */
export function incomingToken(request: FastifyRequest): string | undefined {
  return tokens.get(request)
}
