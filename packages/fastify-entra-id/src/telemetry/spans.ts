// The request's span learns how the plugin decided: on the HTTP server span (what Application Insights shows as
// the request, made by @opentelemetry/instrumentation-http) and on the framework's request span, when there is one.

import type { Context, Span } from '@opentelemetry/api'
import type { EntraIdentity } from '../core/identity/identity.js'
import type { OpenTelemetry } from './api.js'
import { outcomeOf } from './outcome.js'

/**
 * The key under which @opentelemetry/core keeps the HTTP server span of the request in the context
 * (`setRPCMetadata`). Context keys are `Symbol.for` their description, so any copy of the API finds it.
 */
const RPC_METADATA = 'OpenTelemetry SDK Context Key RPC_METADATA'
/** What {@link SpanMarker.spansOf} answers outside any span: one frozen array, not a new one per request. */
const NO_SPANS: readonly Span[] = Object.freeze([])

/** Sets the plugin's attributes on a request's spans. */
export class SpanMarker {
  readonly #api: OpenTelemetry
  readonly #enduserId: boolean
  readonly #rpcMetadata: symbol

  constructor(api: OpenTelemetry, enduserId: boolean) {
    this.#api = api
    this.#enduserId = enduserId
    this.#rpcMetadata = api.createContextKey(RPC_METADATA)
  }

  /**
   * The recording spans of the request being handled: `own` (the framework's request span, when it has one), the
   * HTTP server span in the active context, and else the active span itself.
   */
  spansOf(own: Span | undefined): readonly Span[] {
    const context: Context = this.#api.context.active()
    // A TracerProvider without instrumentation (nothing starts a request span): no lookup, no allocation.
    if (own === undefined && context === this.#api.ROOT_CONTEXT) return NO_SPANS
    const server = (context.getValue(this.#rpcMetadata) as { span?: Span } | undefined)?.span
    const spans: Span[] = []
    if (own?.isRecording() === true) spans.push(own)
    if (server !== undefined && server !== own && server.isRecording()) spans.push(server)
    if (spans.length === 0) {
      const active = this.#api.trace.getSpan(context)
      if (active?.isRecording() === true) spans.push(active)
    }
    return spans
  }

  /** `entra_id.outcome` `accepted`, the caller type and token version; `enduser.id` when the application opted in. */
  accepted(spans: readonly Span[], identity: EntraIdentity): void {
    for (const span of spans) {
      span.setAttribute('entra_id.outcome', 'accepted')
      span.setAttribute('entra_id.caller.type', identity.callerType)
      span.setAttribute('entra_id.token.version', String(identity.tokenVersion))
      if (this.#enduserId && identity.objectId !== null) span.setAttribute('enduser.id', identity.objectId)
    }
  }

  /** `entra_id.outcome`: the refusal's code. */
  refused(spans: readonly Span[], code: string): void {
    const outcome = outcomeOf(code)
    for (const span of spans) span.setAttribute('entra_id.outcome', outcome)
  }
}
