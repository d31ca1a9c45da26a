import { InvalidTokenError } from '../errors/refusals.js'
import { FACET_CLAIMS, isFacetList } from '../identity/agent-claims.js'
import { isGuid } from '../../util/guid.js'

/**
 * The Entra Agent ID claims, when a token carries them, in the form Microsoft Learn documents ("Token claims
 * reference for agents"): each facet claim (`xms_act_fct`, `xms_sub_fct`, `xms_tnt_fct`, `xms_idrel`) a string of
 * space-separated numbers, `xms_par_app_azp` an application ID (a GUID). Values are not checked against the
 * documented ones: unknown values are kept, as Microsoft asks.
 *
 * A malformed one (a number, an array, an empty or oversized string, other text) refuses the token, as a `scp`
 * that is not a string does: these claims say whether the caller is an agent, so a token whose claims cannot be
 * read cannot be classified, and taking it for a user or an application would let an agent through a route that
 * refuses agents. Entra signs them as documented; only a token issued otherwise fails here.
 *
 * @throws {@link InvalidTokenError} `ENTRA_TOKEN_INVALID_CLAIMS`, naming the claim.
 */
export function checkAgentClaims(claims: Readonly<Record<string, unknown>>): void {
  for (const name of FACET_CLAIMS) {
    const value = claims[name]
    if (value !== undefined && !isFacetList(value)) {
      throw new InvalidTokenError('ENTRA_TOKEN_INVALID_CLAIMS', `The token's ${name} claim is not a list of space-separated numbers`)
    }
  }
  const parent = claims.xms_par_app_azp
  if (parent !== undefined && !isGuid(parent)) {
    throw new InvalidTokenError('ENTRA_TOKEN_INVALID_CLAIMS', 'The token\'s xms_par_app_azp claim is not an application ID')
  }
}
