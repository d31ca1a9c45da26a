// msal-node's own HTTP client (global fetch) sets no timeout on POST, so a token endpoint that accepts the connection
// and never answers would hold the caller's request for as long as undici's defaults allow (minutes). This is
// msal's documented transport extension point (`system.networkClient`, INetworkModule): it owns only the HTTP
// exchange, with a timeout and an optional `https.Agent` (a private CA, a proxy); msal still builds every request,
// signs the client assertion, parses the answer, throttles and caches.
import { request as httpsRequest } from 'node:https'
import type { Agent } from 'node:https'
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node'

/** Raised by {@link TimedNetworkClient} when the identity provider does not answer in time. */
export class TokenEndpointTimeoutError extends Error {
  override readonly name = 'TokenEndpointTimeoutError'
  readonly code = 'ENTRA_TOKEN_ENDPOINT_TIMEOUT'
  constructor(timeoutMs: number) {
    super(`The identity provider did not answer within ${timeoutMs} ms`)
  }
}

/** An INetworkModule over node:https with a deadline for the whole exchange. */
export class TimedNetworkClient implements INetworkModule {
  readonly #timeoutMs: number
  readonly #agent: Agent | undefined

  constructor(timeoutMs: number, agent: Agent | undefined) {
    this.#timeoutMs = timeoutMs
    this.#agent = agent
  }

  sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> {
    return this.#send<T>('GET', url, options, timeout)
  }

  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.#send<T>('POST', url, options)
  }

  #send<T>(method: 'GET' | 'POST', url: string, options: NetworkRequestOptions | undefined, timeout?: number): Promise<NetworkResponse<T>> {
    const timeoutMs = timeout !== undefined && timeout > 0 ? Math.min(timeout, this.#timeoutMs) : this.#timeoutMs
    const body = method === 'POST' ? (options?.body ?? '') : undefined
    const headers: Record<string, string> = { ...options?.headers }
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body))
    return new Promise<NetworkResponse<T>>((resolve, reject) => {
      const req = httpsRequest(url, { method, headers, agent: this.#agent, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('error', reject)
        res.on('end', () => {
          const responseHeaders: Record<string, string> = {}
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined) responseHeaders[name] = Array.isArray(value) ? value.join(', ') : value
          }
          const status = res.statusCode ?? 0
          let parsed: unknown
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'))
          } catch {
            parsed = {}
          }
          // A 5xx or 429 without an OAuth error (a proxy's HTML page, an empty body) is what RFC 6749 calls
          // `temporarily_unavailable`: said so, msal reports an outage rather than a token answer without a token.
          if ((status >= 500 || status === 429) && (parsed === null || typeof parsed !== 'object' || !('error' in parsed))) {
            parsed = { error: 'temporarily_unavailable', error_description: `The token endpoint answered HTTP ${status}` }
          }
          resolve({ headers: responseHeaders, body: parsed as T, status })
        })
      })
      req.on('error', (error: Error) => {
        reject(error.name === 'AbortError' || error.name === 'TimeoutError' ? new TokenEndpointTimeoutError(timeoutMs) : error)
      })
      req.end(body)
    })
  }
}
