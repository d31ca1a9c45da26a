import { InvalidTokenError } from '../errors/refusals.js'

/**
 * `exp` (required) and `nbf` (optional) against `now` (milliseconds), with `clockTolerance` (seconds); `iat`,
 * when present, must be a NumericDate. The same arithmetic as jose's JWT claims set validation (RFC 7519 §4.1.4,
 * §4.1.5). Returns the refusal rather than throwing it: the token cache asks on every hit.
 */
export function checkTime(claims: Readonly<Record<string, unknown>>, clockTolerance: number, now: number): InvalidTokenError | null {
  const { exp, nbf, iat } = claims
  const seconds = Math.floor(now / 1000)
  if (!isNumericDate(exp)) return new InvalidTokenError('ENTRA_TOKEN_INVALID_CLAIMS', 'The token has no valid expiry (exp)')
  if (nbf !== undefined && !isNumericDate(nbf)) {
    return new InvalidTokenError('ENTRA_TOKEN_INVALID_CLAIMS', 'The token\'s nbf claim is invalid')
  }
  if (iat !== undefined && !isNumericDate(iat)) {
    return new InvalidTokenError('ENTRA_TOKEN_INVALID_CLAIMS', 'The token\'s iat claim is invalid')
  }
  if (exp <= seconds - clockTolerance) {
    // How long ago, from `exp` and in whole seconds: a token refused seconds after it was issued shows a clock
    // that is wrong (here or at the client), where "expired" alone would not.
    const ago = Math.floor(now / 1000 - exp)
    return new InvalidTokenError('ENTRA_TOKEN_EXPIRED', `The token expired ${ago} s ago: request a new token (if it was just issued, a clock is wrong)`)
  }
  if (nbf !== undefined && nbf > seconds + clockTolerance) {
    return new InvalidTokenError('ENTRA_TOKEN_NOT_YET_VALID', 'The token is not valid yet (nbf)')
  }
  return null
}

/**
 * The latest NumericDate accepted, in seconds: 9999-12-31T23:59:59Z. RFC 7519 §2 allows any number, but a date
 * past this cannot be shown as an ISO 8601 date (`Date` itself ends at 8.64e12 s), so a token claiming one is
 * refused rather than breaking whatever formats `expiresAt` later.
 */
const MAX_NUMERIC_DATE = 253_402_300_799

/** A NumericDate (RFC 7519 §2): a finite number of seconds since the epoch, from 1970 to 9999. */
function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && value <= MAX_NUMERIC_DATE
}
