import { isLoopbackHost } from './options.js'

/** What the verifier takes from an OpenID Provider Configuration document. */
export interface OpenIdMetadata {
  /** The document's URL. */
  readonly url: string
  /** `issuer`: exact, or a template with `{tenantid}` for the `organizations` and `common` documents. */
  readonly issuer: string
  /** `jwks_uri`: where the signing keys are. */
  readonly jwksUri: URL
}

/** Why a discovery document could not be used; the verifier turns it into a 503. */
export class DiscoveryError extends Error {
  override readonly name = 'DiscoveryError'
  readonly code = 'ENTRA_DISCOVERY_FAILED'
}

/** The largest discovery document read, in bytes; Entra's are about 2 KB. */
const MAX_DOCUMENT_BYTES = 256 * 1024

/** The tenant's v2 (`/v2.0/.well-known/...`) or v1 (`/.well-known/...`) discovery document URL. */
export function discoveryUrl(authorityHost: string, tenantId: string, version: 1 | 2): string {
  return `${authorityHost}/${encodeURIComponent(tenantId)}${version === 2 ? '/v2.0' : ''}/.well-known/openid-configuration`
}

/**
 * Fetches and checks one discovery document. Redirects are not followed: Entra answers these URLs directly,
 * and following one would let a compromised hop choose our keys.
 */
export async function fetchOpenIdMetadata(url: string, timeoutDuration: number): Promise<OpenIdMetadata> {
  let body: string
  try {
    const response = await fetch(url, {
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutDuration),
      headers: { accept: 'application/json' }
    })
    if (response.status !== 200) {
      await response.body?.cancel()
      throw new DiscoveryError(`Discovery document ${url} answered HTTP ${response.status}`)
    }
    const length = Number(response.headers.get('content-length') ?? 0)
    if (length > MAX_DOCUMENT_BYTES) {
      await response.body?.cancel()
      throw new DiscoveryError(`Discovery document ${url} is larger than ${MAX_DOCUMENT_BYTES} bytes`)
    }
    body = await response.text()
  } catch (cause) {
    if (cause instanceof DiscoveryError) throw cause
    throw new DiscoveryError(`Discovery document ${url} could not be fetched`, { cause })
  }
  if (body.length > MAX_DOCUMENT_BYTES) {
    throw new DiscoveryError(`Discovery document ${url} is larger than ${MAX_DOCUMENT_BYTES} bytes`)
  }
  let document: unknown
  try {
    document = JSON.parse(body)
  } catch (cause) {
    throw new DiscoveryError(`Discovery document ${url} is not JSON`, { cause })
  }
  if (document === null || typeof document !== 'object') {
    throw new DiscoveryError(`Discovery document ${url} is not a JSON object`)
  }
  const { issuer, jwks_uri: jwksUri } = document as Record<string, unknown>
  if (typeof issuer !== 'string' || issuer === '') {
    throw new DiscoveryError(`Discovery document ${url} has no "issuer"`)
  }
  if (typeof jwksUri !== 'string') {
    throw new DiscoveryError(`Discovery document ${url} has no "jwks_uri"`)
  }
  let keysUrl: URL
  try {
    keysUrl = new URL(jwksUri)
  } catch (cause) {
    throw new DiscoveryError(`Discovery document ${url} has an invalid "jwks_uri"`, { cause })
  }
  if (keysUrl.protocol !== 'https:' && !(keysUrl.protocol === 'http:' && isLoopbackHost(keysUrl.hostname))) {
    throw new DiscoveryError(`Discovery document ${url} has a "jwks_uri" that is not https://`)
  }
  return { url, issuer, jwksUri: keysUrl }
}
