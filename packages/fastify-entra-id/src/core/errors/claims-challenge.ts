import { EntraAuthError } from './auth-error.js'
import type { EntraAuthErrorOptions } from './auth-error.js'
import { bearerChallenge } from './challenge.js'
import { httpsUrl } from '../../util/https-url.js'
import { EntraConfigError } from '../../util/config-error.js'

/** Options of {@link InsufficientClaimsError}. */
export interface InsufficientClaimsErrorOptions extends EntraAuthErrorOptions {
  /**
   * Where the client sends the user to satisfy the claims: `{authorityHost}/{tenant}/oauth2/v2.0/authorize`.
   * Microsoft's challenge format requires it: `fastify.entraId.claimsChallenge` fills it in from the verified
   * caller's tenant, which is the way to raise one. Default: none (the challenge then has no `authorization_uri`).
   */
  authorizationUri?: string | undefined
}

/**
 * 401 `insufficient_claims`: a claims challenge (Microsoft identity platform, "Claims challenges, claims requests
 * and client capabilities"). The token is valid but lacks claims that only a new sign-in can add (a Conditional
 * Access authentication context, MFA); the challenge tells a client that declared the `cp1` capability which
 * claims to request:
 * `Bearer realm="...", authorization_uri="...", error="insufficient_claims", claims="<base64 of the claims JSON>"`.
 *
 * Raise one from a handler with `fastify.entraId.claimsChallenge(request, claims)`, which sets the realm,
 * `authorization_uri` and `resource_metadata` (a bare instance has none of the plugin's), with any claims request
 * (for example one a downstream API answered with); the `requireAuthContext` guard raises it for authentication
 * contexts. Send it only to a client that can handle it (`canHandleClaimsChallenges`).
 */
export class InsufficientClaimsError extends EntraAuthError {
  override readonly name = 'InsufficientClaimsError'
  /** The claims request, minified JSON, e.g. `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`. */
  readonly claims: string
  /** The `authorization_uri` of the challenge, when known. */
  readonly authorizationUri: string | undefined

  /**
   * @param claims - the claims request: a JSON object, or its JSON text (minified here).
   * @throws {@link EntraConfigError} when `claims` is not a JSON object (or its text), or `authorizationUri` is not
   *   an absolute `https` URL (loopback `http` allowed).
   */
  constructor(claims: string | Readonly<Record<string, unknown>>, description: string, options: InsufficientClaimsErrorOptions = {}) {
    super('ENTRA_INSUFFICIENT_CLAIMS', 401, description, 'insufficient_claims', options)
    this.claims = claimsJson(claims)
    this.authorizationUri = options.authorizationUri === undefined ? undefined : checkAuthorizationUri(options.authorizationUri)
  }

  protected override renderHeaders(realm: string, resourceMetadata: string | undefined): Record<string, string> {
    return {
      'www-authenticate': bearerChallenge(realm, {
        resource_metadata: resourceMetadata,
        authorization_uri: this.authorizationUri,
        error: 'insufficient_claims',
        claims: Buffer.from(this.claims, 'utf8').toString('base64')
      })
    }
  }
}

function claimsJson(claims: unknown): string {
  let value: unknown = claims
  if (typeof claims === 'string') {
    try {
      value = JSON.parse(claims)
    } catch {
      value = undefined
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new EntraConfigError('claims', 'must be a claims request: a JSON object such as {"access_token":{...}}, or its text')
  }
  return JSON.stringify(value)
}

function checkAuthorizationUri(uri: unknown): string {
  if (httpsUrl(uri) === undefined) {
    throw new EntraConfigError('authorizationUri', 'must be an absolute https URL (http only for loopback hosts) without credentials or a fragment')
  }
  return uri as string
}
