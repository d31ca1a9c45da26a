import { InvalidTokenError } from '../errors/refusals.js'
import { shown } from '../errors/shown.js'
import type { TokenVersion } from '../options/entra-id-options.js'
import { TENANT_TEMPLATE, fillTenant } from '../../util/entra-urls.js'
import { GUID_WITHIN, isGuid } from '../../util/guid.js'
import { checkPermissions, checkPurpose } from './purpose-rules.js'
import { checkTime } from './time-rules.js'
import { checkAgentClaims } from './agent-rules.js'

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

/**
 * Entra's rules for the claims of an access token whose signature verified, as a pure function of the claims,
 * the context and `now` (milliseconds), like jose's `jwt_claims_set.ts`. What the token is for comes first
 * (Microsoft Graph, an ID token, another application), as no other refusal would help a caller who sent the
 * wrong kind of token; then the issuer, version and tenant, the times, the signing key's `issuer` field
 * (`keyIssuer`, when the key has one), and the permissions. The signature verified, so each refusal may say what
 * the API accepts and what the caller should do instead (never the token's content).
 *
 * @returns the token version its verified issuer makes it.
 * @throws {@link InvalidTokenError} naming the first rule broken.
 */
export function checkClaims(claims: Readonly<Record<string, unknown>>, context: ClaimContext, now: number, keyIssuer?: string): TokenVersion {
  const { iss, tid, aud, ver } = claims
  if (typeof iss !== 'string') throw new InvalidTokenError('ENTRA_TOKEN_INVALID_ISSUER', 'The token has no issuer')
  if (!isGuid(tid)) throw new InvalidTokenError('ENTRA_TOKEN_INVALID_CLAIMS', 'The token has no valid tenant ID (tid)')

  checkPurpose(claims, aud, context.audiences)

  const v2Issuer = fillTenant(context.v2Issuer, tid)
  let version: TokenVersion
  let anotherTenant = false
  if (iss === v2Issuer) {
    version = 2
  } else if (context.v1Issuer !== undefined && iss === fillTenant(context.v1Issuer, tid)) {
    version = 1
  } else if (context.v1Issuer === undefined && ver === '1.0') {
    // v1 tokens are not accepted, so the v1 issuer was never read: say what is wrong with the token.
    throw versionMismatch(1)
  } else if (isAnotherTenantsIssuer(iss, context.v2Issuer, tid)) {
    version = 2
    anotherTenant = true
  } else if (isAnotherTenantsIssuer(iss, context.v1Issuer, tid)) {
    version = 1
    anotherTenant = true
  } else {
    // Nothing of the accepted issuers is said: a wrong host or port is as likely as a wrong tenant.
    throw new InvalidTokenError('ENTRA_TOKEN_INVALID_ISSUER', 'The token\'s issuer (iss) is not one this API accepts', {
      details: { iss: shown(iss), tid, issuers: [v2Issuer, ...(context.v1Issuer === undefined ? [] : [fillTenant(context.v1Issuer, tid)])] }
    })
  }
  if (!context.tokenVersions.has(version)) throw versionMismatch(version)
  if (ver !== (version === 2 ? '2.0' : '1.0')) {
    throw new InvalidTokenError('ENTRA_TOKEN_VERSION_MISMATCH', 'The token version (ver) does not match its issuer')
  }
  if (anotherTenant) {
    // A single-tenant API: the caller most often asked the common or organizations authority, which issues the
    // token in the user's home tenant; a guest of the API's tenant gets one from that tenant's authority.
    throw new InvalidTokenError('ENTRA_TOKEN_TENANT_NOT_ALLOWED',
      'The token is from another tenant and this API accepts its own tenant only: request the token from this API\'s tenant (its authority, not common or organizations), signed in as a member or guest of it',
      { details: { iss, tid, issuers: [context.v2Issuer] } })
  }
  if (context.allowedTenants !== null && !context.allowedTenants.has(tid.toLowerCase())) {
    throw new InvalidTokenError('ENTRA_TOKEN_TENANT_NOT_ALLOWED',
      'The token\'s tenant is not allowed to call this API: sign in with an account of an allowed tenant, or ask the API\'s owner to add this tenant to allowedTenants',
      { details: { iss, tid } })
  }
  const timeError = checkTime(claims, context.clockTolerance, now)
  if (timeError !== null) throw timeError

  // Microsoft's signing-key issuer validation: a key that names an issuer signs only for that issuer. Entra
  // puts the v2 issuer on its keys, so a v1 token matches through the v2 form of its issuer (as
  // Microsoft.IdentityModel's AadIssuerValidator does).
  if (keyIssuer !== undefined) {
    const expected = fillTenant(keyIssuer, tid)
    if (expected !== iss && !(version === 1 && expected === v2Issuer)) {
      throw new InvalidTokenError('ENTRA_TOKEN_INVALID_ISSUER', 'The token\'s issuer does not match its signing key', { details: { iss, keyIssuer: expected } })
    }
  }
  checkPermissions(claims)
  checkAgentClaims(claims)
  return version
}

/** The refusal of a token of `version` that the API does not accept, naming the registration setting to change. */
function versionMismatch(version: TokenVersion): InvalidTokenError {
  // Entra issues the version the API's registration asks for (`api.requestedAccessTokenVersion`), whichever
  // endpoint (v1 or v2) the client used: the fix is in the registration, not in the client.
  return new InvalidTokenError('ENTRA_TOKEN_VERSION_MISMATCH', version === 1
    ? 'This API accepts v2.0 tokens only and this is a v1.0 token: set requestedAccessTokenVersion to 2 in the api section of the API\'s app registration manifest (the client\'s v1 or v2 endpoint does not choose the version)'
    : 'This API accepts v1.0 tokens only and this is a v2.0 token: set requestedAccessTokenVersion to 1 (or null) in the api section of the API\'s app registration manifest, or accept v2.0 tokens (tokenVersions)')
}

/**
 * Whether `iss` is a single-tenant API's `issuer` with its tenant replaced by the token's `tid`: Entra's issuer of
 * another tenant (a token the signature proves Entra issued, for a tenant the API does not serve). Anything else
 * (a template, a host or port that differs) is not.
 */
function isAnotherTenantsIssuer(iss: string, issuer: string | undefined, tid: string): boolean {
  if (issuer === undefined || issuer.includes(TENANT_TEMPLATE)) return false
  // The tenant ID in a single-tenant issuer (`https://login.microsoftonline.com/{GUID}/v2.0`, `https://sts.windows.net/{GUID}/`).
  const tenant = GUID_WITHIN.exec(issuer)
  if (tenant === null || tenant[0].toLowerCase() === tid.toLowerCase()) return false
  // Every occurrence: External ID names the tenant as host and path (`https://{tid}.ciamlogin.com/{tid}/v2.0`).
  return iss === issuer.split(tenant[0]).join(tid)
}
