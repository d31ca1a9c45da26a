import { AccessDeniedError } from '../core/errors/refusals.js'
import { EntraConfigError } from '../util/config-error.js'
import type { EntraAccessTokenClaims } from '../core/identity/identity.js'
import { makeGuard } from './guard-hook.js'
import type { EntraHook } from './dual-hook.js'
import { compileRequirement, describe, satisfiesList } from '../core/authorization/requirements.js'
import type { Requirement } from '../core/authorization/requirements.js'

// A claim's values are a Requirement, as scopes and roles are: they compare whole and case-sensitively with the
// claim's value (a string) or its entries (an array of strings); a claim of any other type holds nothing.

/** Options of {@link requireClaim} and {@link requireGroups}. */
export interface ClaimGuardOptions {
  /**
   * What to do with app-only callers: `'check'` their claims like a user's, or `'allow'` them through when the
   * claim describes users (`groups`, `wids`, `acct`...) and applications are trusted through their app roles.
   * Default `'check'`.
   */
  readonly appOnly?: 'check' | 'allow'
}

// Claim names: what a JSON member name of a token can reasonably be, and printable in a 403.
const CLAIM_NAME = /^[\x21-\x7e]{1,128}$/
// Values may contain spaces (custom claims), not control characters or quotes (they are named in a 403).
const CLAIM_VALUE = /^[\x20\x21\x23-\x5b\x5d-\x7e\u00a0-\uffff]{1,256}$/

/**
 * Requires values of a claim: `groups` (group object IDs), `wids` (directory role template IDs), or any custom
 * claim, in the style of Auth0's `claimIncludes`. The 403 (`ENTRA_CLAIM_REQUIRED`) names the claim and the values
 * required, never the caller's.
 *
 * For `groups`, a token whose user is in too many groups for Entra to list (over 200 in a JWT: the token then
 * carries `_claim_names.groups` or `hasgroups` instead) cannot be decided from the token: it is refused with
 * `ENTRA_GROUPS_OVERAGE`, which says so. Prefer app roles (`requireRoles`) assigned to groups: they never overflow.
 *
 * @example
 * ```ts
 * app.get('/admin', { onRequest: requireClaim('wids', '62e90394-69f5-4237-9190-012177145e10') }, handler)
 * app.get('/finance', { onRequest: requireClaim('groups', { anyOf: [financeGroupId, auditGroupId] }) }, handler)
 * ```
 * @throws {@link EntraConfigError} when built with a bad claim name, requirement or option.
 */
export function requireClaim(claim: string, requirement: Requirement, options: ClaimGuardOptions = {}): EntraHook {
  if (typeof claim !== 'string' || !CLAIM_NAME.test(claim)) {
    throw new EntraConfigError('claim', 'must be a claim name: 1 to 128 printable ASCII characters without spaces')
  }
  const required = compileRequirement(requirement, 'requirement', checkValue)
  const appOnly = options.appOnly ?? 'check'
  if (appOnly !== 'check' && appOnly !== 'allow') throw new EntraConfigError('appOnly', 'must be "check" or "allow"')
  const needs = `${claim}: ${describe(required)}`
  return makeGuard((identity) => {
    if (appOnly === 'allow' && identity.isAppOnly) return null
    const claims = identity.claims
    if (claim === 'groups' && claims.groups === undefined && hasGroupsOverage(claims)) {
      return new AccessDeniedError('ENTRA_GROUPS_OVERAGE',
        'The user is in too many groups for the token to list them (groups overage), so this API cannot check group membership from the token; ask the API\'s owner to require an app role assigned to the group instead')
    }
    return satisfiesList(valuesOf(claims[claim]), required) ? null : new AccessDeniedError('ENTRA_CLAIM_REQUIRED', `The token lacks the required claim value (${needs})`)
  }, { user: [{}], app: [{}], conditions: [`claim ${needs}${appOnly === 'allow' ? ' (users)' : ''}`] })
}

/**
 * Requires group membership: {@link requireClaim} over `groups`, with its overage rule.
 *
 * @example
 * ```ts
 * app.get('/reports', { onRequest: requireGroups({ anyOf: [financeGroupId, auditGroupId] }) }, handler)
 * ```
 */
export function requireGroups(requirement: Requirement, options: ClaimGuardOptions = {}): EntraHook {
  return requireClaim('groups', requirement, options)
}

/**
 * Requires what a predicate says of the verified claims, in the style of Auth0's `claimCheck`. `description`
 * (what is required, in words) is the 403's `error_description` (`ENTRA_CLAIM_REQUIRED`) and the route's OpenAPI
 * condition; the caller's claims are never echoed. The claims are deeply frozen. The predicate must be
 * synchronous and must not throw: an exception is an application bug and fails the request with a 500.
 *
 * @example
 * ```ts
 * requireClaimCheck((claims) => claims.ctry === 'FR', 'a user located in France (ctry FR)')
 * ```
 * @throws {@link EntraConfigError} when `check` is not a function, or `description` is not 1 to 256 printable
 *   characters without quotes.
 */
export function requireClaimCheck(check: (claims: EntraAccessTokenClaims) => boolean, description: string): EntraHook {
  if (typeof check !== 'function') throw new EntraConfigError('check', 'must be a function of the claims returning true to let the caller through')
  if (typeof description !== 'string' || !CLAIM_VALUE.test(description)) {
    throw new EntraConfigError('description', 'must say what is required: 1 to 256 printable characters without quotes')
  }
  // `=== true`, not truthiness: an async predicate's promise (or any stray object) must never let a caller through.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-boolean-literal-compare
  return makeGuard((identity) => check(identity.claims) === true
    ? null
    : new AccessDeniedError('ENTRA_CLAIM_REQUIRED', `The token does not meet this route's requirement: ${description}`),
  { user: [{}], app: [{}], conditions: [description] })
}

/**
 * Refuses guests (`accountType` `guest`: B2B users of another organization or personal accounts invited into the
 * tenant) with a 403 `ENTRA_GUEST_NOT_ALLOWED`; members and app-only callers pass. For the whole API, the plugin's
 * `allowGuests: false` does the same in `authenticate`. Configure the `acct` optional claim on the app
 * registration for an explicit answer (see `EntraIdentity.accountType`).
 *
 * @example
 * ```ts
 * app.get('/directory', { onRequest: [requireScopes('Directory.Read'), requireMember()] }, handler)
 * ```
 */
export function requireMember(): EntraHook {
  return makeGuard((identity) => identity.accountType === 'guest' ? guestRefusal() : null,
    { user: [{}], app: [{}], conditions: ['no guest accounts'] })
}

/** The refusal of a guest, for {@link requireMember} and the plugin's `allowGuests: false`. */
export function guestRefusal(): AccessDeniedError {
  return new AccessDeniedError('ENTRA_GUEST_NOT_ALLOWED',
    'Guest accounts may not call this API; sign in with an account of the organization')
}

/**
 * Entra's groups overage: past 200 groups in a JWT (6 in an implicit-flow token), the token carries a pointer to
 * Microsoft Graph (`_claim_names.groups`) or `hasgroups: true` instead of the list.
 */
function hasGroupsOverage(claims: EntraAccessTokenClaims): boolean {
  const names = claims._claim_names
  return claims.hasgroups === true ||
    (typeof names === 'object' && names !== null && Object.hasOwn(names, 'groups'))
}

const NO_VALUES: readonly unknown[] = Object.freeze([])

/** A claim's values: its value (a string) or its entries (an array, read in place); a claim of another type holds none. */
function valuesOf(value: unknown): readonly unknown[] {
  if (typeof value === 'string') return [value]
  return Array.isArray(value) ? value : NO_VALUES
}

function checkValue(value: unknown, argument: string): string {
  if (typeof value !== 'string' || !CLAIM_VALUE.test(value)) {
    throw new EntraConfigError(argument, 'values must be 1 to 256 printable characters without quotes')
  }
  return value
}
