import { AccessDeniedError } from '../core/errors/refusals.js'
import { EntraConfigError } from '../util/config-error.js'
import { InsufficientClaimsError } from '../core/errors/claims-challenge.js'
import { canHandleClaimsChallenges } from '../core/identity/client-capabilities.js'
import { authorityEndpoint } from '../util/entra-urls.js'
import { makeGuard } from './guard-hook.js'
import type { EntraHook } from './dual-hook.js'

// Entra's authentication-context IDs: c1 to c99 (Conditional Access, "Authentication context").
const AUTH_CONTEXT_ID = /^c(?:[1-9]|[1-9][0-9])$/

/** Options of {@link requireAuthContext}. */
export interface AuthContextOptions {
  /**
   * What to do with app-only callers, whose tokens never carry `acrs` (no user signed in to step up):
   * `'refuse'` them with a 403 `ENTRA_AUTH_CONTEXT_REQUIRED`, or `'allow'` them through, when the context guards
   * what users do and applications are trusted by their app roles. Default `'refuse'`.
   */
  readonly appOnly?: 'refuse' | 'allow'
}

/**
 * Requires a Conditional Access authentication context (step-up): the token's `acrs` claim must list `id`
 * (`c1`..`c99`), which Entra adds once the user has met the policy tied to that context (MFA, a compliant device...).
 *
 * When it does not, a user whose client declared it can handle claims challenges (`xms_cc` contains `cp1`; the
 * API's app registration must request the `xms_cc` optional claim for Entra to send it) gets a
 * 401 `insufficient_claims` challenge asking for the context, which MSAL turns into a new sign-in; any other caller
 * (a client without `cp1`, or an app-only token, which cannot carry `acrs`) gets a 403 `ENTRA_AUTH_CONTEXT_REQUIRED`
 * that names the context, as a challenge it cannot act on would only loop.
 *
 * @example
 * ```ts
 * app.delete('/todos/:id', { onRequest: [requireScopes('Todo.Write'), requireAuthContext('c1')] }, handler)
 * ```
 * @throws {@link EntraConfigError} when `id` is not `c1`..`c99`, or `options.appOnly` is neither value.
 */
export function requireAuthContext(id: string, options: AuthContextOptions = {}): EntraHook {
  if (typeof id !== 'string' || !AUTH_CONTEXT_ID.test(id)) {
    throw new EntraConfigError('authContext', 'must be an authentication context ID, "c1" to "c99"')
  }
  const appOnly = options.appOnly ?? 'refuse'
  if (appOnly !== 'refuse' && appOnly !== 'allow') throw new EntraConfigError('appOnly', 'must be "refuse" or "allow"')
  const claims = JSON.stringify({ access_token: { acrs: { essential: true, value: id } } })
  return makeGuard((identity, entraId) => {
    const acrs = identity.claims.acrs
    if (Array.isArray(acrs) && acrs.includes(id)) return null
    if (identity.isAppOnly && appOnly === 'allow') return null
    if (!identity.isAppOnly && canHandleClaimsChallenges(identity)) {
      return new InsufficientClaimsError(claims,
        `This operation needs authentication context ${id}: sign in again with the claims of this challenge`,
        { authorizationUri: authorityEndpoint(entraId.verifier.options.authorityHost, identity.tenantId, 'authorize') })
    }
    return new AccessDeniedError('ENTRA_AUTH_CONTEXT_REQUIRED', identity.isAppOnly
      ? `This operation needs authentication context ${id}, which only a user's sign-in can satisfy`
      : `This operation needs authentication context ${id}; the client cannot be challenged for it (it does not declare the cp1 capability), so sign in with it first`)
  }, { user: [{}], app: appOnly === 'allow' ? [{}] : [], conditions: [`authentication context ${id}${appOnly === 'allow' ? ' (users)' : ''}`] })
}
