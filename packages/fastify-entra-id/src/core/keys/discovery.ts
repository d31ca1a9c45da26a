import { isLoopbackHost } from '../../util/https-url.js'
import type { OutboundFetch } from '../network/network-options.js'
import { millisecondsSince, publishDiscoveryEvent } from '../diagnostics/channels.js'

/** What the verifier takes from an OpenID Provider Configuration document. */
export interface OpenIdMetadata {
  /** The document's URL. */
  readonly url: string
  /** `issuer`: exact, or a template with `{tenantid}` for the `organizations` and `common` documents. */
  readonly issuer: string
  /** `jwks_uri`: where the signing keys are. */
  readonly jwksUri: URL
}

/**
 * Stable codes of {@link DiscoveryError}:
 * - `ENTRA_DISCOVERY_REJECTED`: the identity provider answered HTTP 400 or 404. Entra does so for an unknown
 *   tenant (400, `AADSTS90002`) and for a wrong authority host or path (404): a configuration error, which
 *   retrying does not mend.
 * - `ENTRA_DISCOVERY_FAILED`: anything else (unreachable, timeout, 5xx, a document that cannot be used).
 */
export type DiscoveryErrorCode = 'ENTRA_DISCOVERY_REJECTED' | 'ENTRA_DISCOVERY_FAILED'

/** The options a discovery failure can point at. */
export type DiscoveryOption = 'tenantId' | 'authorityHost'

/** What the identity provider said in an OAuth error body (`{ error, error_description, error_codes }`). */
export interface ProviderError {
  /** `error`, e.g. `invalid_tenant`; undefined when absent. */
  readonly error: string | undefined
  /** The AADSTS code, e.g. `AADSTS90002` (from `error_codes`, else from the description); undefined when none. */
  readonly aadsts: string | undefined
  /**
   * `error_description`, cut to its first sentence (at most 300 characters, printable characters only), e.g.
   * `AADSTS90002: Tenant 'contoso-typo' not found.`; undefined when absent.
   */
  readonly description: string | undefined
}

/** Options of the {@link DiscoveryError} constructor. */
export interface DiscoveryErrorOptions {
  /** Default `ENTRA_DISCOVERY_FAILED`. */
  readonly code?: DiscoveryErrorCode | undefined
  /** Options to check, most likely first. Default: none. */
  readonly options?: readonly DiscoveryOption[] | undefined
  /** The HTTP status of the answer, when there was one. */
  readonly status?: number | undefined
  /** What the provider said, when its answer carried an OAuth error body. */
  readonly providerError?: ProviderError | undefined
  /** The underlying error (a fetch failure, a JSON syntax error). */
  readonly cause?: unknown
}

/**
 * Why a discovery document could not be used. The verifier answers requests with a 503 meanwhile (this error is
 * its `cause`, for logs; nothing of it reaches the caller) and reports it to `onLoadError` on every attempt.
 *
 * Its `stack` is its first line only: it is raised at one place, and the message, `code` and `cause` say what
 * happened, so frames would only lengthen the warning logged on every retry.
 */
export class DiscoveryError extends Error {
  override readonly name = 'DiscoveryError'
  /** See {@link DiscoveryErrorCode}. */
  readonly code: DiscoveryErrorCode
  /** The options whose values are likely wrong, most likely first; empty when nothing points at them. */
  readonly options: readonly DiscoveryOption[]
  /** The HTTP status of the answer; undefined when there was none (unreachable, timeout). */
  readonly status: number | undefined
  /** What the provider said, when it answered with an OAuth error body. */
  readonly providerError: ProviderError | undefined

  constructor(message: string, options: DiscoveryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = options.code ?? 'ENTRA_DISCOVERY_FAILED'
    this.options = Object.freeze([...(options.options ?? [])])
    this.status = options.status
    this.providerError = options.providerError
    this.stack = `${this.name}: ${message}`
  }
}

/** The largest discovery document read, in bytes; Entra's are about 2 KB. */
const MAX_DOCUMENT_BYTES = 256 * 1024
/** The most of an error answer read, in bytes; Entra's are about 600 bytes. */
const MAX_ERROR_BYTES = 16 * 1024
/** The longest provider description kept: it is the provider's text, bound for our logs. */
const MAX_DESCRIPTION_LENGTH = 300

/**
 * The tenant's v2 (`/v2.0/.well-known/...`) or v1 (`/.well-known/...`) discovery document URL; with `appId`, the
 * application-specific one (`?appid=`), whose `jwks_uri` names the keys Entra signs that application's tokens with
 * when it has a claims-mapping policy ("Access tokens", Microsoft identity platform: "validate the signature").
 */
export function discoveryUrl(authorityHost: string, tenantId: string, version: 1 | 2, appId?: string): string {
  const query = appId === undefined ? '' : `?appid=${encodeURIComponent(appId)}`
  return `${authorityHost}/${encodeURIComponent(tenantId)}${version === 2 ? '/v2.0' : ''}/.well-known/openid-configuration${query}`
}

/** A B2C user flow's (policy's) discovery document URL: `{authorityHost}/{tenant}/{policy}/v2.0/.well-known/...`. */
export function b2cDiscoveryUrl(authorityHost: string, tenant: string, policy: string): string {
  return `${authorityHost}/${encodeURIComponent(tenant)}/${encodeURIComponent(policy)}/v2.0/.well-known/openid-configuration`
}

/**
 * Fetches and checks one discovery document. Redirects are not followed: Entra answers these URLs directly,
 * and following one would let a compromised hop choose our keys.
 */
export async function fetchOpenIdMetadata(url: string, timeoutDuration: number, send: OutboundFetch = fetch): Promise<OpenIdMetadata> {
  const start = performance.now()
  try {
    const metadata = await fetchAndCheck(url, timeoutDuration, send)
    publishDiscoveryEvent(() => ({ url, outcome: 'loaded', durationMs: millisecondsSince(start) }))
    return metadata
  } catch (error) {
    publishDiscoveryEvent(() => ({ url, outcome: 'failed', durationMs: millisecondsSince(start), error }))
    throw error
  }
}

async function fetchAndCheck(url: string, timeoutDuration: number, send: OutboundFetch): Promise<OpenIdMetadata> {
  let body: string
  try {
    const response = await send(url, {
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutDuration),
      headers: { accept: 'application/json' }
    })
    if (response.status !== 200) throw await answerError(url, response)
    const length = Number(response.headers.get('content-length') ?? 0)
    if (length > MAX_DOCUMENT_BYTES) {
      await response.body?.cancel()
      throw new DiscoveryError(`Discovery document ${url} is larger than ${MAX_DOCUMENT_BYTES} bytes`)
    }
    const text = await readBounded(response, MAX_DOCUMENT_BYTES)
    if (text === null) throw new DiscoveryError(`Discovery document ${url} is larger than ${MAX_DOCUMENT_BYTES} bytes`)
    body = text
  } catch (cause) {
    if (cause instanceof DiscoveryError) throw cause
    throw new DiscoveryError(`Discovery document ${url} could not be fetched`, { cause })
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

/**
 * The error for an answer other than 200, with what the provider said. Entra answers an unknown tenant with 400
 * `invalid_tenant` (AADSTS90002) and an unknown path with 404: both mean the URL we built is wrong, so they are
 * configuration errors, pointing at `tenantId` (400) or `authorityHost` (404) first.
 */
async function answerError(url: string, response: Response): Promise<DiscoveryError> {
  const status = response.status
  let providerError: ProviderError | undefined
  if (status >= 300 && status < 400) {
    await response.body?.cancel()
  } else {
    providerError = parseProviderError(await readBounded(response, MAX_ERROR_BYTES).catch(() => null))
  }
  const said = providerError === undefined
    ? ''
    : `: ${[providerError.error, providerError.description ?? providerError.aadsts].filter((s) => s !== undefined).join(': ')}`
  const message = `Discovery document ${url} answered HTTP ${status}${said}`
  if (status === 400 || status === 404) {
    return new DiscoveryError(message, {
      code: 'ENTRA_DISCOVERY_REJECTED',
      options: status === 400 ? ['tenantId', 'authorityHost'] : ['authorityHost', 'tenantId'],
      status,
      providerError
    })
  }
  return new DiscoveryError(message, { status, providerError })
}

/** The body as text, or null when it is longer than `maxBytes` (the rest is then not read). */
export async function readBounded(response: Response, maxBytes: number): Promise<string | null> {
  if (response.body === null) return ''
  const reader = (response.body as ReadableStream<Uint8Array>).getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel()
      return null
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks, size).toString('utf8')
}

/** Entra's OAuth error body, tolerant of anything else (HTML from a proxy, plain text, nothing). */
function parseProviderError(body: string | null): ProviderError | undefined {
  if (body === null || body === '') return undefined
  let value: unknown
  try {
    value = JSON.parse(body)
  } catch {
    return undefined
  }
  if (value === null || typeof value !== 'object') return undefined
  const { error, error_description: description, error_codes: codes } = value as Record<string, unknown>
  const firstCode = Array.isArray(codes) ? (codes as unknown[])[0] : undefined
  const text = typeof description === 'string' ? firstSentence(description) : undefined
  const aadsts = typeof firstCode === 'number' && Number.isInteger(firstCode)
    ? `AADSTS${firstCode}`
    : /^AADSTS\d+/.exec(text ?? '')?.[0]
  const name = typeof error === 'string' && /^[\x21-\x7e]{1,64}$/.test(error) ? error : undefined
  if (name === undefined && aadsts === undefined && text === undefined) return undefined
  return { error: name, aadsts, description: text }
}

/** The first sentence of `text`, printable characters only, at most {@link MAX_DESCRIPTION_LENGTH} long. */
function firstSentence(text: string): string | undefined {
  // Entra's descriptions go on with advice, then "Trace ID: ... Correlation ID: ... Timestamp: ..." on new lines.
  const printable = text.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu, ' ').replace(/ {2,}/g, ' ').trim()
  const end = /[.!?](?=\s|$)/.exec(printable)
  const sentence = end === null ? printable : printable.slice(0, end.index + 1)
  const cut = sentence.length > MAX_DESCRIPTION_LENGTH ? `${sentence.slice(0, MAX_DESCRIPTION_LENGTH - 1)}…` : sentence
  return cut === '' ? undefined : cut
}
