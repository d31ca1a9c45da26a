/**
 * fastify-entra-id: protect a Fastify 5 API with Microsoft Entra ID (Azure AD) bearer access tokens. The root
 * entry is what a Fastify application needs: the plugin, the guards, the accessor of the verified caller, and the
 * errors it may catch or throw, with their codes. The verifier on its own, without Fastify, is
 * `fastify-entra-id/core`; OpenAPI documentation is `fastify-entra-id/openapi`; logging helpers,
 * `fastify-entra-id/log`; calls on the caller's behalf, `fastify-entra-id/downstream`; a local issuer for tests,
 * `fastify-entra-id/testing`.
 *
 * @packageDocumentation
 */
import { fastifyEntraId } from './fastify/plugin.js'

// The plugin and what it adds to Fastify.
export { fastifyEntraId }
export default fastifyEntraId
export type { EntraIdDecorator, EntraIdPluginOptions } from './fastify/decorator.js'
export type { EntraHook } from './fastify/dual-hook.js'
export type { EntraIdentity } from './core/identity/identity.js'

// Guards: route hooks that authenticate and decide what the caller may do.
export { requireScopes, requireRoles, requireScopesOrRoles, requireByCallerType } from './fastify/guards.js'
export type { CallerRequirement } from './fastify/guards.js'
export { requireAuthContext } from './fastify/auth-context.js'
export type { AuthContextOptions } from './fastify/auth-context.js'
export { requireClaim, requireGroups, requireClaimCheck, requireMember } from './fastify/claim-guards.js'
export type { ClaimGuardOptions } from './fastify/claim-guards.js'
export type { Requirement } from './core/authorization/requirements.js'

// The accessor of the verified caller, for handlers.
export { identityOf } from './fastify/identity-of.js'

// Errors: refusals by stable code (the other refusal classes are in fastify-entra-id/core).
export { EntraAuthError } from './core/errors/auth-error.js'
export { InsufficientScopeError } from './core/errors/refusals.js'
export { EntraConfigError } from './util/config-error.js'
export { EntraUsageError } from './core/errors/usage-error.js'
export type { EntraAuthErrorCode } from './core/errors/codes.js'
