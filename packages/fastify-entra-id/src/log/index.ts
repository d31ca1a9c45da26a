import { redactUrl } from './redact-url.js'

export { redactUrl, redactedQueryParams } from './redact-url.js'

/** The fields of a request that {@link requestSerializer} reads (Fastify's request, or Node's). */
export interface SerializableRequest {
  readonly method?: string | undefined
  readonly url?: string | undefined
  readonly host?: string | undefined
  readonly hostname?: string | undefined
  readonly ip?: string | undefined
  readonly socket?: { readonly remotePort?: number | undefined } | undefined
}

/**
 * A pino serializer for Fastify's `req` log field: Fastify's default fields, with the URL's credential
 * parameters redacted by {@link redactUrl}. Headers are not logged, so the `Authorization` header never is.
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

/** The fields of a Fastify request that {@link redactUnmatchedUrl} reads and writes. */
export interface UnmatchedRequest {
  /** Whether no route matched (Fastify's `request.is404`). */
  readonly is404: boolean
  readonly raw: { url?: string | undefined }
}

/**
 * An `onRequest` hook that, on a request no route matched, redacts the URL ({@link redactUrl}) before the
 * not-found handler sees it. Fastify's default handler echoes the whole URL in its 404 body
 * (`Route GET:/x?access_token=... not found`) and logs the same text as the message of an `info` line, which no
 * serializer reaches: a token sent in the query would be reflected and logged. The parsed `request.query` is
 * left as it was.
 *
 * The plugin adds this hook where it is registered, which covers the whole application when that is the root
 * (the usual case, as `fastify-plugin` does not encapsulate). An application that registers the plugin inside a
 * route group adds it at the root itself: `app.addHook('onRequest', redactUnmatchedUrl)`.
 */
export function redactUnmatchedUrl(request: UnmatchedRequest, _reply: unknown, done: () => void): void {
  // Matched routes pay one property read: Fastify neither echoes nor logs their URL's text.
  if (request.is404) {
    const url = request.raw.url
    if (url !== undefined) {
      const redacted = redactUrl(url)
      // Fastify reads the URL it echoes from the raw request, as its own `rewriteUrl` option writes it there.
      if (redacted !== url) request.raw.url = redacted
    }
  }
  done()
}
