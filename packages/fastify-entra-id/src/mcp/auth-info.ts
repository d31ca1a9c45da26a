import type { EntraIdentity } from '../core/identity/identity.js'
import { fullScope } from '../util/full-scope.js'

/**
 * The MCP TypeScript SDK's `AuthInfo` as this package's verifier fills it: assignable to the `AuthInfo` of the
 * SDK's v2 packages and of its v1 line alike, so a tool handler reads it from `ctx.http.authInfo` (v2) or
 * `extra.authInfo` (v1).
 */
export interface EntraAuthInfo {
  /** The access token, as the client sent it. */
  token: string
  /** The calling application's client ID: `azp` (v2 tokens) or `appid` (v1); empty when the token has neither. */
  clientId: string
  /**
   * The token's delegated scopes (`scp`), each as its full string when the token's protected resource lists one
   * (`https://mcp.contoso.com/mcp/Todo.Read` for `Todo.Read`), else as Entra wrote it: the strings a client requests
   * from Entra, so the SDK's `requiredScopes` and the `scope` of its 403 challenge use them as they are. App roles
   * (`roles`) are no scopes: read them from {@link entraIdentityOf}.
   */
  scopes: string[]
  /** When the token expires (`exp`), in seconds since the epoch. */
  expiresAt: number
  /**
   * The protected resource (RFC 9728) the token is for, when the verifier has `protectedResources`: see
   * `EntraMcpVerifierOptions.protectedResources` for how the token's audience maps to one. What the SDK compares
   * with its `expectedResource`.
   */
  resource?: URL
  /** `entra`: the verified caller, which {@link entraIdentityOf} reads. */
  extra: { entra: EntraIdentity }
}

/** The SDK's `AuthInfo` as far as {@link entraIdentityOf} reads it: of either SDK line. */
export interface AuthInfoLike {
  readonly extra?: Readonly<Record<string, unknown>> | undefined
}

// The identities this package put into an `AuthInfo`: `extra` is an open record any code may write to, and what it
// holds under `entra` counts only when a verifier of this package put it there. The identity itself, not `extra`,
// is remembered: an adapter may copy `AuthInfo` and its `extra`, never the identity in it.
const issued = new WeakSet<EntraIdentity>()

/**
 * The `AuthInfo` of a verified token: its identity under `extra.entra`, its scopes as full strings of `scopes` (the
 * resource's scope strings; none when the token maps to no resource).
 */
export function toAuthInfo(token: string, identity: EntraIdentity, resource: URL | undefined, scopes: readonly string[]): EntraAuthInfo {
  issued.add(identity)
  return {
    token,
    clientId: identity.clientAppId ?? '',
    scopes: Array.from(identity.scopes, (name) => fullScope(scopes, name)),
    expiresAt: identity.claims.exp,
    ...(resource === undefined ? {} : { resource }),
    extra: { entra: identity }
  }
}

/**
 * The verified caller behind an `AuthInfo` this package's MCP verifier made (`ctx.http?.authInfo` in a v2 tool
 * handler, `extra.authInfo` in v1), or `undefined` for any other (none, another verifier's). An accessor, not a
 * guard: it refuses nothing.
 *
 * @example
 * ```ts
 * const caller = entraIdentityOf(ctx.http?.authInfo)
 * caller?.objectId // the user's object ID (oid)
 * ```
 */
export function entraIdentityOf(authInfo: AuthInfoLike | undefined): EntraIdentity | undefined {
  const entra = authInfo?.extra?.entra
  return typeof entra === 'object' && entra !== null && issued.has(entra as EntraIdentity) ? entra as EntraIdentity : undefined
}
