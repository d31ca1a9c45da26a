// The 503 answers: what the answer depends on (the identity provider's keys, a downstream call, the tenant lookup)
// is unavailable now. Not the caller's fault, so no challenge (RFC 6750 §3 defines none for it) and no
// `invalid_token`; `Retry-After` says when to try again.

import { EntraAuthError } from './auth-error.js'
import type { EntraAuthErrorOptions } from './auth-error.js'
import type { UnavailableCode } from './codes.js'

/** `seconds` as `Retry-After` may say it: whole seconds, rounded up, at least 1. */
function retryAfterOf(seconds: number): number {
  return Math.max(1, Math.ceil(seconds))
}

/** The base of the 503 errors: their one header is `Retry-After`, from {@link retryAfter}. */
export abstract class UnavailableError extends EntraAuthError {
  /** Seconds the caller should wait before trying again, as sent in `Retry-After`. */
  abstract readonly retryAfter: number

  protected constructor(code: UnavailableCode, message: string, options: EntraAuthErrorOptions) {
    super(code, 503, message, undefined, options)
  }

  protected override renderHeaders(): Record<string, string> {
    return { 'retry-after': String(this.retryAfter) }
  }
}

/**
 * 503: the tenant's discovery document or signing keys cannot be loaded (identity provider unreachable, slow or
 * answering garbage). Not the caller's fault, so no `invalid_token`; `Retry-After` says when to try again.
 */
export class KeysUnavailableError extends UnavailableError {
  override readonly name = 'KeysUnavailableError'
  /** Seconds until the next attempt to load keys, as sent in `Retry-After`. */
  readonly retryAfter: number
  constructor(retryAfterSeconds: number, options: EntraAuthErrorOptions = {}) {
    super('ENTRA_KEYS_UNAVAILABLE', 'The identity provider\'s signing keys are unavailable; retry later', options)
    this.retryAfter = retryAfterOf(retryAfterSeconds)
  }
}

/**
 * 503 `ENTRA_DOWNSTREAM_UNAVAILABLE`: a call made on the caller's behalf failed for a reason that is not the caller's
 * fault and may pass: Entra's token endpoint answered 5xx or 429, or did not answer within the timeout, or the
 * downstream API did not. No challenge; `Retry-After` says when to try again.
 */
export class DownstreamUnavailableError extends UnavailableError {
  override readonly name = 'DownstreamUnavailableError'
  /** Seconds the caller should wait before trying again, as sent in `Retry-After`. */
  readonly retryAfter: number
  constructor(retryAfterSeconds: number, description: string, options: EntraAuthErrorOptions = {}) {
    super('ENTRA_DOWNSTREAM_UNAVAILABLE', description, options)
    this.retryAfter = retryAfterOf(retryAfterSeconds)
  }
}

/**
 * 503 `ENTRA_TENANT_LOOKUP_FAILED`: the `allowedTenants` function failed (threw, rejected, or answered neither
 * `true` nor `false`) for a verified token's tenant. The token may well be good, so no `invalid_token` and no
 * challenge; `Retry-After` says when to try again, and the failure is not cached: the next request asks again.
 * The function's error is the `cause`, for logs.
 */
export class TenantLookupError extends UnavailableError {
  override readonly name = 'TenantLookupError'
  /** Seconds, as sent in `Retry-After`: always 5, a short wait for a database or directory to answer again. */
  readonly retryAfter: number = 5
  constructor(options: EntraAuthErrorOptions = {}) {
    super('ENTRA_TENANT_LOOKUP_FAILED', 'Whether the token\'s tenant may call this API cannot be checked now; retry later', options)
  }
}

/**
 * 503 `ENTRA_REVOCATION_CHECK_FAILED`: the `revocation.isRevoked` check failed (threw, rejected, timed out, or
 * answered neither `true` nor `false`) for a verified token. Whether the token is revoked is unknown, so it is
 * neither accepted nor called invalid; `Retry-After` says when to try again, and the failure is not cached. The
 * check's error is the `cause`, for logs.
 */
export class RevocationCheckError extends UnavailableError {
  override readonly name = 'RevocationCheckError'
  /** Seconds, as sent in `Retry-After`: always 5, a short wait for the deny-list to answer again. */
  readonly retryAfter: number = 5
  constructor(options: EntraAuthErrorOptions = {}) {
    super('ENTRA_REVOCATION_CHECK_FAILED', 'Whether the token is revoked cannot be checked now; retry later', options)
  }
}
