/**
 * `fastify-entra-id/mcp`: Entra ID verification for an MCP server built with the MCP TypeScript SDK's v2 packages
 * (`@modelcontextprotocol/server` 2.x, served with `@modelcontextprotocol/node`, `@modelcontextprotocol/express` or
 * a `fetch` handler), without Fastify. {@link entraTokenVerifier} makes the SDK's `OAuthTokenVerifier` over this
 * package's framework-free verifier, with the plugin's options and rules; the SDK's `requireBearerAuth` (or
 * `verifyBearerToken` and `bearerAuthChallengeResponse`) then answers refusals with the SDK's own challenges.
 * For the SDK's v1 line (`@modelcontextprotocol/sdk` 1.x), import the same names from `fastify-entra-id/mcp/v1`.
 *
 * The SDK is an optional peer dependency: only this entry loads it.
 *
 * @example
 * ```ts
 * import { getOAuthProtectedResourceMetadataUrl, requireBearerAuth } from '@modelcontextprotocol/server'
 * import { entraTokenVerifier } from 'fastify-entra-id/mcp'
 *
 * const resource = 'https://mcp.contoso.com/mcp'
 * const verifier = entraTokenVerifier({ tenantId: '<tenant ID>', clientId: '<client ID>',
 *   protectedResources: [{ resource, scopes: [`${resource}/Todo.Read`] }] })
 * const gate = requireBearerAuth({ verifier, expectedResource: new URL(resource), requiredScopes: [`${resource}/Todo.Read`],
 *   resourceMetadataUrl: getOAuthProtectedResourceMetadataUrl(new URL(resource)) })
 * ```
 *
 * @packageDocumentation
 */
import { OAuthError, OAuthErrorCode } from '@modelcontextprotocol/server'
import { createMcpVerifier } from './mcp-verifier.js'
import type { EntraMcpVerifier, EntraMcpVerifierOptions, RefusalKind } from './mcp-verifier.js'
import type { EntraAuthError } from '../core/errors/auth-error.js'

export { entraIdentityOf } from './auth-info.js'
export type { AuthInfoLike, EntraAuthInfo } from './auth-info.js'
export type { EntraMcpVerifier, EntraMcpVerifierOptions }

const CODES: Readonly<Record<RefusalKind, OAuthErrorCode>> = {
  invalid_token: OAuthErrorCode.InvalidToken,
  insufficient_scope: OAuthErrorCode.InsufficientScope,
  server_error: OAuthErrorCode.ServerError
}

/**
 * The MCP SDK's (v2) `OAuthTokenVerifier` for Entra ID access tokens: `verifyAccessToken(token)` resolves to the
 * SDK's `AuthInfo` ({@link EntraAuthInfo}: client ID, scopes, expiry, resource, and the caller under `extra`), or
 * rejects with the SDK's `OAuthError`: `OAuthErrorCode.InvalidToken` for a token that is not valid for this API
 * (401 with a challenge), `OAuthErrorCode.ServerError` when the identity provider's keys are unavailable (500, never
 * a 401), this package's error as its `cause`. Validates `options` now.
 *
 * @throws `EntraConfigError` (of `fastify-entra-id/core`) naming a bad option.
 */
export function entraTokenVerifier(options: EntraMcpVerifierOptions): EntraMcpVerifier {
  return createMcpVerifier(options, (kind: RefusalKind, description: string, error: EntraAuthError) =>
    Object.assign(new OAuthError(CODES[kind], description), { cause: error }))
}
