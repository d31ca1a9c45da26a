import { InvalidTokenError } from '../errors/refusals.js'
import { isGuid } from '../../util/guid.js'
import type { TokenVersion } from '../options/entra-id-options.js'

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

  const v2Issuer = fill(context.v2Issuer, tid)
  let version: TokenVersion
  let anotherTenant = false
  if (iss === v2Issuer) {
    version = 2
  } else if (context.v1Issuer !== undefined && iss === fill(context.v1Issuer, tid)) {
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
      details: { iss: shown(iss), tid, issuers: [v2Issuer, ...(context.v1Issuer === undefined ? [] : [fill(context.v1Issuer, tid)])] }
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
    const expected = fill(keyIssuer, tid)
    if (expected !== iss && !(version === 1 && expected === v2Issuer)) {
      throw new InvalidTokenError('ENTRA_TOKEN_INVALID_ISSUER', 'The token\'s issuer does not match its signing key', { details: { iss, keyIssuer: expected } })
    }
  }
  checkPermissions(claims)
  return version
}

// Whatever the `aud`: a single-page app and its API are most often two registrations, so an ID token names the
// app, and "another application" would send its developer looking at the wrong setting.
const ID_TOKEN_REFUSAL = 'The token is an ID token, which tells the client who signed in, not an access token: have the client request an access token for one of this API\'s scopes (with MSAL, acquireTokenSilent or acquireTokenPopup with that scope, not the idToken of the sign-in result) and send that'

/**
 * What the token is for, checked before its issuer, tenant and times, so nobody is told to fix a setting for a token
 * meant for another API: a Graph token, an ID token, then one for another application.
 *
 * @throws {@link InvalidTokenError} `ENTRA_TOKEN_FOR_GRAPH`, `ENTRA_TOKEN_ID_TOKEN` or `ENTRA_TOKEN_INVALID_AUDIENCE`.
 */
export function checkPurpose(claims: Readonly<Record<string, unknown>>, aud: unknown, audiences: ReadonlySet<string>): void {
  // RFC 7519 allows an array, but Entra issues one audience; an array could smuggle a second API's audience.
  const forThisApi = typeof aud === 'string' && audiences.has(aud)
  if (!forThisApi && isGraphAudience(aud)) throw forGraph()
  if (isIdToken(claims)) {
    throw new InvalidTokenError('ENTRA_TOKEN_ID_TOKEN', ID_TOKEN_REFUSAL)
  }
  if (!forThisApi) {
    // The accepted audiences are not listed: the fix is to ask for this API's scope, whatever the audience is.
    throw new InvalidTokenError('ENTRA_TOKEN_INVALID_AUDIENCE', 'The token is for another application (aud): request a token for this API\'s scope instead', {
      details: { aud: shown(aud), audiences: [...audiences] }
    })
  }
}

// A claim as a refusal's log line shows it: Entra's claims are short, but RFC 7519 lets `aud` be an array and any
// claim be long, and a log line must stay one line of bounded size.
const SHOWN_LENGTH = 256

/** A claim's value for {@link RefusalDetails}: strings (an array's too) cut at 256 characters, others as JSON. */
export function shown(value: unknown): string | string[] {
  if (Array.isArray(value)) return value.slice(0, 8).map((v) => String(shown(v)))
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? 'undefined'
  return text.length <= SHOWN_LENGTH ? text : `${text.slice(0, SHOWN_LENGTH)}...`
}

/**
 * The refusal of a Microsoft Graph token, from its header (a `nonce`, see {@link checkHeader}) or, verified, its
 * audience: Graph is the one resource whose tokens a client most often sends to the wrong API.
 */
export function forGraph(): InvalidTokenError {
  return new InvalidTokenError('ENTRA_TOKEN_FOR_GRAPH', 'The token is for Microsoft Graph: request a token for this API\'s scope instead')
}

/**
 * Microsoft Graph's audiences: its application ID, and its hosts in the global and national clouds (Microsoft
 * Graph, "National cloud deployments"), which v1 tokens carry as `aud`, with or without a final `/`.
 */
const GRAPH_AUDIENCES: ReadonlySet<string> = new Set([
  '00000003-0000-0000-c000-000000000000',
  'https://graph.microsoft.com',
  'https://graph.microsoft.us',
  'https://dod-graph.microsoft.us',
  'https://microsoftgraph.chinacloudapi.cn',
  'https://graph.microsoft.de'
])

export function isGraphAudience(aud: unknown): boolean {
  if (typeof aud !== 'string') return false
  // One final slash, sliced off without a regex (the audience is the caller's text, up to 16 KiB).
  const bare = aud.endsWith('/') ? aud.slice(0, -1) : aud
  return GRAPH_AUDIENCES.has(bare.toLowerCase())
}

/**
 * An ID token (OpenID Connect), by Microsoft's claims references. Only ID tokens carry `nonce`, `at_hash` or
 * `c_hash` (OpenID Connect Core §2, §3.1.3.6, §3.3.2.11; a Graph access token's nonce is in its header, not its
 * claims), so a token with one of them is an ID token whatever else it holds. Without them, a token that names
 * no calling application (`azp` in v2, `appid` in v1) is one too: every access token names one. An ID token may
 * carry `roles` (the user's app roles of the client), so `roles` never makes an access token; `scp` always does,
 * and so does `idtyp: app`, which Entra puts on app-only and agent tokens only.
 */
export function isIdToken(claims: Readonly<Record<string, unknown>>): boolean {
  if (claims.scp !== undefined || claims.idtyp === 'app') return false
  if (claims.nonce !== undefined || claims.at_hash !== undefined || claims.c_hash !== undefined) return true
  return claims.azp === undefined && claims.appid === undefined
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
 * `scp` and `roles`: of the right types, and at least one of them present. Microsoft.Identity.Web refuses
 * tokens with neither; an ID token was refused already, so this is a token for another purpose.
 */
export function checkPermissions(claims: Readonly<Record<string, unknown>>): void {
  const { scp, roles } = claims
  if (scp !== undefined && typeof scp !== 'string') {
    throw new InvalidTokenError('ENTRA_TOKEN_INVALID_CLAIMS', 'The token\'s scp claim is not a string')
  }
  if (roles !== undefined && !(Array.isArray(roles) && roles.every((r) => typeof r === 'string'))) {
    throw new InvalidTokenError('ENTRA_TOKEN_INVALID_CLAIMS', 'The token\'s roles claim is not an array of strings')
  }
  if ((scp === undefined || scp.trim() === '') && (roles === undefined || roles.length === 0)) {
    throw new InvalidTokenError('ENTRA_TOKEN_NOT_ACCESS_TOKEN', 'The token carries no scopes (scp) or app roles (roles): request a token for this API\'s scope, or for an application, grant it an app role of this API')
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

/**
 * Whether `iss` is a single-tenant API's `issuer` with its tenant replaced by the token's `tid`: Entra's issuer of
 * another tenant (a token the signature proves Entra issued, for a tenant the API does not serve). Anything else
 * (a template, a host or port that differs) is not.
 */
function isAnotherTenantsIssuer(iss: string, issuer: string | undefined, tid: string): boolean {
  if (issuer === undefined || issuer.includes(TEMPLATE)) return false
  const tenant = TENANT_IN_ISSUER.exec(issuer)
  if (tenant === null || tenant[0].toLowerCase() === tid.toLowerCase()) return false
  // Every occurrence: External ID names the tenant as host and path (`https://{tid}.ciamlogin.com/{tid}/v2.0`).
  return iss === issuer.split(tenant[0]).join(tid)
}

// The tenant ID in a single-tenant issuer (`https://login.microsoftonline.com/{GUID}/v2.0`, `https://sts.windows.net/{GUID}/`).
const TENANT_IN_ISSUER = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i

/** The issuer for tenant `tid`: multi-tenant documents name `{tenantid}` in place of the tenant. */
function fill(issuer: string, tid: string): string {
  return issuer.includes(TEMPLATE) ? issuer.replace(TEMPLATE, tid) : issuer
}
