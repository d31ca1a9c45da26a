// msal-node's own HTTP client (global fetch) sets no timeout on POST, so a token endpoint that accepts the connection
// and never answers would hold the caller's request for as long as undici's defaults allow (minutes). This is
// msal's documented transport extension point (`system.networkClient`, INetworkModule): it owns only the HTTP
// exchange, with a timeout, over the core's `network` fetch (its proxy, its CA certificates) or, when the deprecated
// `agent` option is given, over node:https with that agent; msal still builds every request, signs the client
// assertion, parses the answer, throttles and caches.
import { request as httpsRequest } from 'node:https'
import type { Agent } from 'node:https'
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node'
import type { OutboundFetch } from '../core/network/network-options.js'

/** Raised by {@link TimedNetworkClient} when the identity provider does not answer in time. */
export class TokenEndpointTimeoutError extends Error {
  override readonly name = 'TokenEndpointTimeoutError'
  readonly code = 'ENTRA_TOKEN_ENDPOINT_TIMEOUT'
  constructor(timeoutMs: number) {
    super(`The identity provider did not answer within ${timeoutMs} ms`)
  }
}

/** What came back, before msal reads it. */
interface RawAnswer {
  readonly status: number
  readonly headers: Record<string, string>
  readonly text: string
}

/** An INetworkModule with a deadline for the whole exchange, over the core's fetch or an `https.Agent`. */
export class TimedNetworkClient implements INetworkModule {
  readonly #timeoutMs: number
  readonly #agent: Agent | undefined
  readonly #fetch: OutboundFetch

  constructor(timeoutMs: number, agent: Agent | undefined, send: OutboundFetch = fetch) {
    this.#timeoutMs = timeoutMs
    this.#agent = agent
    this.#fetch = send
  }

  sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> {
    return this.#send<T>('GET', url, options, timeout)
  }

  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.#send<T>('POST', url, options)
  }

  async #send<T>(method: 'GET' | 'POST', url: string, options: NetworkRequestOptions | undefined, timeout?: number): Promise<NetworkResponse<T>> {
    const timeoutMs = timeout !== undefined && timeout > 0 ? Math.min(timeout, this.#timeoutMs) : this.#timeoutMs
    const body = method === 'POST' ? (options?.body ?? '') : undefined
    const headers: Record<string, string> = { ...options?.headers }
    let answer: RawAnswer
    try {
      answer = this.#agent === undefined
        ? await this.#overFetch(method, url, headers, body, timeoutMs)
        : await this.#overAgent(this.#agent, method, url, headers, body, timeoutMs)
    } catch (error) {
      throw error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError') ? new TokenEndpointTimeoutError(timeoutMs) : error
    }
    return toNetworkResponse<T>(answer)
  }

  async #overFetch(method: string, url: string, headers: Record<string, string>, body: string | undefined, timeoutMs: number): Promise<RawAnswer> {
    const signal = AbortSignal.timeout(timeoutMs)
    const response = await this.#fetch(url, { method, headers, body: body ?? null, redirect: 'manual', signal })
    const responseHeaders: Record<string, string> = {}
    response.headers.forEach((value, name) => { responseHeaders[name] = value })
    return { status: response.status, headers: responseHeaders, text: await response.text() }
  }

  #overAgent(agent: Agent, method: string, url: string, headers: Record<string, string>, body: string | undefined, timeoutMs: number): Promise<RawAnswer> {
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body))
    return new Promise<RawAnswer>((resolve, reject) => {
      const req = httpsRequest(url, { method, headers, agent, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('error', reject)
        res.on('end', () => {
          const responseHeaders: Record<string, string> = {}
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined) responseHeaders[name] = Array.isArray(value) ? value.join(', ') : value
          }
          resolve({ status: res.statusCode ?? 0, headers: responseHeaders, text: Buffer.concat(chunks).toString('utf8') })
        })
      })
      req.on('error', reject)
      req.end(body)
    })
  }
}

function toNetworkResponse<T>({ status, headers, text }: RawAnswer): NetworkResponse<T> {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    parsed = {}
  }
  // A 5xx or 429 without an OAuth error (a proxy's HTML page, an empty body) is what RFC 6749 calls
  // `temporarily_unavailable`: said so, msal reports an outage rather than a token answer without a token.
  if ((status >= 500 || status === 429) && (parsed === null || typeof parsed !== 'object' || !('error' in parsed))) {
    parsed = { error: 'temporarily_unavailable', error_description: `The token endpoint answered HTTP ${status}` }
  }
  return { headers, body: parsed as T, status }
}
