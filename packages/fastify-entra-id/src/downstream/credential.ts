import { X509Certificate, createPrivateKey } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { NodeAuthOptions } from '@azure/msal-node'
import { EntraConfigError } from '../util/config-error.js'

/**
 * How the API proves its own identity to Entra when it asks for a token on a caller's behalf. Exactly one of:
 *
 * - `clientSecret`: a client secret of the API's app registration.
 * - `certificate`: a certificate uploaded to the registration, as PEM: `privateKey` (PKCS#8 or PKCS#1) and
 *   `certificate` (the public certificate, from which the SHA-256 thumbprint is computed, and which is sent as
 *   `x5c` for subject-name/issuer authentication).
 * - `clientAssertionFile`: the path of a federated token (a Kubernetes workload identity or App Service managed
 *   identity token, e.g. `AZURE_FEDERATED_TOKEN_FILE`), read on every request to Entra, so a rotated file is used as
 *   soon as it is written; the registration needs a federated credential trusting its issuer and subject.
 * - `clientAssertion`: a function returning such an assertion, for other sources.
 */
export type DownstreamCredential =
  | { readonly clientSecret: string }
  | { readonly certificate: { readonly privateKey: string, readonly certificate: string } }
  | { readonly clientAssertionFile: string }
  | { readonly clientAssertion: () => string | Promise<string> }

/** The msal-node `auth` fields for `credential`; throws an {@link EntraConfigError} naming what is wrong. */
export function msalCredential(credential: unknown): Pick<NodeAuthOptions, 'clientSecret' | 'clientCertificate' | 'clientAssertion'> {
  if (credential === null || typeof credential !== 'object') {
    throw new EntraConfigError('credential', 'is required: { clientSecret }, { certificate }, { clientAssertionFile } or { clientAssertion }')
  }
  const given = Object.keys(credential).filter((key) => (credential as Record<string, unknown>)[key] !== undefined)
  if (given.length !== 1) {
    throw new EntraConfigError('credential', 'must have exactly one of clientSecret, certificate, clientAssertionFile and clientAssertion')
  }
  const c = credential as Record<string, unknown>
  if ('clientSecret' in c) {
    if (typeof c.clientSecret !== 'string' || c.clientSecret === '') throw new EntraConfigError('credential.clientSecret', 'must be a non-empty string')
    return { clientSecret: c.clientSecret }
  }
  if ('certificate' in c) return { clientCertificate: certificateOf(c.certificate) }
  if ('clientAssertionFile' in c) {
    const path = c.clientAssertionFile
    if (typeof path !== 'string' || path === '') throw new EntraConfigError('credential.clientAssertionFile', 'must be a file path')
    return {
      clientAssertion: async () => {
        const assertion = (await readFile(path, 'utf8')).trim()
        if (assertion === '') throw new Error(`The federated token file ${path} is empty`)
        return assertion
      }
    }
  }
  if ('clientAssertion' in c && typeof c.clientAssertion === 'function') {
    const source = c.clientAssertion as () => string | Promise<string>
    return { clientAssertion: async () => await source() }
  }
  throw new EntraConfigError('credential', 'must have exactly one of clientSecret, certificate, clientAssertionFile and clientAssertion')
}

function certificateOf(value: unknown): NonNullable<NodeAuthOptions['clientCertificate']> {
  const { privateKey, certificate } = (value ?? {}) as { privateKey?: unknown, certificate?: unknown }
  if (typeof privateKey !== 'string' || typeof certificate !== 'string') {
    throw new EntraConfigError('credential.certificate', 'must be { privateKey, certificate }, both PEM text')
  }
  let x509: X509Certificate
  try {
    createPrivateKey(privateKey)
    x509 = new X509Certificate(certificate)
  } catch (error) {
    throw new EntraConfigError('credential.certificate', `must hold a PEM private key and a PEM certificate (${(error as Error).message})`)
  }
  return {
    thumbprintSha256: x509.fingerprint256.replaceAll(':', ''),
    privateKey,
    x5c: x509.toString()
  }
}

/**
 * Splits one PEM file holding a private key and its certificate (the format of `AZURE_CLIENT_CERTIFICATE_PATH` in
 * the Azure SDKs) into the `certificate` credential.
 *
 * @throws {@link core!EntraConfigError} when the text lacks either block.
 */
export function certificateCredentialFromPem(pem: string): { certificate: { privateKey: string, certificate: string } } {
  const key = /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC )?PRIVATE KEY-----/.exec(pem)?.[0]
  const certificate = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0]
  if (key === undefined || certificate === undefined) {
    throw new EntraConfigError('credential.certificate', 'must be PEM text with a private key and a certificate')
  }
  return { certificate: { privateKey: key, certificate } }
}
