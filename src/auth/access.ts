import { requireByCallerType } from 'fastify-entra-id'
import type { EntraHook } from 'fastify-entra-id'

/**
 * A route for users with delegated `scope`, or applications with the app role `role`. Delegated tokens must carry
 * the scope and app-only tokens the role (Microsoft's "Protected web API: verify scopes and app roles"), so an
 * app role assigned to a user never grants an application's reach over every user's data.
 *
 * The OpenAPI document says so by itself: fastify-entra-id/openapi reads the guard (see plugins/openapi.ts).
 */
export function userScopeOrAppRole(scope: string, role: string): EntraHook {
  return requireByCallerType({ user: { scopes: scope }, app: { roles: role } })
}
