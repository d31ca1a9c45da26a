import { FACETS, facetValues } from './agent-claims.js'

/**
 * Who is calling, one word: see `EntraIdentity.callerType`.
 * - `user`: a user, through an application (a delegated token).
 * - `app`: an application, as itself (an app-only token).
 * - `agent`: an agent identity (Microsoft Entra Agent ID) acting alone, as itself (an app-only token).
 * - `agentForUser`: an agent identity acting for a signed-in user (a delegated token).
 * - `agentUser`: an agent identity acting through its own user account, an "agent user" (a delegated token).
 */
export type CallerType = 'user' | 'app' | 'agent' | 'agentForUser' | 'agentUser'

/** See `EntraIdentity.callerType`. Tokens without facet claims (all but agents') take the first branch. */
export function callerTypeOf(claims: Readonly<Record<string, unknown>>, isAppOnly: boolean): CallerType {
  if (claims.xms_act_fct === undefined && claims.xms_sub_fct === undefined) return isAppOnly ? 'app' : 'user'
  const subject = facetValues(claims.xms_sub_fct)
  if (subject.includes(FACETS.agentUser)) return 'agentUser'
  if (subject.includes(FACETS.agentIdentity) || facetValues(claims.xms_act_fct).includes(FACETS.agentIdentity)) {
    return isAppOnly ? 'agent' : 'agentForUser'
  }
  return isAppOnly ? 'app' : 'user'
}
