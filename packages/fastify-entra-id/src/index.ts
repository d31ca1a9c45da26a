/**
 * fastify-entra-id: protect a Fastify 5 API with Microsoft Entra ID (Azure AD) bearer access tokens.
 *
 * @packageDocumentation
 */
import { fastifyEntraId } from './fastify/plugin.js'
import * as transport from './core/transport/bearer.js'
import * as log from './log/index.js'

export { fastifyEntraId }
export default fastifyEntraId
export type { EntraIdDecorator, EntraIdPluginOptions } from './fastify/decorator.js'
export type { EntraHook } from './fastify/dual-hook.js'
export type { B2cOptions, EntraIdOptions, LoadAttempt, LoadSuccess, TenantPolicy, TenantPolicyCacheOptions, TokenVersion } from './core/options/entra-id-options.js'
export { DiscoveryError } from './core/keys/discovery.js'
export { KeySetFetchError } from './core/keys/key-set.js'
export type { DiscoveryErrorCode, DiscoveryErrorOptions, DiscoveryOption, ProviderError } from './core/keys/discovery.js'
export type { TokenCacheOptions, TokenCacheStats } from './core/token-cache/cache-options.js'
export type { EntraAccessTokenClaims, EntraIdentity } from './core/identity/identity.js'
export { EntraTokenVerifier } from './core/verification/verifier.js'
export { requireScopes, requireRoles, requireScopesOrRoles, requireByCallerType } from './fastify/guards.js'
export type { CallerRequirement, EntraGuard } from './fastify/guards.js'
export { requireAuthContext, canHandleClaimsChallenges } from './fastify/auth-context.js'
export type { AuthContextOptions } from './fastify/auth-context.js'
export { requireClaim, requireGroups, requireClaimCheck, requireMember } from './fastify/claim-guards.js'
export type { ClaimGuardOptions, ClaimRequirement } from './fastify/claim-guards.js'
export type { CompiledRequirement, Requirement } from './core/authorization/requirements.js'
export { describeGuard } from './core/authorization/guard-description.js'
export type { ProtectedResourceOptions } from './metadata/protected-resource.js'
export type { AccessPath, GuardDescription } from './core/authorization/guard-description.js'
export { EntraAuthError } from './core/errors/auth-error.js'
export { MissingTokenError, InvalidRequestError, InvalidTokenError, InsufficientScopeError, AccessDeniedError } from './core/errors/refusals.js'
export { InsufficientClaimsError } from './core/errors/claims-challenge.js'
export { KeysUnavailableError, DownstreamUnavailableError, TenantLookupError } from './core/errors/unavailable.js'
export { EntraConfigError } from './util/config-error.js'
export { EntraUsageError } from './core/errors/usage-error.js'
export { bearerChallenge } from './core/errors/challenge.js'
export type { AccessDeniedCode, BearerErrorCode, EntraAuthErrorCode, InvalidTokenCode } from './core/errors/codes.js'
export type { EntraAuthErrorOptions, RefusalDetails } from './core/errors/auth-error.js'
export type { EntraUsageErrorCode } from './core/errors/usage-error.js'
export type { InsufficientClaimsErrorOptions } from './core/errors/claims-challenge.js'
export { requireAuth } from './fastify/require-auth.js'
export { KEY_SET_CHANNEL } from './core/keys/diagnostics.js'
export type { KeySetEvent } from './core/keys/diagnostics.js'

/** @deprecated Import it from `fastify-entra-id/transport`; this root re-export will be removed. */
export const readBearerToken: typeof transport.readBearerToken = transport.readBearerToken
/** @deprecated Import it from `fastify-entra-id/transport`; this root re-export will be removed. */
export type BearerSource = transport.BearerSource

/** @deprecated Import it from `fastify-entra-id/log`; this root re-export will be removed. */
export const requestSerializer: typeof log.requestSerializer = log.requestSerializer
/** @deprecated Import it from `fastify-entra-id/log`; this root re-export will be removed. */
export const redactUrl: typeof log.redactUrl = log.redactUrl
/** @deprecated Import it from `fastify-entra-id/log`; this root re-export will be removed. */
export const redactedQueryParams: typeof log.redactedQueryParams = log.redactedQueryParams
/** @deprecated Import it from `fastify-entra-id/log`; this root re-export will be removed. */
export const authorizationRedactPaths: typeof log.authorizationRedactPaths = log.authorizationRedactPaths
/** @deprecated Import it from `fastify-entra-id/log`; this root re-export will be removed. */
export type SerializableRequest = log.SerializableRequest
