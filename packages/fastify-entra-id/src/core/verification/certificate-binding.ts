// Certificate-bound access tokens (RFC 8705 §3): a token whose `cnf` claim carries `x5t#S256` is valid only when
// presented over a connection authenticated with that certificate. Framework-free: the adapter finds the
// certificate (the TLS connection's, or a trusted proxy's forwarded header); this file only compares.

import { createHash } from 'node:crypto'
import { InvalidTokenError } from '../errors/refusals.js'

import type { CertificateBindingMode } from '../options/certificate-binding-options.js'

export type { CertificateBindingMode } from '../options/certificate-binding-options.js'

/** The modes of {@link CertificateBindingMode}, for option checks. */
export const CERTIFICATE_BINDING_MODES: readonly CertificateBindingMode[] = ['ignored', 'checked', 'required']

// RFC 8705 §3.1: the base64url SHA-256 of the DER certificate, without padding: 43 characters.
const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/

/**
 * The certificate thumbprint RFC 8705 §3.1 binds a token to (`cnf.x5t#S256`): the base64url-encoded SHA-256 of the
 * certificate's DER encoding, without padding.
 */
export function certificateThumbprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('base64url')
}

/**
 * The `x5t#S256` thumbprint a token's claims bind it to, or `null` when the token is not certificate-bound (no
 * `cnf`, or a `cnf` with another confirmation method). A `cnf` that is not an object, or an `x5t#S256` that is
 * not a SHA-256 thumbprint, is refused: a malformed binding is never read as no binding.
 */
export function boundCertificateThumbprint(claims: Readonly<Record<string, unknown>>): string | null {
  const cnf = claims.cnf
  if (cnf === undefined) return null
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) {
    throw new InvalidTokenError('ENTRA_TOKEN_INVALID_CLAIMS', 'The token\'s cnf claim (RFC 7800) is not an object')
  }
  const thumbprint = (cnf as Record<string, unknown>)['x5t#S256']
  if (thumbprint === undefined) return null
  if (typeof thumbprint !== 'string' || !THUMBPRINT.test(thumbprint)) {
    throw new InvalidTokenError('ENTRA_TOKEN_INVALID_CLAIMS', 'The token\'s cnf claim carries an x5t#S256 that is not a base64url SHA-256 certificate thumbprint (RFC 8705 §3.1)')
  }
  return thumbprint
}

/**
 * Checks a verified token's binding to the client certificate of the connection it came over (RFC 8705 §3), and
 * throws a 401 `invalid_token` when it does not hold: `ENTRA_TOKEN_CERTIFICATE_MISSING` (a bound token, no
 * certificate), `ENTRA_TOKEN_CERTIFICATE_MISMATCH` (a bound token, another certificate) or, in `required` mode,
 * `ENTRA_TOKEN_NOT_CERTIFICATE_BOUND` (a token without `cnf.x5t#S256`). In `ignored` mode it checks nothing.
 *
 * @param claims - the verified token's claims (`identity.claims`).
 * @param certificate - the DER encoding of the certificate the connection was authenticated with (a TLS
 *   socket's `getPeerCertificate().raw`, or a trusted proxy's forwarded certificate), or `undefined` for none.
 * @param mode - see {@link CertificateBindingMode}.
 */
export function checkCertificateBinding(claims: Readonly<Record<string, unknown>>, certificate: Uint8Array | undefined,
  mode: CertificateBindingMode): void {
  if (mode === 'ignored') return
  const bound = boundCertificateThumbprint(claims)
  if (bound === null) {
    if (mode === 'checked') return
    throw new InvalidTokenError('ENTRA_TOKEN_NOT_CERTIFICATE_BOUND', 'This API accepts only certificate-bound tokens (RFC 8705): request the token with the client\'s certificate (mTLS proof of possession) and send it over mutual TLS with that certificate')
  }
  if (certificate === undefined) {
    throw new InvalidTokenError('ENTRA_TOKEN_CERTIFICATE_MISSING', 'The token is bound to a client certificate (cnf x5t#S256, RFC 8705) but the connection presented none: send it over mutual TLS with the certificate the token was issued for')
  }
  if (certificateThumbprint(certificate) !== bound) {
    throw new InvalidTokenError('ENTRA_TOKEN_CERTIFICATE_MISMATCH', 'The token is bound to another client certificate than the one this connection presented (cnf x5t#S256, RFC 8705): send it over mutual TLS with the certificate the token was issued for')
  }
}
