// The refusals of a request: no token, a malformed request, a token not valid for this API, and a valid token
// without what the route requires (RFC 6750 §3.1). The claims challenge and the 503s have files of their own.

import { EntraAuthError } from './auth-error.js'
import type { EntraAuthErrorOptions } from './auth-error.js'
import { bearerChallenge } from './challenge.js'
import type { AccessDeniedCode, InvalidTokenCode } from './codes.js'

/** 401: the request carries no bearer token (RFC 6750 §3.1: the challenge then carries no error code). */
export class MissingTokenError extends EntraAuthError {
  override readonly name = 'MissingTokenError'
  constructor(options: EntraAuthErrorOptions = {}) {
    super('ENTRA_TOKEN_MISSING', 401, 'Authentication required: send an access token as "Authorization: Bearer <token>"',
      undefined, options)
  }

  protected override renderHeaders(realm: string, resourceMetadata: string | undefined): Record<string, string> {
    return { 'www-authenticate': bearerChallenge(realm, { resource_metadata: resourceMetadata }) }
  }
}

/** 400 `invalid_request`: the Authorization header or the request's way of sending the token is malformed. */
export class InvalidRequestError extends EntraAuthError {
  override readonly name = 'InvalidRequestError'
  constructor(description: string, options: EntraAuthErrorOptions = {}) {
    super('ENTRA_INVALID_REQUEST', 400, description, 'invalid_request', options)
  }
}

/** 401 `invalid_token`: the token is malformed, expired, badly signed or not meant for this API. */
export class InvalidTokenError extends EntraAuthError {
  override readonly name = 'InvalidTokenError'
  constructor(code: InvalidTokenCode, description: string, options: EntraAuthErrorOptions = {}) {
    super(code, 401, description, 'invalid_token', options)
  }
}

/** 403 `insufficient_scope`: the token is valid but lacks the scope or app role the route requires. */
export class InsufficientScopeError extends EntraAuthError {
  override readonly name = 'InsufficientScopeError'
  /**
   * The scopes or app roles that would satisfy the route, as listed in the challenge's `scope` attribute (there,
   * under a protected resource, a scope is written as the resource's full scope string).
   */
  readonly required: readonly string[]
  constructor(required: readonly string[], description: string, options: EntraAuthErrorOptions = {}) {
    super('ENTRA_INSUFFICIENT_SCOPE', 403, description, 'insufficient_scope', options)
    this.required = required
  }

  protected override renderHeaders(realm: string, resourceMetadata: string | undefined): Record<string, string> {
    return {
      'www-authenticate': bearerChallenge(realm, {
        resource_metadata: resourceMetadata,
        error: 'insufficient_scope',
        error_description: this.message,
        scope: this.required.length > 0 ? this.qualifiedScopes(this.required).join(' ') : undefined
      })
    }
  }
}

/**
 * 403 `insufficient_scope`, with a code of its own: the token is valid, its scopes and roles may be too, but the
 * route requires something else of the caller: an authentication context the client cannot be asked for
 * (`ENTRA_AUTH_CONTEXT_REQUIRED`), a claim value (`ENTRA_CLAIM_REQUIRED`), group membership the token cannot tell
 * (`ENTRA_GROUPS_OVERAGE`), or a member rather than a guest (`ENTRA_GUEST_NOT_ALLOWED`); for a call to a downstream
 * API on the caller's behalf (`fastify-entra-id/downstream`), consent the user or an administrator has not given
 * (`ENTRA_CONSENT_REQUIRED`), or a user at all, as an application calling with its own identity has no one to act
 * for (`ENTRA_USER_REQUIRED`). The challenge carries no `scope`: no scope of this API would help.
 */
export class AccessDeniedError extends EntraAuthError {
  override readonly name = 'AccessDeniedError'
  constructor(code: AccessDeniedCode, description: string, options: EntraAuthErrorOptions = {}) {
    super(code, 403, description, 'insufficient_scope', options)
  }
}
