// The `revocation` option: the application's own deny-list, asked about each verified token (its types, with their
// documentation, and their check for resolve-options.ts).

import { EntraConfigError } from '../../util/config-error.js'
import { duration, positiveInteger } from '../../util/option-checks.js'

/**
 * What a {@link RevocationCheck} is told of a verified token: the identifiers an application revokes by, never the
 * token itself (a deny-list needs no bearer credential, and a log of the check's arguments must not hold one).
 * A claim the token does not carry is `null`.
 */
export interface RevocationFacts {
  /** The caller's object ID (`oid`): a user or a service principal, in its tenant. */
  readonly oid: string | null
  /** The token's subject (`sub`): the caller as this application sees it. */
  readonly sub: string | null
  /** Entra's unique token identifier (`uti`): one token, to refuse a leaked one. */
  readonly uti: string | null
  /** The sign-in session (`sid`), when the client asked for it. */
  readonly sid: string | null
  /** The tenant (`tid`). */
  readonly tid: string | null
  /** The client application: `azp` (v2 tokens) or `appid` (v1). */
  readonly clientId: string | null
}

/**
 * Whether a verified token is revoked: `true` refuses it (401 `invalid_token`, `ENTRA_TOKEN_REVOKED`), `false`
 * lets it through; or a promise of one (a database lookup). A thrown error, a rejection, a timeout or any other
 * answer is a failed check: 503 with `Retry-After` (`ENTRA_REVOCATION_CHECK_FAILED`) unless
 * {@link RevocationOptions.failOpen}, and never cached.
 */
export type RevocationCheck = (facts: RevocationFacts) => boolean | Promise<boolean>

/** Options of {@link EntraIdOptions.revocation}. */
export interface RevocationOptions {
  /** The check. Required. */
  isRevoked: RevocationCheck
  /**
   * How long one answer (revoked or not) is kept, in milliseconds: the bound within which a revocation takes
   * effect, for new tokens and tokens already in the token cache alike. Default 30000 (30 seconds). 0 asks on
   * every request.
   */
  maxAge?: number | undefined
  /** Most answers kept; the oldest goes first. Default 10000. */
  maxEntries?: number | undefined
  /** How long one check may take before it counts as failed, in milliseconds. Default 2000. */
  timeoutDuration?: number | undefined
  /**
   * `true` accepts a token whose check failed (threw, rejected, timed out), as if not revoked: availability over
   * revocation while the deny-list is down. Default `false`: a failed check is a 503.
   */
  failOpen?: boolean | undefined
}

/** The `revocation` option after validation, every default applied. */
export interface ResolvedRevocation {
  readonly isRevoked: RevocationCheck
  readonly maxAge: number
  readonly maxEntries: number
  readonly timeoutDuration: number
  readonly failOpen: boolean
}

/** Checks the `revocation` option; null when it is not given. Throws {@link EntraConfigError} naming a bad one. */
export function resolveRevocation(revocation: RevocationOptions | undefined): ResolvedRevocation | null {
  if (revocation === undefined) return null
  if (revocation === null || typeof revocation !== 'object' || typeof revocation.isRevoked !== 'function') {
    throw new EntraConfigError('revocation', 'must be an object { isRevoked(facts) => boolean | Promise<boolean>, maxAge?, maxEntries?, timeoutDuration?, failOpen? }')
  }
  const failOpen = revocation.failOpen ?? false
  if (typeof failOpen !== 'boolean') throw new EntraConfigError('revocation.failOpen', 'must be true or false')
  return {
    isRevoked: revocation.isRevoked,
    maxAge: duration(revocation.maxAge, 30_000, 'revocation.maxAge'),
    maxEntries: positiveInteger(revocation.maxEntries, 10_000, 'revocation.maxEntries'),
    timeoutDuration: positiveInteger(revocation.timeoutDuration, 2000, 'revocation.timeoutDuration'),
    failOpen
  }
}
