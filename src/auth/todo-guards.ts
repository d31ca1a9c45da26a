import type { FastifyInstance } from 'fastify'
import { requireAuthContext, requireGroups } from 'fastify-entra-id'
import type { EntraHook } from 'fastify-entra-id'
import { list } from '../../plugins/config.js'

/**
 * The guards of each kind of todo operation, one list each: what the REST routes (routes/todos.ts) run as their
 * `onRequest` hooks and what the MCP tools (src/mcp/todo-tools.ts) declare, so a route and the tool that mirrors it
 * can never ask for different things.
 */
export interface TodoGuards {
  /** Reading: users with the read scope, applications with the read-all app role; `AUTH_REQUIRED_GROUPS` for users. */
  readonly read: readonly EntraHook[]
  /** Creating and changing: the write scope or the write-all app role; `AUTH_REQUIRED_GROUPS` for users. */
  readonly write: readonly EntraHook[]
  /** Deleting: as `write`, and of users the authentication context `AUTH_DELETE_AUTH_CONTEXT` when it is set. */
  readonly delete: readonly EntraHook[]
}

/** The todo guards from the configuration (`app.access`, `AUTH_REQUIRED_GROUPS`, `AUTH_DELETE_AUTH_CONTEXT`). */
export function todoGuards(app: FastifyInstance): TodoGuards {
  const { read, write } = app.access
  const c = app.config
  // AUTH_REQUIRED_GROUPS: only users in one of these groups use the todos; applications go by their app roles.
  const inGroups = c.AUTH_REQUIRED_GROUPS === undefined ? [] : [requireGroups({ anyOf: list(c.AUTH_REQUIRED_GROUPS) }, { appOnly: 'allow' })]
  const writers = [write, ...inGroups]
  // Deleting may need a Conditional Access step-up from users; applications are trusted through their app role, as
  // no user signs in to step up.
  const context = c.AUTH_DELETE_AUTH_CONTEXT
  return Object.freeze({
    read: Object.freeze([read, ...inGroups]),
    write: Object.freeze(writers),
    delete: Object.freeze(context === undefined ? writers : [...writers, requireAuthContext(context, { appOnly: 'allow' })])
  })
}
