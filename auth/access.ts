import { requireByCallerType } from 'fastify-entra-id'
import type { EntraGuard } from 'fastify-entra-id'
import type { FastifyReply, FastifyRequest } from 'fastify'

/** One OpenAPI security requirement: scheme name to scopes. */
export type SecurityRequirement = Readonly<Record<string, readonly string[]>>

/** Who may call a route, said once: the guard that enforces it and the OpenAPI text that documents it. */
export interface RouteAccess {
  /** A `preHandler` (or `onRequest`) hook that authenticates and authorizes. */
  readonly guard: EntraGuard | ((request: FastifyRequest, reply: FastifyReply) => Promise<void>)
  /** The route's OpenAPI `security`: alternatives, any one of which is enough. */
  readonly security: readonly SecurityRequirement[]
  /** A sentence for the route's OpenAPI description. */
  readonly description: string
}

/** The names of the OpenAPI security schemes (see plugins/openapi.ts). */
export const SCHEMES = {
  /** Users signing in with Entra (authorization code with PKCE), granted delegated scopes. */
  user: 'entraUser',
  /**
   * Any bearer token pasted by hand: one printed in development mode, or an application's own token
   * (client credentials, which a browser cannot redeem at Entra, so no scheme of its own).
   */
  bearer: 'bearerToken'
} as const

/** Where scopes are requested: `api://<clientId>/<scope>`. */
export interface AccessContext {
  readonly apiUri: string
  /** True in development mode: no Entra sign-in, only pasted tokens. */
  readonly development: boolean
}

/**
 * A route for users with delegated `scope`, or applications with the app role `role`. Delegated tokens must carry
 * the scope and app-only tokens the role (Microsoft's "Protected web API: verify scopes and app roles"), so an
 * app role assigned to a user never grants an application's reach over every user's data.
 */
export function userScopeOrAppRole(context: AccessContext, scope: string, role: string): RouteAccess {
  return {
    guard: requireByCallerType({ user: { scopes: scope }, app: { roles: role } }),
    security: security(context, [`${context.apiUri}/${scope}`]),
    description: `Users need the delegated scope \`${scope}\`; applications calling as themselves need the app role \`${role}\`.`
  }
}

/** A route for any valid access token of the API. */
export function anyToken(context: AccessContext, authenticate: RouteAccess['guard']): RouteAccess {
  return {
    guard: authenticate,
    security: security(context, []),
    description: 'Any valid access token for this API.'
  }
}

function security(context: AccessContext, userScopes: readonly string[]): SecurityRequirement[] {
  if (context.development) return [{ [SCHEMES.bearer]: [] }]
  return [{ [SCHEMES.user]: userScopes }, { [SCHEMES.bearer]: [] }]
}
