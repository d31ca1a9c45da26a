import type { ForwardedCertificateFormat } from '../transport/forwarded-certificate.js'

/**
 * How the API treats certificate binding: `ignored` (the default) never looks; `checked` refuses a bound token
 * presented without its certificate and lets an unbound one pass; `required` refuses every token that is not bound
 * to the connection's certificate.
 */
export type CertificateBindingMode = 'ignored' | 'checked' | 'required'

/** The plugin's `certificateBinding` option: how certificate-bound access tokens (RFC 8705) are checked. */
export interface CertificateBindingOptions {
  /**
   * `ignored` (the default): `cnf` is not read, nothing runs per request. `checked`: a token whose `cnf` carries
   * `x5t#S256` must come over a connection authenticated with that certificate; an unbound token passes.
   * `required`: every token must be bound, and to the connection's certificate.
   */
  mode: CertificateBindingMode
  /**
   * The header a TLS-terminating proxy forwards the client certificate in, believed only from a peer the server's
   * `trustProxy` option trusts (a request from any other peer is judged by its own TLS connection, the header
   * ignored). E.g. `{ name: 'x-arr-clientcert', format: 'base64-der' }` behind Azure App Service,
   * `{ name: 'ssl-client-cert', format: 'url-encoded-pem' }` behind ingress-nginx. Default: none, the TLS
   * connection's own client certificate only.
   */
  forwardedHeader?: { name: string, format: ForwardedCertificateFormat } | undefined
}
