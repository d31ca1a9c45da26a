// What a token is for, checked first on every verified token: not Microsoft Graph's, not an ID token, for this
// API, and carrying permissions (`scp` or `roles`) as every access token does.

import { InvalidTokenError } from '../errors/refusals.js'
import { shown } from '../errors/shown.js'
import { GRAPH_APP_ID } from '../../util/microsoft-graph.js'

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
  GRAPH_APP_ID,
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
 * claims), so a token with one of them is an ID token, unless `scp` or `idtyp: app` (below) says otherwise. Without them, a token that names
 * no calling application (`azp` in v2, `appid` in v1) is one too: every access token names one. An ID token may
 * carry `roles` (the user's app roles of the client), so `roles` never makes an access token; `scp` always does,
 * and so does `idtyp: app`, which Entra puts on app-only and agent tokens only.
 */
export function isIdToken(claims: Readonly<Record<string, unknown>>): boolean {
  if (claims.scp !== undefined || claims.idtyp === 'app') return false
  if (claims.nonce !== undefined || claims.at_hash !== undefined || claims.c_hash !== undefined) return true
  return claims.azp === undefined && claims.appid === undefined
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
