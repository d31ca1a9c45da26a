import { AccessDeniedError } from '../core/errors/refusals.js'
import { EntraConfigError } from '../util/config-error.js'
import { InsufficientClaimsError } from '../core/errors/claims-challenge.js'
import type { EntraIdentity } from '../core/identity/identity.js'
import { makeGuard } from './guard-hook.js'
import type { EntraGuard } from './guard-hook.js'

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
export function requireAuthContext(id: string, options: AuthContextOptions = {}): EntraGuard {
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
        { authorizationUri: authorizeEndpoint(entraId.verifier.options.authorityHost, identity.tenantId) })
    }
    return new AccessDeniedError('ENTRA_AUTH_CONTEXT_REQUIRED', identity.isAppOnly
      ? `This operation needs authentication context ${id}, which only a user's sign-in can satisfy`
      : `This operation needs authentication context ${id}; the client cannot be challenged for it (it does not declare the cp1 capability), so sign in with it first`)
  }, { user: [{}], app: appOnly === 'allow' ? [{}] : [], conditions: [`authentication context ${id}${appOnly === 'allow' ? ' (users)' : ''}`] })
}

/**
 * True when the calling application declared the `cp1` client capability (`xms_cc`, a string or an array, any
 * case): it can handle claims challenges. Entra sends `xms_cc` only to an API whose app registration requests that
 * optional claim (manifest: `optionalClaims.accessToken: [{ "name": "xms_cc" }]`); without it, this is always false.
 */
export function canHandleClaimsChallenges(identity: EntraIdentity): boolean {
  const cc = identity.claims.xms_cc
  if (typeof cc === 'string') return cc.toLowerCase() === 'cp1'
  return Array.isArray(cc) && cc.some((c) => typeof c === 'string' && c.toLowerCase() === 'cp1')
}

/** The v2 authorization endpoint of the caller's tenant, where a claims challenge sends the user. */
export function authorizeEndpoint(authorityHost: string, tenantId: string): string {
  return `${authorityHost}/${tenantId}/oauth2/v2.0/authorize`
}
