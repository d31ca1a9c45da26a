// The Fastify side of certificate-bound tokens (RFC 8705): finding the client certificate a request's connection
// was authenticated with, from the TLS socket when the application terminates mutual TLS itself, or from a
// forwarded header when a trusted proxy terminates it. The comparison is the core's (checkCertificateBinding).

import type { TLSSocket } from 'node:tls'
import type { FastifyRequest } from 'fastify'
import { EntraAuthError } from '../core/errors/auth-error.js'
import type { EntraIdentity } from '../core/identity/identity.js'
import { CERTIFICATE_BINDING_MODES, boundCertificateThumbprint, checkCertificateBinding } from '../core/verification/certificate-binding.js'
import { FORWARDED_CERTIFICATE_FORMATS, decodeForwardedCertificate } from '../core/transport/forwarded-certificate.js'
import { EntraConfigError } from '../util/config-error.js'
import { fromTrustedProxy } from './trusted-peer.js'
import type { CertificateBindingOptions } from '../core/options/certificate-binding-options.js'

export type { CertificateBindingOptions } from '../core/options/certificate-binding-options.js'

/** Refuses the request (returns the refusal) when its identity's binding does not hold; `undefined` when it does. */
export type CertificateBindingCheck = (request: FastifyRequest, identity: EntraIdentity) => EntraAuthError | undefined

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/

/** The check for `options`, or `null` in `ignored` mode (the default): then nothing runs per request. */
export function certificateBindingCheck(options: CertificateBindingOptions | undefined): CertificateBindingCheck | null {
  if (options === undefined) return null
  if (typeof options !== 'object' || options === null) throw new EntraConfigError('certificateBinding', 'must be an object with a mode')
  const mode = options.mode
  if (!CERTIFICATE_BINDING_MODES.includes(mode)) {
    throw new EntraConfigError('certificateBinding.mode', `must be one of ${CERTIFICATE_BINDING_MODES.map((m) => `"${m}"`).join(', ')}`)
  }
  const header = forwardedHeader(options.forwardedHeader)
  if (mode === 'ignored') return null
  return (request, identity) => {
    try {
      // `checked` reads no certificate (and no header) for an unbound token.
      if (mode === 'checked' && boundCertificateThumbprint(identity.claims) === null) return undefined
      checkCertificateBinding(identity.claims, presentedCertificate(request, header), mode)
      return undefined
    } catch (error) {
      if (error instanceof EntraAuthError) return error
      throw error
    }
  }
}

function forwardedHeader(option: CertificateBindingOptions['forwardedHeader']): CertificateBindingOptions['forwardedHeader'] {
  if (option === undefined) return undefined
  if (typeof option !== 'object' || option === null || typeof option.name !== 'string' || !HEADER_NAME.test(option.name.toLowerCase())) {
    throw new EntraConfigError('certificateBinding.forwardedHeader', 'must be { name, format } with name an HTTP header name, e.g. "x-arr-clientcert"')
  }
  if (!FORWARDED_CERTIFICATE_FORMATS.includes(option.format)) {
    throw new EntraConfigError('certificateBinding.forwardedHeader.format', `must be one of ${FORWARDED_CERTIFICATE_FORMATS.map((f) => `"${f}"`).join(', ')}`)
  }
  return { name: option.name.toLowerCase(), format: option.format }
}

/**
 * The DER certificate the request's connection was authenticated with. From a trusted proxy, with a forwarded
 * header configured, the header is the only source (the socket's certificate, if any, is the proxy's own); from
 * any other peer, the TLS socket's client certificate, whatever headers the request carries.
 */
function presentedCertificate(request: FastifyRequest, header: CertificateBindingOptions['forwardedHeader']): Uint8Array | undefined {
  if (header !== undefined && fromTrustedProxy(request)) {
    const value = request.headers[header.name]
    if (value === undefined) return undefined
    return decodeForwardedCertificate(Array.isArray(value) ? value.join(', ') : value, header.format, header.name)
  }
  const socket = request.raw.socket as Partial<TLSSocket> | null
  if (typeof socket?.getPeerCertificate !== 'function') return undefined
  // An empty object when the client sent no certificate.
  const raw = (socket as TLSSocket).getPeerCertificate().raw as Buffer | undefined
  return raw !== undefined && raw.length > 0 ? raw : undefined
}
