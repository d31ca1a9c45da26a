/**
 * Whether the caller belongs to the token's tenant: `acct` when the token carries it, else whether the identity
 * provider (`idp`) is the tenant itself.
 */
export function accountTypeOf(claims: Readonly<{ acct?: unknown, idp?: unknown, iss?: unknown, tid: string }>): 'member' | 'guest' {
  if (claims.acct === 1) return 'guest'
  if (claims.acct === 0) return 'member'
  const { idp, iss, tid } = claims
  if (typeof idp !== 'string' || idp === iss) return 'member'
  // v2 tokens of members may name the tenant's v1 issuer as idp: still the home tenant.
  return idp === `https://sts.windows.net/${tid}/` || idp === `https://login.microsoftonline.com/${tid}/v2.0` ? 'member' : 'guest'
}
