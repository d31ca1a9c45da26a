import { compileRequirement } from '../core/authorization/requirements.js'
import type { Requirement } from '../core/authorization/requirements.js'
import { blueprintList, callerTypeRule, rolesRule, scopesOrRolesRule, scopesRule } from '../core/authorization/permission-rules.js'
import type { CallerTypeRules, CompiledCaller } from '../core/authorization/permission-rules.js'
import { isGuid } from '../util/guid.js'
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

const ANY: CompiledCaller = Object.freeze({ scopes: undefined, roles: undefined })

/**
 * Requires one thing of each caller type (`EntraIdentity.callerType`): delegated (user) callers, app-only callers,
 * and the agents of Microsoft Entra Agent ID, which by default meet what their token's shape meets. Each entry is
 * a {@link CallerRequirement}, `true` (any verified token of that type) or `false` (refused).
 * - `user`, `app`: left out, that caller type is refused.
 * - `agent`, `agentForUser`, `agentUser`: left out, the agent is a caller like any other of its token's shape:
 *   `agent` (acting on its own, an app-only token) meets `app`; `agentForUser` and `agentUser` (delegated
 *   tokens) meet `user`. So a route written before agents admits them as it did.
 * - `blueprints`: agents (of every type) must come from one of these agent identity blueprints (application IDs,
 *   matched with `xms_par_app_azp`); an agent token without that claim is refused. Users and applications are not
 *   concerned. Microsoft advises against granting access by blueprint alone: it narrows, with roles or scopes.
 *
 * A refused user or application gets 403 `ENTRA_INSUFFICIENT_SCOPE`; a refused agent
 * 403 `ENTRA_AGENT_NOT_ALLOWED`, or `ENTRA_AGENT_BLUEPRINT_REQUIRED` when its blueprint is not among `blueprints`.
 *
 * @example
 * ```ts
 * requireByCallerType({ user: { scopes: 'Todo.Read' }, app: { roles: 'Todo.Read.All' } })
 * // The same, but no agent acting on its own, and agents for users only from one blueprint:
 * requireByCallerType({ user: { scopes: 'Todo.Read' }, app: { roles: 'Todo.Read.All' }, agent: false, blueprints: [blueprintAppId] })
 * // Anyone but agents, composed with a scope guard:
 * [requireScopes('Todo.Write'), requireByCallerType({ user: true, app: true, agent: false, agentForUser: false, agentUser: false })]
 * ```
 * @throws {@link EntraConfigError} when built with a bad requirement, with no caller type, or with `blueprints` that
 *   are not application IDs.
 */
export function requireByCallerType(options: {
  readonly user?: CallerRequirement | boolean
  readonly app?: CallerRequirement | boolean
  readonly agent?: CallerRequirement | boolean
  readonly agentForUser?: CallerRequirement | boolean
  readonly agentUser?: CallerRequirement | boolean
  readonly blueprints?: readonly string[]
}): EntraHook {
  if (options === null || typeof options !== 'object' ||
    [options.user, options.app, options.agent, options.agentForUser, options.agentUser].every((side) => side === undefined)) {
    throw new EntraConfigError('options', 'must have a requirement for at least one caller type: user, app, agent, agentForUser or agentUser')
  }
  const user = compileCaller(options.user, 'user')
  const app = compileCaller(options.app, 'app')
  const rules: CallerTypeRules = {
    user,
    app,
    agent: options.agent === undefined ? app : compileCaller(options.agent, 'agent'),
    agentForUser: options.agentForUser === undefined ? user : compileCaller(options.agentForUser, 'agentForUser'),
    agentUser: options.agentUser === undefined ? user : compileCaller(options.agentUser, 'agentUser')
  }
  const blueprints = compileBlueprints(options.blueprints)
  const conditions = blueprints === null ? [] : [`agents of ${blueprintList(blueprints)}`]
  return makeGuard(callerTypeRule(rules, blueprints), {
    user: pathsOf(rules.user),
    app: pathsOf(rules.app),
    // Described only when the application set them apart: else they pass as their token's shape does.
    ...(options.agent === undefined ? {} : { agent: pathsOf(rules.agent) }),
    ...(options.agentForUser === undefined ? {} : { agentForUser: pathsOf(rules.agentForUser) }),
    ...(options.agentUser === undefined ? {} : { agentUser: pathsOf(rules.agentUser) }),
    conditions
  })
}

function pathsOf(side: CompiledCaller | null): AccessPath[] {
  if (side === null) return []
  return [{ ...(side.scopes === undefined ? {} : { scopes: side.scopes }), ...(side.roles === undefined ? {} : { roles: side.roles }) }]
}

function compileCaller(side: CallerRequirement | boolean | undefined, name: string): CompiledCaller | null {
  if (side === undefined || side === false) return null
  if (side === true) return ANY
  if (side === null || typeof side !== 'object' || (side.scopes === undefined && side.roles === undefined)) {
    throw new EntraConfigError(name, 'must be true, false, or have scopes, roles or both')
  }
  return {
    scopes: side.scopes === undefined ? undefined : compileRequirement(side.scopes, `${name}.scopes`),
    roles: side.roles === undefined ? undefined : compileRequirement(side.roles, `${name}.roles`)
  }
}

function compileBlueprints(blueprints: readonly string[] | undefined): ReadonlySet<string> | null {
  if (blueprints === undefined) return null
  if (!Array.isArray(blueprints) || blueprints.length === 0 || !blueprints.every((b) => isGuid(b))) {
    throw new EntraConfigError('blueprints', 'must be a non-empty array of application IDs (GUIDs) of agent identity blueprints')
  }
  return new Set(blueprints.map((b) => b.toLowerCase()))
}
