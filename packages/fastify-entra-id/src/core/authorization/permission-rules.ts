import { describe, satisfies } from './requirements.js'
import type { CompiledRequirement } from './requirements.js'
import { InsufficientScopeError } from '../errors/refusals.js'
import type { EntraIdentity } from '../identity/identity.js'

// What a verified caller may do, by its delegated scopes (`scp`) and app roles (`roles`), as pure rules: each is
// made once (at route definition) and then decides each request with no allocation but its refusal. The Fastify
// guards run them; a framework-free server can too.

/** A decision on a verified caller: `null` lets it through, an error (403 `insufficient_scope`) refuses it. */
export type PermissionRule = (identity: EntraIdentity) => InsufficientScopeError | null

/** Scopes and roles one caller type must hold; both, when given. */
export interface CompiledCaller {
  readonly scopes: CompiledRequirement | undefined
  readonly roles: CompiledRequirement | undefined
}

/** Requires delegated scopes. */
export function scopesRule(required: CompiledRequirement): PermissionRule {
  return (identity) => satisfies(identity.scopes, required)
    ? null
    : forbidden(required.values, `The token lacks the required scope: ${describe(required)}`)
}

/** Requires app roles (of a user or of an application). */
export function rolesRule(required: CompiledRequirement): PermissionRule {
  return (identity) => satisfies(identity.roles, required)
    ? null
    : forbidden(required.values, `The token lacks the required app role: ${describe(required)}`)
}

/** Requires the scopes or the roles. */
export function scopesOrRolesRule(scopes: CompiledRequirement, roles: CompiledRequirement): PermissionRule {
  return (identity) => satisfies(identity.scopes, scopes) || satisfies(identity.roles, roles)
    ? null
    : forbidden([...scopes.values, ...roles.values],
      `The token lacks the required scope (${describe(scopes)}) or app role (${describe(roles)})`)
}

/** Requires of each caller type its own permissions; a type given none (`null`) is refused. */
export function callerTypeRule(user: CompiledCaller | null, app: CompiledCaller | null): PermissionRule {
  return (identity) => {
    const side = identity.isAppOnly ? app : user
    if (side === null) {
      return forbidden([], identity.isAppOnly
        ? 'This route does not accept app-only tokens'
        : 'This route does not accept delegated (user) tokens')
    }
    if (side.scopes !== undefined && !satisfies(identity.scopes, side.scopes)) {
      return forbidden(side.scopes.values, `The token lacks the required scope: ${describe(side.scopes)}`)
    }
    if (side.roles !== undefined && !satisfies(identity.roles, side.roles)) {
      return forbidden(side.roles.values, `The token lacks the required app role: ${describe(side.roles)}`)
    }
    return null
  }
}

function forbidden(required: readonly string[], description: string): InsufficientScopeError {
  return new InsufficientScopeError(required, description)
}
