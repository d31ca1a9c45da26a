/**
 * fastify-entra-id: protect a Fastify 5 API with Microsoft Entra ID (Azure AD) bearer access tokens.
 *
 * @packageDocumentation
 */
import { fastifyEntraId } from './plugin.js'
import * as transport from './bearer.js'
import * as log from './log.js'

export { fastifyEntraId }
export default fastifyEntraId
export type { EntraIdDecorator, EntraIdPluginOptions } from './plugin.js'
export type { EntraHook } from './dual-hook.js'
export type { B2cOptions, EntraIdOptions, LoadAttempt, LoadSuccess, TenantPolicy, TenantPolicyCacheOptions, TokenVersion } from './options.js'
export { DiscoveryError } from './discovery.js'
export { KeySetFetchError } from './key-set.js'
export type { DiscoveryErrorCode, DiscoveryErrorOptions, DiscoveryOption, ProviderError } from './discovery.js'
export type { TokenCacheOptions, TokenCacheStats } from './token-cache.js'
export type { EntraAccessTokenClaims, EntraIdentity } from './identity.js'
export { EntraTokenVerifier } from './verifier.js'
export { requireScopes, requireRoles, requireScopesOrRoles, requireByCallerType } from './guards.js'
export type { CallerRequirement, EntraGuard } from './guards.js'
export { requireAuthContext, canHandleClaimsChallenges } from './auth-context.js'
export type { AuthContextOptions } from './auth-context.js'
export { requireClaim, requireGroups, requireClaimCheck, requireMember } from './claim-guards.js'
export type { ClaimGuardOptions, ClaimRequirement } from './claim-guards.js'
export type { CompiledRequirement, Requirement } from './requirements.js'
export { describeGuard } from './guard-description.js'
export type { ProtectedResourceOptions } from './protected-resource.js'
export type { AccessPath, GuardDescription } from './guard-description.js'
export {
  EntraAuthError,
  MissingTokenError,
  InvalidRequestError,
  InvalidTokenError,
  InsufficientScopeError,
  InsufficientClaimsError,
  AccessDeniedError,
  KeysUnavailableError,
  DownstreamUnavailableError,
  TenantLookupError,
  EntraConfigError,
  EntraUsageError
} from './errors.js'
export { bearerChallenge } from './challenge.js'
export type {
  AccessDeniedCode,
  BearerErrorCode,
  EntraAuthErrorCode,
  EntraAuthErrorOptions,
  EntraUsageErrorCode,
  InsufficientClaimsErrorOptions,
  InvalidTokenCode,
  RefusalDetails
} from './errors.js'
export { requireAuth } from './require-auth.js'
export { KEY_SET_CHANNEL } from './diagnostics.js'
export type { KeySetEvent } from './diagnostics.js'

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
