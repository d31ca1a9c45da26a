/**
 * Authorization per MCP tool: what `tools/list` shows of each tool's guards, and running them before the tool runs.
 *
 * The specification (revision 2026-07-28) has no field of its own for a tool's permissions (SEP-1880 proposed a
 * `Tool.authorization`; it was not adopted): what a tool requires is extra information about the tool, so it goes
 * in the tool's `_meta`, under a key of this project's own prefix (reverse DNS, "General fields: `_meta`").
 * Clients that know nothing of it ignore it; the 403 challenge stays the normative step-up signal.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { EntraAuthError, InsufficientScopeError } from 'fastify-entra-id'
import type { EntraHook } from 'fastify-entra-id'
import { describeGuard } from 'fastify-entra-id/openapi'
import type { AccessPath } from 'fastify-entra-id/openapi'

/** The `_meta` key of a tool's {@link ToolAuthorization} in `tools/list`. */
export const AUTHORIZATION_META_KEY = 'io.github.fastify-entra-id/authorization'

/** One way through a tool's guards: every scope and every app role listed, all of them required. */
export interface ToolAccessPath {
  /**
   * Delegated scopes, as the client requests them from Entra: the full strings under the MCP server's resource
   * identifier (`https://todo.contoso.com/mcp/Todo.Write`) when it publishes one, as `scopes_supported` and the
   * 403 challenge name them; else the scope's name.
   */
  readonly scopes: readonly string[]
  /** App roles (`roles`), which an administrator grants; no client can ask for them. */
  readonly appRoles: readonly string[]
}

/** What a tool requires of its caller, as `tools/list` shows it in the tool's `_meta`. */
export interface ToolAuthorization {
  /** The ways a user's (delegated) token passes, any one enough. Empty: no user may call the tool. */
  readonly user: readonly ToolAccessPath[]
  /** The ways an application's own (app-only) token passes, any one enough. Empty: no application may. */
  readonly app: readonly ToolAccessPath[]
  /**
   * What the guards require beyond scopes and roles, one phrase each as their 403 names it (`"authentication
   * context c1"`, group membership). Empty when nothing.
   */
  readonly conditions: readonly string[]
}

/**
 * What `guards` require together (each must pass), from the plugin's own description of each guard
 * (`describeGuard`): per caller type, every combination of one way through each guard. `qualify` writes a
 * scope's name as the client requests it. Throws a `TypeError` for a hook that is not one of the plugin's guards:
 * a tool whose requirement cannot be shown is a mistake to find at start-up.
 */
export function toolAuthorization(guards: readonly EntraHook[], qualify: (scope: string) => string): ToolAuthorization {
  let user: ToolAccessPath[] = [{ scopes: [], appRoles: [] }]
  let app: ToolAccessPath[] = [{ scopes: [], appRoles: [] }]
  const conditions: string[] = []
  for (const guard of guards) {
    const description = describeGuard(guard)
    if (description === undefined) throw new TypeError('every guard of a tool must be one of fastify-entra-id\'s guards, so tools/list can show it')
    user = product(user, pathsOf(description.user, qualify))
    app = product(app, pathsOf(description.app, qualify))
    for (const condition of description.conditions) if (!conditions.includes(condition)) conditions.push(condition)
  }
  return { user, app, conditions }
}

// anyOf: each value is a way of its own; allOf: one way with every value.
function pathsOf(paths: readonly AccessPath[], qualify: (scope: string) => string): ToolAccessPath[] {
  const sets = (requirement: AccessPath['scopes']): string[][] => requirement === undefined
    ? [[]]
    : requirement.match === 'anyOf' ? requirement.values.map((v) => [v]) : [[...requirement.values]]
  return paths.flatMap((path) => sets(path.scopes).flatMap((scopes) =>
    sets(path.roles).map((appRoles) => ({ scopes: scopes.map(qualify), appRoles }))))
}

function product(left: readonly ToolAccessPath[], right: readonly ToolAccessPath[]): ToolAccessPath[] {
  const joined: ToolAccessPath[] = []
  for (const a of left) {
    for (const b of right) {
      const path = { scopes: [...new Set([...a.scopes, ...b.scopes])], appRoles: [...new Set([...a.appRoles, ...b.appRoles])] }
      if (!joined.some((p) => JSON.stringify(p) === JSON.stringify(path))) joined.push(path)
    }
  }
  return joined
}

/**
 * Runs every one of a tool's guards on an authenticated request, and refuses it once for all of them: when
 * several guards lack scopes, one 403 `insufficient_scope` challenge names every scope the call needs (the
 * authorization specification: "include all scopes required for the current operation in a single challenge",
 * never one scope per round trip). A missing scope is reported before any other refusal (a group, an
 * authentication context), since it is the one a client can act on by itself.
 */
export async function authorizeTool(request: FastifyRequest, reply: FastifyReply, guards: readonly EntraHook[]): Promise<void> {
  const refusals: EntraAuthError[] = []
  for (const guard of guards) {
    try {
      await guard(request, reply)
    } catch (error) {
      if (!(error instanceof EntraAuthError) || error.statusCode !== 403) throw error
      refusals.push(error)
    }
  }
  const [first] = refusals
  if (first === undefined) return
  const scopeRefusals = refusals.filter((refusal) => refusal instanceof InsufficientScopeError)
  if (scopeRefusals.length < 2) throw scopeRefusals[0] ?? first
  const required = [...new Set(scopeRefusals.flatMap((refusal) => refusal.required))]
  throw request.server.entraId.challengeFor(request, new InsufficientScopeError(required,
    scopeRefusals.map((refusal) => refusal.message).join('; ')))
}
