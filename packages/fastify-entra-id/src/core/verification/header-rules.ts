import { InvalidTokenError } from '../errors/refusals.js'
import { forGraph } from './purpose-rules.js'

// Header parameters that make a token name its own key. Only the tenant's JWKS is trusted (RFC 8725 §3.10).
const KEY_BEARING_HEADERS = ['jwk', 'jku', 'x5u', 'x5c'] as const

/**
 * The rules of a token's JOSE header, as a pure function: checked before the key is looked up, as they describe
 * only the token (never what the API accepts), and refuse garbage cheaply.
 *
 * @returns the header's key ID (`kid`).
 * @throws {@link InvalidTokenError} `ENTRA_TOKEN_UNSUPPORTED_ALGORITHM`, `ENTRA_TOKEN_UNTRUSTED_KEY`,
 *   `ENTRA_TOKEN_MALFORMED` or `ENTRA_TOKEN_FOR_GRAPH`.
 */
export function checkHeader(header: Readonly<Record<string, unknown>>): string {
  // Entra signs access tokens with RS256 only; refusing others first rules out "none" and HMAC-with-public-key.
  if (header.alg !== 'RS256') {
    throw new InvalidTokenError('ENTRA_TOKEN_UNSUPPORTED_ALGORITHM', 'The token must be signed with RS256')
  }
  for (const name of KEY_BEARING_HEADERS) {
    if (name in header) throw new InvalidTokenError('ENTRA_TOKEN_UNTRUSTED_KEY', 'The token names a signing key the API does not trust')
  }
  // RFC 7515 §4.1.11: extensions we do not implement must be refused, and b64=false (RFC 7797) changes what
  // is signed. Entra uses neither.
  if ('crit' in header || 'b64' in header) {
    throw new InvalidTokenError('ENTRA_TOKEN_MALFORMED', 'The token uses an unsupported header extension (crit)')
  }
  // Microsoft Graph's tokens carry a `nonce` in their header, which Graph replaces with its SHA-256 before it
  // checks the signature (the signed header held the hash), so no plain RS256 check verifies one. Refused from
  // the header alone, before any key lookup; a `nonce` on any other token is refused just as cheaply.
  if ('nonce' in header) throw forGraph()
  const kid = header.kid
  if (typeof kid !== 'string' || kid === '') {
    throw new InvalidTokenError('ENTRA_TOKEN_MALFORMED', 'The token header has no key ID (kid)')
  }
  return kid
}

/** `ENTRA_TOKEN_MALFORMED` for a token that is not a compact JWS at all (not a string, too long, undecodable). */
export function malformed(): InvalidTokenError {
  return new InvalidTokenError('ENTRA_TOKEN_MALFORMED', 'The token is not a valid JWT')
}
