/**
 * `fastify-entra-id/mcp/v1`: {@link entraTokenVerifier} for the MCP TypeScript SDK's v1 line
 * (`@modelcontextprotocol/sdk` 1.x, whose `requireBearerAuth` is Express middleware). The same names, options and
 * rules as `fastify-entra-id/mcp` (the SDK's v2 packages); only the error classes differ, as the two lines' bearer
 * middleware recognise different ones.
 *
 * @example
 * ```ts
 * import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js'
 * import { entraTokenVerifier } from 'fastify-entra-id/mcp/v1'
 *
 * const resource = 'https://mcp.contoso.com/mcp'
 * const verifier = entraTokenVerifier({ tenantId: '<tenant ID>', clientId: '<client ID>', protectedResources: [{ resource }] })
 * const gate = requireBearerAuth({ verifier, expectedResource: new URL(resource),
 *   resourceMetadataUrl: 'https://mcp.contoso.com/.well-known/oauth-protected-resource/mcp' })
 * ```
 *
 * @packageDocumentation
 */
import { InsufficientScopeError, InvalidTokenError, ServerError } from '@modelcontextprotocol/sdk/server/auth/errors.js'
import { createMcpVerifier } from './mcp-verifier.js'
import type { EntraMcpVerifier, EntraMcpVerifierOptions, RefusalKind } from './mcp-verifier.js'
import type { EntraAuthError } from '../core/errors/auth-error.js'
import { challengeSafe } from '../core/errors/challenge.js'

export { entraIdentityOf } from './auth-info.js'
export type { AuthInfoLike, EntraAuthInfo } from './auth-info.js'
export type { EntraMcpVerifier, EntraMcpVerifierOptions }

const ERRORS: Readonly<Record<RefusalKind, new (message: string) => Error>> = {
  invalid_token: InvalidTokenError,
  insufficient_scope: InsufficientScopeError,
  server_error: ServerError
}

/**
 * The MCP SDK's (v1) `OAuthTokenVerifier` for Entra ID access tokens: `verifyAccessToken(token)` resolves to the
 * SDK's `AuthInfo` ({@link EntraAuthInfo}), or rejects with the SDK's `InvalidTokenError` for a token that is not
 * valid for this API (401 with a challenge) or `ServerError` when the identity provider's keys are unavailable
 * (500, never a 401), this package's error as its `cause`. Validates `options` now.
 *
 * @throws `EntraConfigError` (of `fastify-entra-id/core`) naming a bad option.
 */
export function entraTokenVerifier(options: EntraMcpVerifierOptions): EntraMcpVerifier {
  return createMcpVerifier(options, (kind: RefusalKind, description: string, error: EntraAuthError) =>
    // v1 writes the message into its challenge's quoted error_description as it is: no quote or backslash may
    // end the string early (RFC 6750 allows neither there).
    Object.assign(new ERRORS[kind](challengeSafe(description)), { cause: error }))
}
