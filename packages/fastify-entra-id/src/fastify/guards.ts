import { compileRequirement } from '../core/authorization/requirements.js'
import type { Requirement } from '../core/authorization/requirements.js'
import { callerTypeRule, rolesRule, scopesOrRolesRule, scopesRule } from '../core/authorization/permission-rules.js'
import type { CompiledCaller } from '../core/authorization/permission-rules.js'
import { EntraConfigError } from '../util/config-error.js'
import { makeGuard } from './guard-hook.js'
import type { EntraHook } from './dual-hook.js'
import type { AccessPath } from '../core/authorization/guard-description.js'


/** What {@link requireByCallerType} asks of one caller type. Both parts, when given, must hold. */
export interface CallerRequirement {
  /** Delegated scopes, read from `scp`. */
  readonly scopes?: Requirement
  /** App roles, read from `roles`. */
  readonly roles?: Requirement
}

/**
 * Requires delegated scopes (`scp`). App-only tokens carry no `scp`, so they never pass.
 *
 * @example
 * ```ts
 * app.get('/todos', { preHandler: requireScopes('Todo.Read') }, handler)
 * app.post('/todos', { preHandler: requireScopes({ allOf: ['Todo.Read', 'Todo.Write'] }) }, handler)
 * ```
 * @throws {@link EntraConfigError} when built with a bad requirement.
 */
export function requireScopes(scopes: Requirement): EntraHook {
  const required = compileRequirement(scopes, 'scopes')
  return makeGuard(scopesRule(required), { user: [{ scopes: required }], app: [] })
}

/**
 * Requires app roles (`roles`): application permissions of an app-only caller, or roles assigned to a user.
 *
 * @example
 * ```ts
 * app.delete('/todos', { preHandler: requireRoles('Todo.Write.All') }, handler)
 * ```
 * @throws {@link EntraConfigError} when built with a bad requirement.
 */
export function requireRoles(roles: Requirement): EntraHook {
  const required = compileRequirement(roles, 'roles')
  return makeGuard(rolesRule(required), { user: [{ roles: required }], app: [{ roles: required }] })
}

/**
 * Requires the scopes or the app roles: either one satisfies the route, whatever the caller type
 * (Microsoft.Identity.Web's `RequiredScopeOrAppPermission`).
 *
 * @example
 * ```ts
 * app.get('/todos', { preHandler: requireScopesOrRoles({ scopes: 'Todo.Read', roles: 'Todo.Read.All' }) }, handler)
 * ```
 * @throws {@link EntraConfigError} when built with a bad requirement or without both parts.
 */
export function requireScopesOrRoles(options: { readonly scopes: Requirement, readonly roles: Requirement }): EntraHook {
  if (options === null || typeof options !== 'object') throw new EntraConfigError('options', 'must be { scopes, roles }')
  const scopes = compileRequirement(options.scopes, 'scopes')
  const roles = compileRequirement(options.roles, 'roles')
  // App-only tokens carry no scp: only their roles can pass.
  return makeGuard(scopesOrRolesRule(scopes, roles), { user: [{ scopes }, { roles }], app: [{ roles }] })
}

/**
 * Requires one thing of delegated (user) callers and another of app-only callers, told apart by
 * {@link EntraIdentity.isAppOnly}. A caller type left out is refused.
 *
 * @example
 * ```ts
 * requireByCallerType({ user: { scopes: 'Todo.Read' }, app: { roles: 'Todo.Read.All' } })
 * ```
 * @throws {@link EntraConfigError} when built with a bad requirement, or with neither `user` nor `app`.
 */
export function requireByCallerType(options: { readonly user?: CallerRequirement, readonly app?: CallerRequirement }): EntraHook {
  if (options === null || typeof options !== 'object' || (options.user === undefined && options.app === undefined)) {
    throw new EntraConfigError('options', 'must have a "user" or an "app" requirement (or both)')
  }
  const user = compileCaller(options.user, 'user')
  const app = compileCaller(options.app, 'app')
  return makeGuard(callerTypeRule(user, app), { user: pathsOf(user), app: pathsOf(app) })
}

function pathsOf(side: CompiledCaller | null): AccessPath[] {
  if (side === null) return []
  return [{ ...(side.scopes === undefined ? {} : { scopes: side.scopes }), ...(side.roles === undefined ? {} : { roles: side.roles }) }]
}

function compileCaller(side: CallerRequirement | undefined, name: string): CompiledCaller | null {
  if (side === undefined) return null
  if (side === null || typeof side !== 'object' || (side.scopes === undefined && side.roles === undefined)) {
    throw new EntraConfigError(name, 'must have scopes, roles or both')
  }
  return {
    scopes: side.scopes === undefined ? undefined : compileRequirement(side.scopes, `${name}.scopes`),
    roles: side.roles === undefined ? undefined : compileRequirement(side.roles, `${name}.roles`)
  }
}
