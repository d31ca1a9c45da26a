import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { EntraUsageError } from '../core/errors/usage-error.js'
import type { EntraAuthError } from '../core/errors/auth-error.js'
import type { EntraIdentity } from '../core/identity/identity.js'
import { settle } from './dual-hook.js'
import { closeIfBodyArriving } from './connection.js'
import type { EntraHook } from './dual-hook.js'
import { described } from '../core/authorization/guard-description.js'
import type { GuardDescription } from '../core/authorization/guard-description.js'
import type { EntraIdDecorator } from './decorator.js'

/**
 * A guard's rule, given the caller and the plugin that verified it (its options, e.g. where callers sign in):
 * `null` lets the caller through; an error refuses it. The refusal's realm and `resource_metadata` are set after,
 * by `challengeFor`, as for every refusal of the plugin, so a rule builds the error only.
 */
export type Decide = (identity: EntraIdentity, entraId: EntraIdDecorator) => EntraAuthError | null

/**
 * Makes a guard from its rule and what it requires (for {@link describeGuard}). The rule runs synchronously on a
 * request already authenticated; else the guard authenticates first, in callback form under Fastify so that a
 * cached token is decided without a promise.
 */
export function makeGuard(decide: Decide, access: Pick<GuardDescription, 'user' | 'app'> & Partial<GuardDescription>): EntraHook {
  function refusalOf(request: FastifyRequest, reply: FastifyReply): EntraAuthError | undefined {
    const entraId = request.server.entraId
    // The decorator itself, not an object made for the call: a guard runs on every request of its routes.
    const refusal = decide(request.auth as EntraIdentity, entraId)
    if (refusal === null) return undefined
    closeIfBodyArriving(request, reply)
    return entraId.challengeFor(request, refusal)
  }
  function entraIdGuard(request: FastifyRequest, reply: FastifyReply): Promise<void>
  function entraIdGuard(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void
  function entraIdGuard(request: FastifyRequest, reply: FastifyReply, done?: HookHandlerDoneFunction): Promise<void> | undefined {
    const entraId = request.server.entraId as typeof request.server.entraId | undefined
    if (entraId === undefined) {
      return settle(done, new EntraUsageError('ENTRA_PLUGIN_MISSING', 'fastify-entra-id guards need the plugin registered in this Fastify instance or a parent'))
    }
    // Authenticated already (by the authenticate hook): decide synchronously.
    if (request.auth !== null) return settle(done, refusalOf(request, reply))
    if (done === undefined) {
      return entraId.authenticate(request, reply).then(() => {
        const refusal = refusalOf(request, reply)
        if (refusal !== undefined) throw refusal
      })
    }
    entraId.authenticate(request, reply, (error?: Error) => { void settle(done, error ?? refusalOf(request, reply)) })
    return undefined
  }
  return described(entraIdGuard, { conditions: [], optional: false, ...access })
}
