// The claims Microsoft Entra Agent ID adds to access tokens, read as Microsoft Learn documents them ("Token claims
// reference for agents", "Tokens in Microsoft agent identity platform"): the facet claims `xms_act_fct` (the actor,
// `azp`/`appid`), `xms_sub_fct` (the subject, `sub`/`oid`) and `xms_tnt_fct` (the tenant), the relationship claim
// `xms_idrel`, each a string of space-separated numbers in any order, and `xms_par_app_azp`, the actor's parent
// application (the agent identity blueprint). Pure functions of the claims: a cached identity, rebuilt from its
// claims, reads them the same way.

/**
 * The facet values the agent claims reference documents, by name. Any other value a token carries (real tokens
 * carry `1`, `2`, `3`, `9`...) is kept as a number and given no meaning.
 */
export const FACETS = Object.freeze({
  /** The entity is an agent identity. */
  agentIdentity: 11,
  /** The entity is an agent's user account (an "agent user"). */
  agentUser: 13,
  /** The entity is an agentic app builder platform. */
  agenticAppBuilder: 15,
  /** The entity is a service principal required by an app-only client. */
  servicePrincipalRequiredByAppOnlyClient: 17
})

/** The claims that hold facet numbers, the order {@link EntraFacets} lists them in. */
export const FACET_CLAIMS = ['xms_act_fct', 'xms_sub_fct', 'xms_tnt_fct', 'xms_idrel'] as const

/**
 * The facet claims of a token, as numbers in the token's order, unknown values included; an empty list when the
 * token does not carry the claim. Documented values: `11` an agent identity, `13` an agent user, `15` an agentic
 * app builder platform, `17` a service principal an app-only client requires (and, for `identityRelationship`,
 * the `xms_idrel` table: `1` member user, `5` guest user, `7` service principal...).
 */
export interface EntraFacets {
  /** `xms_act_fct`: facts about the actor, the application named by `azp` (v2) or `appid` (v1). */
  readonly actor: readonly number[]
  /** `xms_sub_fct`: facts about the subject (`sub`, `oid`). */
  readonly subject: readonly number[]
  /** `xms_tnt_fct`: facts about the tenant (`tid`). */
  readonly tenant: readonly number[]
  /** `xms_idrel`: the subject's relationship with the resource tenant. */
  readonly identityRelationship: readonly number[]
}

/**
 * The agent behind a token of Microsoft Entra Agent ID: see {@link EntraIdentity.agent}.
 */
export interface EntraAgent {
  /** The agent identity's application (client) ID: the token's actor, `azp` (v2) or `appid` (v1). */
  readonly appId: string | null
  /**
   * The agent identity blueprint's application ID (`xms_par_app_azp`, the actor's parent application), or `null`
   * when the token does not carry it. Log it for audit, as Entra's sign-in logs do; Microsoft advises against
   * granting access by blueprint alone, which would let every agent of the blueprint in.
   */
  readonly blueprintAppId: string | null
}

// Up to 32 numbers of up to 9 digits, separated (and possibly surrounded) by spaces. Entra's lists hold a handful
// of small odd numbers; the bound keeps a signed but absurd claim from costing more than a short scan.
const MAX_FACET_LENGTH = 320
const FACET_LIST = /^ *\d{1,9}(?: +\d{1,9}){0,31} *$/

/** True when `value` is a facet list as Entra writes one: a non-empty string of space-separated numbers. */
export function isFacetList(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_FACET_LENGTH && FACET_LIST.test(value)
}

const NONE: readonly number[] = Object.freeze([])

/** The numbers of a facet list, frozen; none for anything that is not one (see {@link isFacetList}). */
export function facetValues(value: unknown): readonly number[] {
  if (!isFacetList(value)) return NONE
  return Object.freeze(value.split(' ').filter((part) => part !== '').map(Number))
}
