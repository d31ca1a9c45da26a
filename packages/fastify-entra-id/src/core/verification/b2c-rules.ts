import { InvalidTokenError } from '../errors/refusals.js'
import { isGuid } from '../../util/guid.js'
import { checkPermissions, checkPurpose } from './purpose-rules.js'
import { checkTime } from './time-rules.js'
import { shown } from '../errors/shown.js'

/** What the claims of a B2C token are checked against: each policy's issuer (from discovery) and the options. */
export interface B2cClaimContext {
  /** The issuer of each configured policy's discovery document, by lower-case policy name. */
  readonly issuers: ReadonlyMap<string, string>
  readonly audiences: ReadonlySet<string>
  /** Seconds. */
  readonly clockTolerance: number
}

/** B2C's legacy issuer form, `https://{host}/tfp/{tenant ID}/{policy}/v2.0/`. */
export const LEGACY_B2C_ISSUER = /^https?:\/\/[^/]+\/tfp\//i

/**
 * The policy (user flow) a B2C token names: `tfp`, or `acr` for tenants whose user flows emit the older claim
 * ("Token compatibility settings" in Azure AD B2C), lower case; undefined when it names none. Read before the
 * signature is checked, only to choose the key set; nothing is decided on it until the signature verified.
 */
export function policyOf(claims: Readonly<Record<string, unknown>>): string | undefined {
  const named = typeof claims.tfp === 'string' ? claims.tfp : claims.acr
  return typeof named === 'string' && named !== '' ? named.toLowerCase() : undefined
}

/**
 * Azure AD B2C's rules for the claims of an access token whose signature verified, as a pure function of the
 * claims, the context and `now` (milliseconds), in the order of Entra's ({@link checkClaims}): what the token is
 * for, then its policy, its issuer (exactly the policy's, as published: B2C's ends with `/`), the times, the signing
 * key's `issuer` field when there is one, and the permissions. `tid` is optional (B2C emits it only when the user
 * flow is told to), and `ver` is not checked: B2C says `"1.0"` from its v2.0 endpoints.
 *
 * @returns the policy the token was issued by, lower case.
 * @throws {@link InvalidTokenError} naming the first rule broken.
 */
export function checkB2cClaims(claims: Readonly<Record<string, unknown>>, context: B2cClaimContext, now: number, keyIssuer?: string): string {
  const { iss, tid, aud } = claims
  if (typeof iss !== 'string') throw new InvalidTokenError('ENTRA_TOKEN_INVALID_ISSUER', 'The token has no issuer')
  if (tid !== undefined && !isGuid(tid)) throw new InvalidTokenError('ENTRA_TOKEN_INVALID_CLAIMS', 'The token has an invalid tenant ID (tid)')

  checkPurpose(claims, aud, context.audiences)

  const policy = policyOf(claims)
  if (policy === undefined) {
    throw new InvalidTokenError('ENTRA_TOKEN_INVALID_CLAIMS', 'The token names no user flow or policy (tfp or acr)')
  }
  const issuer = context.issuers.get(policy)
  if (issuer === undefined) {
    throw new InvalidTokenError('ENTRA_TOKEN_POLICY_NOT_ALLOWED',
      'The token was issued by a user flow (policy, tfp or acr) this API does not accept: sign in through one of the API\'s user flows',
      { details: { policy, policies: [...context.issuers.keys()] } })
  }
  if (LEGACY_B2C_ISSUER.test(iss)) {
    // As Microsoft.Identity.Web (B2CTfpIssuerNotSupported): the issuer form that names the policy is refused.
    throw new InvalidTokenError('ENTRA_TOKEN_INVALID_ISSUER',
      'The token has B2C\'s legacy issuer (.../tfp/{tenant}/{policy}/v2.0/), which this API does not accept: set the user flow\'s "Issuer (iss) claim" to the https://<domain>/<tenant ID>/v2.0/ form')
  }
  if (iss !== issuer) {
    throw new InvalidTokenError('ENTRA_TOKEN_INVALID_ISSUER', 'The token\'s issuer (iss) is not one this API accepts', { details: { iss: shown(iss), issuers: [issuer] } })
  }
  const timeError = checkTime(claims, context.clockTolerance, now)
  if (timeError !== null) throw timeError
  if (keyIssuer !== undefined && keyIssuer !== iss) {
    throw new InvalidTokenError('ENTRA_TOKEN_INVALID_ISSUER', 'The token\'s issuer does not match its signing key')
  }
  checkPermissions(claims)
  return policy
}
