import type { AttributeValue, Attributes } from '@opentelemetry/api'
import type { tracing } from '@opentelemetry/sdk-node'
import { redactUrl } from 'fastify-entra-id/log'

/** What replaces a secret. */
const REDACTED = '[REDACTED]'

/**
 * Attributes whose value is a URL, or a path with its query (OpenTelemetry's stable and older HTTP conventions).
 * `url.path` is a path only by the conventions, but `@fastify/otel` sets it to the raw URL, query included, on
 * a request no route matched.
 */
const URL_ATTRIBUTES: ReadonlySet<string> = new Set(['url.full', 'url.original', 'url.path', 'http.url', 'http.target'])

/** Attributes whose value is a query string without its `?`. */
const QUERY_ATTRIBUTES: ReadonlySet<string> = new Set(['url.query'])

/**
 * Attribute names of captured credential headers (`http.request.header.authorization`, `...cookie`, and the
 * proxy variant): none is captured by the configuration the service uses, and none would leave if one were.
 */
const CREDENTIAL_HEADER = /authorization|cookie/i

/** A compact JWS or JWE, as a token or an assertion is sent: a base64url JSON header (`{"` is `eyJ`), a dot, more. */
const COMPACT_JWT = /eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*)*/g

/**
 * A span processor that keeps secrets out of every exported span: before a span ends (`onEnding`, which runs before
 * any processor's `onEnd`, so before the exporter, Azure Monitor's standard metrics and live metrics read it):
 *
 * - URL attributes (`url.full`, `url.query`, `url.path`, and the older `http.url`, `http.target`) have their
 *   credential query parameters (`access_token`, `code`, `client_secret`...) and any JWT redacted by the plugin's
 *   `redactUrl`, the rule the service's logs follow. The HTTP instrumentation records the URL with its query
 *   string, incoming and outgoing, and `@fastify/otel` an unmatched request's; a token sent as
 *   `?access_token=eyJ...` would otherwise be exported.
 * - A captured `Authorization` or `Cookie` header's value is replaced.
 * - Any other string attribute, and any event attribute (an exception's message), has each JWT in it replaced.
 *
 * Placed first among the processors; it exports nothing itself.
 */
export class RedactingSpanProcessor implements tracing.SpanProcessor {
  onStart(): void {
    // Attributes are complete only when the span ends: the work is done in onEnding.
  }

  onEnding(span: tracing.Span): void {
    for (const [key, value] of Object.entries(span.attributes)) {
      const redacted = redactAttribute(key, value)
      if (redacted !== value) span.setAttribute(key, redacted ?? REDACTED)
    }
    for (const event of span.events) {
      const attributes = event.attributes
      if (attributes === undefined) continue
      redactInPlace(attributes)
    }
  }

  onEnd(): void {
    // Nothing: the span was redacted in onEnding.
  }

  forceFlush(): Promise<void> {
    return Promise.resolve()
  }

  shutdown(): Promise<void> {
    return Promise.resolve()
  }
}

/** Event attributes cannot be set through the span's API once added: they are replaced in the object itself. */
function redactInPlace(attributes: Attributes): void {
  for (const [key, value] of Object.entries(attributes)) {
    const redacted = redactAttribute(key, value)
    if (redacted !== value) attributes[key] = redacted ?? REDACTED
  }
}

/** The value with its secrets replaced; the same value (by identity) when it holds none. */
function redactAttribute(key: string, value: AttributeValue | undefined): AttributeValue | undefined {
  if (typeof value === 'string') {
    if (CREDENTIAL_HEADER.test(key)) return REDACTED
    if (URL_ATTRIBUTES.has(key)) return withoutJwt(redactUrl(value), value)
    if (QUERY_ATTRIBUTES.has(key)) return withoutJwt(redactUrl(`?${value}`).slice(1), value)
    return withoutJwt(value, value)
  }
  if (Array.isArray(value)) {
    if (CREDENTIAL_HEADER.test(key)) return [REDACTED]
    let changed = false
    const redacted = value.map((item: unknown) => {
      if (typeof item !== 'string') return item
      const clean = withoutJwt(item, item)
      if (clean !== item) changed = true
      return clean
    })
    return changed ? redacted as AttributeValue : value
  }
  return value
}

/** `text` with every JWT replaced; `original` itself when nothing changed, so callers can compare by identity. */
function withoutJwt(text: string, original: string): string {
  const clean = text.replace(COMPACT_JWT, REDACTED)
  return clean === original ? original : clean
}
