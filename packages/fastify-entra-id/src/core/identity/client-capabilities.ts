import type { EntraIdentity } from './identity.js'

/**
 * True when the calling application declared the `cp1` client capability (`xms_cc`, a string or an array, any
 * case): it can handle claims challenges. Entra sends `xms_cc` only to an API whose app registration requests that
 * optional claim (manifest: `optionalClaims.accessToken: [{ "name": "xms_cc" }]`); without it, this is always false.
 */
export function canHandleClaimsChallenges(identity: EntraIdentity): boolean {
  const cc = identity.claims.xms_cc
  if (typeof cc === 'string') return cc.toLowerCase() === 'cp1'
  return Array.isArray(cc) && cc.some((c) => typeof c === 'string' && c.toLowerCase() === 'cp1')
}
