import { EntraUsageError } from '../core/errors/usage-error.js'
import type { EntraIdentity } from '../core/identity/identity.js'

/**
 * The verified caller of a request (an accessor, not a guard: it checks nothing and refuses no one) that `fastify.entraId.authenticate` or a guard let through, typed as
 * {@link EntraIdentity} (`request.auth` is nullable, as routes without either leave it `null`): no `?.` and no
 * cast in handlers.
 *
 * @example
 * ```ts
 * app.get('/me', { onRequest: requireScopes('Todo.Read') }, (request) => ({ oid: identityOf(request).objectId }))
 * ```
 * @throws {@link EntraUsageError} `ENTRA_NOT_AUTHENTICATED` (500) when the request was not authenticated: the
 *   route lacks `authenticate` or a guard, a bug that a 401 would hide.
 */
export function identityOf(request: { readonly auth: EntraIdentity | null }): EntraIdentity {
  const identity = request.auth
  if (identity === null) {
    throw new EntraUsageError('ENTRA_NOT_AUTHENTICATED',
      'identityOf: the request was not authenticated; add fastify.entraId.authenticate or a guard to the route')
  }
  return identity
}
