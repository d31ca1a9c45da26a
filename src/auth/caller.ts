import type { FastifyRequest } from 'fastify'
import { identityOf } from 'fastify-entra-id'
import { HttpError } from '../http/http-errors.js'
import type { Owner, OwnerFilter } from '../store/store.js'

/** The verified caller of a todo route or MCP tool, as the store sees it. */
export interface Caller {
  /** The caller as an owner of todos. */
  readonly owner: Owner
  /** True for an application holding the app role that reaches every todo (the route's guard checked it). */
  readonly all: boolean
  /** What the caller may see: their own todos, or every todo. */
  readonly filter: OwnerFilter
}

/**
 * The verified caller of a todo route or tool: a user owns their todos by tenant and object ID; an application
 * reaches every todo. The guard has already required, of an app-only token, the "all" app role, and of a
 * delegated token, the scope: so an app-only caller here reaches every todo. Throws 403 `TODO_NO_OWNER` for a
 * token without `oid`.
 */
export function callerOf(request: FastifyRequest): Caller {
  const identity = identityOf(request)
  if (identity.objectId === null) {
    // Entra puts `oid` in every access token; a token without it cannot own anything.
    throw new HttpError(403, 'TODO_NO_OWNER', 'The access token has no oid claim, so it cannot own todos')
  }
  const owner = { tenantId: identity.tenantId.toLowerCase(), objectId: identity.objectId.toLowerCase() }
  return identity.isAppOnly ? { owner, all: true, filter: {} } : { owner, all: false, filter: owner }
}
