// The client certificate a TLS-terminating proxy forwards in a request header, in the encodings the proxies in
// front of Entra-protected APIs use. Believing the header at all (it came from a trusted proxy) is the adapter's
// decision; this file only decodes it, and refuses what is not a certificate.

import { X509Certificate } from 'node:crypto'
import { InvalidRequestError } from '../errors/refusals.js'

/**
 * How a proxy encodes the client certificate it forwards:
 * - `base64-der`: the DER certificate in base64, as Azure App Service's `X-ARR-ClientCert`;
 * - `url-encoded-pem`: a PEM certificate, URL-encoded, as ingress-nginx's `ssl-client-cert`
 *   (nginx's `$ssl_client_escaped_cert`);
 * - `pem`: a PEM certificate, its line breaks possibly replaced by spaces, as Azure Application Gateway's
 *   `{var_client_certificate}` in a rewrite rule's header.
 */
export type ForwardedCertificateFormat = 'base64-der' | 'url-encoded-pem' | 'pem'

/** The formats of {@link ForwardedCertificateFormat}, for option checks. */
export const FORWARDED_CERTIFICATE_FORMATS: readonly ForwardedCertificateFormat[] = ['base64-der', 'url-encoded-pem', 'pem']

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/
const PEM = /^-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----$/

/**
 * The DER encoding of the certificate in a forwarded header's `value`, in `format`. Throws a 400
 * `invalid_request` (`ENTRA_INVALID_REQUEST`) naming `header` when the value is not one certificate in that format.
 */
export function decodeForwardedCertificate(value: string, format: ForwardedCertificateFormat, header: string): Uint8Array {
  const base64 = format === 'base64-der' ? value.trim() : pemBody(format === 'pem' ? value : urlDecoded(value, header, format), header, format)
  if (!BASE64.test(base64) || base64.length % 4 !== 0) throw malformed(header, format)
  const der = Buffer.from(base64, 'base64')
  try {
    // Parsed only to refuse what is not a certificate; the binding compares the DER's thumbprint.
    new X509Certificate(der)
  } catch (error) {
    throw malformed(header, format, error)
  }
  return der
}

function urlDecoded(value: string, header: string, format: ForwardedCertificateFormat): string {
  try {
    return decodeURIComponent(value)
  } catch (error) {
    throw malformed(header, format, error)
  }
}

function pemBody(pem: string, header: string, format: ForwardedCertificateFormat): string {
  const body = PEM.exec(pem.trim())?.[1]
  if (body === undefined) throw malformed(header, format)
  return body.replace(/\s+/g, '')
}

function malformed(header: string, format: ForwardedCertificateFormat, cause?: unknown): InvalidRequestError {
  return new InvalidRequestError(`The ${header} header does not carry one client certificate in ${format} encoding`, { cause })
}
