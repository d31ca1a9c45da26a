import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'

/**
 * A Fastify hook usable both ways: as a route hook (Fastify passes `done`, and a request whose token is in the
 * token cache is answered synchronously, without a promise), or awaited from your own code (no `done`: a promise).
 * `authenticate` is one, and so is every guard: use a guard as a route's `onRequest` hook, to refuse before the
 * body is read (a `preHandler` works too); a guard authenticates a request not authenticated yet, so a guard alone
 * protects a route.
 */
export interface EntraHook {
  (request: FastifyRequest, reply: FastifyReply): Promise<void>
  (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void
}

/**
 * Ends a hook that may run either way: with Fastify's `done`, call it; without, answer with a promise.
 */
export function settle(done: HookHandlerDoneFunction | undefined, error?: unknown): Promise<void> | undefined {
  const failure = error === undefined || error instanceof Error ? error : new Error('fastify-entra-id: hook failed', { cause: error })
  if (done === undefined) return failure === undefined ? Promise.resolve() : Promise.reject(failure)
  if (failure === undefined) done()
  else done(failure)
  return undefined
}

/** Ends a hook whose outcome is a promise: hand it to `done` when Fastify gave one, else return it. */
export function settleLater(done: HookHandlerDoneFunction | undefined, outcome: Promise<void>): Promise<void> | undefined {
  if (done === undefined) return outcome
  outcome.then(() => { done() }, (error: unknown) => { void settle(done, error) })
  return undefined
}
