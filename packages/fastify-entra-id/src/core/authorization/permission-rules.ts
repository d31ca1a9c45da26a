import { describe, satisfies } from './requirements.js'
import type { CompiledRequirement } from './requirements.js'
import { AccessDeniedError, InsufficientScopeError } from '../errors/refusals.js'
import type { CallerType, EntraIdentity } from '../identity/identity.js'

// What a verified caller may do, by its delegated scopes (`scp`) and app roles (`roles`), as pure rules: each is
// made once (at route definition) and then decides each request with no allocation but its refusal. The Fastify
// guards run them; a framework-free server can too.

/** A decision on a verified caller: `null` lets it through, an error (403 `insufficient_scope`) refuses it. */
export type PermissionRule = (identity: EntraIdentity) => InsufficientScopeError | AccessDeniedError | null

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

/**
 * What each caller type must hold, every type named: `null` refuses it. An agent type's entry is its own or, left
 * out by the application, that of the token's shape (`agent` as `app`, the other two as `user`), resolved when
 * the guard was built.
 */
export type CallerTypeRules = Readonly<Record<CallerType, CompiledCaller | null>>

// How a refusal names a caller type that the route does not accept.
const REFUSED: Readonly<Record<CallerType, string>> = {
  user: 'This route does not accept delegated (user) tokens',
  app: 'This route does not accept app-only tokens',
  agent: 'This route does not accept agents acting on their own',
  agentForUser: 'This route does not accept agents acting for a user',
  agentUser: 'This route does not accept agents\' user accounts'
}

/**
 * Requires of each caller type its own permissions ({@link CallerTypeRules}); of agents, when `blueprints` (lower
 * case application IDs) is given, a blueprint (`xms_par_app_azp`) among them. The refusals name what the route
 * requires, never what the caller holds.
 */
export function callerTypeRule(rules: CallerTypeRules, blueprints: ReadonlySet<string> | null = null): PermissionRule {
  const blueprintRefusal = blueprints === null ? '' : `This route accepts agents of ${blueprintList(blueprints)} only`
  return (identity) => {
    const type = identity.callerType
    const side = rules[type]
    if (side === null) {
      return type === 'user' || type === 'app'
        ? forbidden([], REFUSED[type])
        : new AccessDeniedError('ENTRA_AGENT_NOT_ALLOWED', REFUSED[type])
    }
    if (blueprints !== null && identity.agent !== null) {
      const blueprint = identity.agent.blueprintAppId
      if (blueprint === null || !blueprints.has(blueprint.toLowerCase())) {
        return new AccessDeniedError('ENTRA_AGENT_BLUEPRINT_REQUIRED', blueprintRefusal)
      }
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

/** "the blueprint X" or "one of the blueprints X, Y", for a refusal and a route's description. */
export function blueprintList(blueprints: ReadonlySet<string>): string {
  const list = [...blueprints]
  return list.length === 1 ? `the blueprint ${list.join('')}` : `one of the blueprints ${list.join(', ')}`
}

function forbidden(required: readonly string[], description: string): InsufficientScopeError {
  return new InsufficientScopeError(required, description)
}
