/** The fields of a request that {@link requestSerializer} reads (Fastify's request, or Node's). */
export interface SerializableRequest {
  readonly method?: string | undefined
  readonly url?: string | undefined
  readonly host?: string | undefined
  readonly hostname?: string | undefined
  readonly ip?: string | undefined
  readonly socket?: { readonly remotePort?: number | undefined } | undefined
}

// Query parameters that carry credentials: OAuth 2 tokens and codes that clients paste into URLs.
const SECRET_PARAMS = /([?&](?:access_token|id_token|refresh_token|token|code|client_secret|client_assertion|assertion)=)[^&#]*/gi

/** Replaces the values of credential-bearing query parameters (`access_token`, `code`...) with `[REDACTED]`. */
export function redactUrl(url: string): string {
  return url.includes('?') ? url.replace(SECRET_PARAMS, '$1[REDACTED]') : url
}

/**
 * A pino serializer for Fastify's `req` log field: Fastify's default fields, with the URL's credential
 * parameters redacted. Headers are not logged, so the `Authorization` header never is.
 *
 * @example
 * ```ts
 * const app = Fastify({ logger: { serializers: { req: requestSerializer } } })
 * ```
 */
export function requestSerializer(request: SerializableRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: request.url === undefined ? undefined : redactUrl(request.url),
    host: request.host ?? request.hostname,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort
  }
}

/**
 * pino `redact` paths that remove credentials wherever an application logs request headers.
 * Pass them as `logger: { redact: [...authorizationRedactPaths] }`.
 */
export const authorizationRedactPaths: readonly string[] = Object.freeze([
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'request.headers.authorization'
])
