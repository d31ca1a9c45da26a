/**
 * fastify-entra-id: protect a Fastify 5 API with Microsoft Entra ID (Azure AD) bearer access tokens.
 *
 * @packageDocumentation
 */
import { fastifyEntraId } from './plugin.js'

export { fastifyEntraId }
export default fastifyEntraId
export type { EntraIdDecorator, EntraIdPluginOptions } from './plugin.js'
export type { EntraHook } from './hook.js'
export type { EntraIdOptions, LoadAttempt, LoadSuccess, TokenVersion } from './options.js'
export { DiscoveryError } from './discovery.js'
export type { DiscoveryErrorCode, DiscoveryErrorOptions, DiscoveryOption, ProviderError } from './discovery.js'
export type { TokenCacheOptions } from './token-cache.js'
export type { EntraAccessTokenClaims, EntraIdentity } from './identity.js'
export { EntraTokenVerifier } from './verifier.js'
export { requireScopes, requireRoles, requireScopesOrRoles, requireByCallerType } from './guards.js'
export type { CallerRequirement, EntraGuard } from './guards.js'
export type { Requirement } from './authorization.js'
export { readBearerToken } from './bearer.js'
export type { BearerSource } from './bearer.js'
export {
  EntraAuthError,
  MissingTokenError,
  InvalidRequestError,
  InvalidTokenError,
  InsufficientScopeError,
  KeysUnavailableError,
  EntraConfigError
} from './errors.js'
export { bearerChallenge } from './challenge.js'
export type { BearerErrorCode, EntraAuthErrorCode, EntraAuthErrorOptions, InvalidTokenCode } from './errors.js'
export { requestSerializer, redactUrl, redactedQueryParams, authorizationRedactPaths } from './log.js'
export type { SerializableRequest } from './log.js'
