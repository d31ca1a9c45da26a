// The MCP SDK's token verifier over the framework-free core, for both SDK lines: what differs between them is only
// the error classes a refusal is thrown as, which each entry (index.ts for v2, v1.ts) passes in. Nothing here
// imports the SDK.

import { EntraTokenVerifier } from '../core/verification/verifier.js'
import { EntraAuthError } from '../core/errors/auth-error.js'
import { UnavailableError } from '../core/errors/unavailable.js'
import type { EntraIdOptions } from '../core/options/entra-id-options.js'
import type { EntraIdentity } from '../core/identity/identity.js'
import { authorizationServerOf, resolveProtectedResources, resourceDocument } from '../metadata/protected-resource.js'
import { checkResourcesAreAudiences } from '../metadata/resource-audiences.js'
import type { AuthorizationServerSource, ProtectedResource, ProtectedResourceOptions } from '../metadata/protected-resource.js'
import { toAuthInfo } from './auth-info.js'
import type { EntraAuthInfo } from './auth-info.js'

/** Options of `entraTokenVerifier`: the verifier's (and the plugin's), and the resources the MCP server serves. */
export interface EntraMcpVerifierOptions extends EntraIdOptions {
  /**
   * The protected resources (RFC 9728) the MCP server serves, as the plugin's option of the same name describes
   * them: the resource identifier (the MCP endpoint's public URL, e.g. `https://mcp.contoso.com/mcp`), its full
   * scope strings, name and documentation. A verified token's `AuthInfo.resource` is:
   * - the resource whose identifier is the token's `aud` (a v1 token requested for that identifier URI);
   * - the first resource when `aud` is the API's client ID or `api://{clientId}`: a v2 token's `aud` is always the
   *   client ID, which names the application and none of its identifier URIs, so the first resource stands for it;
   * - none for any other accepted audience (another identifier URI of the API, no resource of this server), which
   *   the SDK's `expectedResource` check then refuses.
   *
   * Each identifier must be an identifier URI of the app registration and an accepted `audience`, or Entra refuses
   * to issue tokens for it (AADSTS9010010). Default: none (`AuthInfo.resource` is never set).
   */
  protectedResources?: readonly ProtectedResourceOptions[] | undefined
}

/** How a refusal reaches the SDK: the kind of OAuth error it is thrown as. */
export type RefusalKind = 'invalid_token' | 'insufficient_scope' | 'server_error'

/** Makes the SDK line's error for a refusal of `kind`, whose message is `description` and whose cause is `error`. */
export type RefusalMapper = (kind: RefusalKind, description: string, error: EntraAuthError) => Error

/**
 * The MCP SDK's `OAuthTokenVerifier` for Entra ID access tokens, made by `entraTokenVerifier`: pass it as the
 * `verifier` of the SDK's `requireBearerAuth` (or `verifyBearerToken`). Made once, at start-up.
 */
class EntraMcpVerifier {
  /** The core verifier it runs on: its options, readiness and token-cache statistics. */
  readonly verifier: EntraTokenVerifier
  readonly #resources: readonly ProtectedResource[]
  /** The resource a token for the application as a whole (its client ID, `api://{clientId}`) is for. */
  readonly #primary: ProtectedResource | undefined
  readonly #applicationAudiences: ReadonlySet<string>
  readonly #server: AuthorizationServerSource
  readonly #refusal: RefusalMapper

  /** @internal */
  constructor(options: EntraMcpVerifierOptions, refusal: RefusalMapper) {
    // The core ignores options it does not know, as it does the plugin's.
    this.verifier = EntraTokenVerifier.create(options)
    const { protectedResources } = options
    this.#resources = resolveProtectedResources(protectedResources)
    // As the plugin does: a resource Entra cannot issue tokens for fails here, not at every client (AADSTS9010010).
    checkResourcesAreAudiences(this.#resources, this.verifier.options.audiences)
    // resolveProtectedResources orders them most specific first; the first as configured stands for the app.
    this.#primary = this.#resources.find((r) => r.resource === protectedResources?.[0]?.resource)
    const { clientId } = this.verifier.options
    this.#applicationAudiences = new Set([clientId, `api://${clientId}`])
    this.#server = authorizationServerOf(this.verifier)
    this.#refusal = refusal
  }

  /**
   * Verifies an access token and resolves to its `AuthInfo`. A refusal rejects with the SDK's own error, whose
   * `cause` is this package's (its `code`, and `details` for the log):
   * - not a valid token for this API (`InvalidTokenError` of this package): the SDK's invalid_token error, which
   *   its bearer middleware answers 401 with its challenge;
   * - the identity provider's keys unavailable, an `allowedTenants` lookup or a `revocation` check failing (a 503): the
   *   SDK's server_error, which it answers 500 without a challenge. Not the caller's fault, so never a 401 that
   *   would make a client drop a good token; the SDK renders no 503, and an application that wants one with
   *   `Retry-After` checks `error.cause` (a `KeysUnavailableError`, `TenantLookupError`, `RevocationCheckError`) first.
   */
  async verifyAccessToken(token: string): Promise<EntraAuthInfo> {
    let identity: EntraIdentity
    try {
      identity = await this.verifier.verify(token)
    } catch (error) {
      if (error instanceof EntraAuthError) throw this.#refusal(kindOf(error), error.message, error)
      throw error
    }
    const resource = this.#resourceOf(identity.claims.aud)
    return toAuthInfo(token, identity, resource === undefined ? undefined : new URL(resource.resource), resource?.scopes ?? [])
  }

  #resourceOf(audience: string): ProtectedResource | undefined {
    return this.#resources.find((r) => r.resource === audience) ??
      (this.#applicationAudiences.has(audience) ? this.#primary : undefined)
  }

  /**
   * The RFC 9728 metadata document to serve at `path` (a request's URL path, without query): that of the
   * resource whose metadata path it is (`/.well-known/oauth-protected-resource/mcp` for `https://host/mcp`), or
   * `undefined` when it is none. Also `undefined` while the authorization server is unknown: a tenant given as a
   * domain (or B2C, External ID) until discovery has loaded; answer 503 then.
   */
  protectedResourceMetadata(path: string): Record<string, unknown> | undefined {
    const resource = this.#resources.find((r) => r.metadataPath === path)
    return resource === undefined ? undefined : resourceDocument(resource, this.#server)
  }

  /**
   * Loads discovery documents and keys now (call it at start-up; concurrent calls share one load), as
   * `EntraTokenVerifier.hydrate` does: on failure it rejects with a `KeysUnavailableError` and retries in the
   * background.
   */
  hydrate(): Promise<void> {
    return this.verifier.hydrate()
  }

  /** Stops background retries. Safe to call more than once. */
  close(): void {
    this.verifier.close()
  }
}

/** How a refusal of this package is thrown to the SDK. */
function kindOf(error: EntraAuthError): RefusalKind {
  if (error instanceof UnavailableError) return 'server_error'
  return error.statusCode === 403 ? 'insufficient_scope' : 'invalid_token'
}

export type { EntraMcpVerifier }

/** Makes the verifier; `refusal` throws refusals as the SDK line's errors. */
export function createMcpVerifier(options: EntraMcpVerifierOptions, refusal: RefusalMapper): EntraMcpVerifier {
  return new EntraMcpVerifier(options, refusal)
}
