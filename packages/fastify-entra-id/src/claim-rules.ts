import { InvalidTokenError } from './errors.js'
import { isGuid } from './options.js'
import type { TokenVersion } from './options.js'

/**
 * What the claims of a token are checked against: the accepted issuers (from discovery) and the options. Built
 * once, when metadata has loaded.
 */
export interface ClaimContext {
  /** The v2 issuer, possibly with `{tenantid}` (multi-tenant). */
  readonly v2Issuer: string
  /** The v1 issuer, or undefined when v1 tokens are not accepted (its document is then never read). */
  readonly v1Issuer: string | undefined
  readonly tokenVersions: ReadonlySet<TokenVersion>
  /** Lower-case tenant IDs, or null for any tenant. */
  readonly allowedTenants: ReadonlySet<string> | null
  readonly audiences: ReadonlySet<string>
  /** Seconds. */
  readonly clockTolerance: number
}

const TEMPLATE = '{tenantid}'

/**
 * Entra's rules for the claims of an access token whose signature verified, as a pure function of the claims,
 * the context and `now` (milliseconds), like jose's `jwt_claims_set.ts`: the issuer and version, the tenant, the
 * audience, the times, and the signing key's `issuer` field (`keyIssuer`, when the key has one).
 *
 * @returns the token version its verified issuer makes it.
 * @throws {@link InvalidTokenError} naming the first rule broken.
 */
export function checkClaims(claims: Readonly<Record<string, unknown>>, context: ClaimContext, now: number, keyIssuer?: string): TokenVersion {
  const { iss, tid, aud, ver } = claims
  if (typeof iss !== 'string') throw new InvalidTokenError('ENTRA_TOKEN_INVALID_ISSUER', 'The token has no issuer')
  if (!isGuid(tid)) throw new InvalidTokenError('ENTRA_TOKEN_INVALID_CLAIMS', 'The token has no valid tenant ID (tid)')

  const v2Issuer = fill(context.v2Issuer, tid)
  let version: TokenVersion
  if (iss === v2Issuer) {
    version = 2
  } else if (context.v1Issuer !== undefined && iss === fill(context.v1Issuer, tid)) {
    version = 1
  } else if (context.v1Issuer === undefined && ver === '1.0') {
    // v1 tokens are not accepted, so the v1 issuer was never read: say what is wrong with the token.
    throw new InvalidTokenError('ENTRA_TOKEN_VERSION_MISMATCH', 'This API does not accept v1.0 tokens')
  } else {
    // Nothing of the accepted issuers is said: a wrong host or port is as likely as a wrong tenant.
    throw new InvalidTokenError('ENTRA_TOKEN_INVALID_ISSUER', 'The token\'s issuer (iss) is not one this API accepts')
  }
  if (!context.tokenVersions.has(version)) {
    throw new InvalidTokenError('ENTRA_TOKEN_VERSION_MISMATCH', `This API does not accept v${version}.0 tokens`)
  }
  if (ver !== (version === 2 ? '2.0' : '1.0')) {
    throw new InvalidTokenError('ENTRA_TOKEN_VERSION_MISMATCH', 'The token version (ver) does not match its issuer')
  }
  if (context.allowedTenants !== null && !context.allowedTenants.has(tid.toLowerCase())) {
    throw new InvalidTokenError('ENTRA_TOKEN_TENANT_NOT_ALLOWED', 'The token\'s tenant is not allowed to call this API')
  }
  // RFC 7519 allows an array, but Entra issues one audience; an array could smuggle a second API's audience.
  if (typeof aud !== 'string' || !context.audiences.has(aud)) {
    throw new InvalidTokenError('ENTRA_TOKEN_INVALID_AUDIENCE', 'The token is not meant for this API (audience)')
  }
  const timeError = checkTime(claims, context.clockTolerance, now)
  if (timeError !== null) throw timeError

  // Microsoft's signing-key issuer validation: a key that names an issuer signs only for that issuer. Entra
  // puts the v2 issuer on its keys, so a v1 token matches through the v2 form of its issuer (as
  // Microsoft.IdentityModel's AadIssuerValidator does).
  if (keyIssuer !== undefined) {
    const expected = fill(keyIssuer, tid)
    if (expected !== iss && !(version === 1 && expected === v2Issuer)) {
      throw new InvalidTokenError('ENTRA_TOKEN_INVALID_ISSUER', 'The token\'s issuer does not match its signing key')
    }
  }
  checkPermissions(claims)
  return version
}

/**
 * `scp` and `roles`: of the right types, and at least one of them present. Microsoft.Identity.Web refuses
 * tokens with neither: an ID token, or a token for another purpose.
 */
function checkPermissions(claims: Readonly<Record<string, unknown>>): void {
  const { scp, roles } = claims
  if (scp !== undefined && typeof scp !== 'string') {
    throw new InvalidTokenError('ENTRA_TOKEN_INVALID_CLAIMS', 'The token\'s scp claim is not a string')
  }
  if (roles !== undefined && !(Array.isArray(roles) && roles.every((r) => typeof r === 'string'))) {
    throw new InvalidTokenError('ENTRA_TOKEN_INVALID_CLAIMS', 'The token\'s roles claim is not an array of strings')
  }
  if ((scp === undefined || scp.trim() === '') && (roles === undefined || roles.length === 0)) {
    throw new InvalidTokenError('ENTRA_TOKEN_NOT_ACCESS_TOKEN', 'The token carries no scopes (scp) or app roles (roles): it is not an access token for this API')
  }
}

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
  if (exp <= seconds - clockTolerance) return new InvalidTokenError('ENTRA_TOKEN_EXPIRED', 'The token expired')
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

/** The issuer for tenant `tid`: multi-tenant documents name `{tenantid}` in place of the tenant. */
function fill(issuer: string, tid: string): string {
  return issuer.includes(TEMPLATE) ? issuer.replace(TEMPLATE, tid) : issuer
}
