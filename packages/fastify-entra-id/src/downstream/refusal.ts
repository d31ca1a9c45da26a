import { AuthError, InteractionRequiredAuthError, ServerError } from '@azure/msal-node'
import type { FastifyRequest } from 'fastify'
import { AccessDeniedError } from '../core/errors/refusals.js'
import { DownstreamUnavailableError } from '../core/errors/unavailable.js'
import { EntraUsageError } from '../core/errors/usage-error.js'
import type { EntraIdDecorator } from '../fastify/decorator.js'
import { TokenEndpointTimeoutError } from './network.js'

// OAuth error codes of an identity provider that cannot answer now (RFC 6749 §5.2 and §4.1.2.1).
const OUTAGE_ERRORS = new Set(['temporarily_unavailable', 'server_error'])

// Entra's AADSTS65001: "The user or administrator has not consented to use the application" (the API's delegated
// permission on the downstream API). Read from `error_codes`, which msal keeps as `errorNo`, never from the text.
const CONSENT_REQUIRED = '65001'

/**
 * What to answer the caller when Entra refused or failed the on-behalf-of request, as the plugin answers its own
 * refusals: a claims challenge the client can satisfy (Conditional Access, MFA, CAE), a 403 for missing consent, a
 * 503 for an outage; anything else is the API's own configuration (a wrong credential or scope), a 500.
 */
export function oboRefusal(error: unknown, request: FastifyRequest, entraId: EntraIdDecorator, retryAfterSeconds: number): Error {
  if (error instanceof InteractionRequiredAuthError && error.claims !== '') {
    return entraId.claimsChallenge(request, error.claims,
      'The downstream API requires more of this sign-in (Conditional Access): sign in again with the claims of this challenge')
  }
  if ((error instanceof ServerError || error instanceof InteractionRequiredAuthError) && String(error.errorNo) === CONSENT_REQUIRED) {
    return entraId.challengeFor(request, new AccessDeniedError('ENTRA_CONSENT_REQUIRED',
      'Consent is needed for this API to call a downstream API on your behalf: the user or an administrator must consent to its permissions',
      { cause: error }))
  }
  if (isOutage(error)) {
    return new DownstreamUnavailableError(retryAfterSeconds, 'Entra ID could not issue a token for a downstream API; retry later', { cause: error })
  }
  return new EntraUsageError('ENTRA_DOWNSTREAM_REJECTED',
    'Entra ID refused this API\'s request for a downstream token; check its client credential and permissions', { cause: error })
}

function isOutage(error: unknown): boolean {
  if (error instanceof TokenEndpointTimeoutError) return true
  if (error instanceof ServerError) {
    if (OUTAGE_ERRORS.has(error.errorCode)) return true
    if (error.status !== undefined) return error.status >= 500 || error.status === 429
    // After a 5xx or 429 answer msal throttles that request (Retry-After, else 60 s) and answers repeats itself,
    // with Entra's numeric `error_codes` as the code instead of the OAuth error.
    return /^(?:\d+(?: \d+)*)?$/.test(error.errorCode)
  }
  // The transport failed (connection refused or reset, the timeout), which msal reports as `network_error`.
  return error instanceof AuthError && error.errorCode === 'network_error'
}

/**
 * The claims request of a downstream API's `WWW-Authenticate` answer when it is a claims challenge
 * (`error="insufficient_claims"`, `claims="<base64 JSON>"`), else `undefined`.
 */
export function claimsOfChallenge(header: string | null): string | undefined {
  if (header === null || !/\berror="insufficient_claims"/i.test(header)) return undefined
  const encoded = /\bclaims="([^"]*)"/i.exec(header)?.[1]
  if (encoded === undefined || encoded === '') return undefined
  const json = Buffer.from(encoded, 'base64').toString('utf8')
  try {
    const value: unknown = JSON.parse(json)
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? json : undefined
  } catch {
    return undefined
  }
}
