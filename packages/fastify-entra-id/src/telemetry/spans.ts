// The request's span learns how the plugin decided: on the HTTP server span (what Application Insights shows as
// the request, made by @opentelemetry/instrumentation-http) and on the framework's request span, when there is one.

import type { Context, ContextAPI, Span } from '@opentelemetry/api'
import type { EntraIdentity } from '../core/identity/identity.js'
import type { OpenTelemetry } from './api.js'
import { outcomeOf } from './outcome.js'

/**
 * The key under which @opentelemetry/core keeps the HTTP server span of the request in the context
 * (`setRPCMetadata`). Context keys are `Symbol.for` their description, so any copy of the API finds it.
 */
const RPC_METADATA = 'OpenTelemetry SDK Context Key RPC_METADATA'

/** What a framework adapter calls for each request it decides, when a TracerProvider is registered. */
export interface RequestSpans {
  /** Marks the request's spans (`own`: the framework's request span, if any) as accepted for `identity`. */
  accepted(identity: EntraIdentity, own: Span | undefined): void
  /** Marks the request's spans as refused with `code`. */
  refused(code: string, own: Span | undefined): void
}

/**
 * Sets the plugin's attributes on a request's spans: the framework's request span (`own`, when it has one) and the
 * HTTP server span in the active context, or else the active span itself.
 */
export class SpanMarker implements RequestSpans {
  readonly #api: OpenTelemetry
  readonly #context: ContextAPI
  readonly #root: Context
  readonly #enduserId: boolean
  readonly #rpcMetadata: symbol

  constructor(api: OpenTelemetry, enduserId: boolean) {
    this.#api = api
    this.#context = api.context
    this.#root = api.ROOT_CONTEXT
    this.#enduserId = enduserId
    this.#rpcMetadata = api.createContextKey(RPC_METADATA)
  }

  /** `entra_id.outcome` `accepted`, the caller type and token version; `enduser.id` when the application opted in. */
  accepted(identity: EntraIdentity, own: Span | undefined): void {
    const context = this.#context.active()
    // The root context holds no span: no instrumentation started one for this request, so there is nothing to
    // mark, and nothing more to pay on every request of an application that traces only its own work. (An SDK on
    // another copy of the API has another root context: then #spansOf looks, and finds nothing, as before.)
    if (own === undefined && context === this.#root) return
    for (const span of this.#spansOf(own, context)) {
      span.setAttribute('entra_id.outcome', 'accepted')
      span.setAttribute('entra_id.caller.type', identity.callerType)
      span.setAttribute('entra_id.token.version', String(identity.tokenVersion))
      if (this.#enduserId && identity.objectId !== null) span.setAttribute('enduser.id', identity.objectId)
    }
  }

  /** `entra_id.outcome`: the refusal's code. */
  refused(code: string, own: Span | undefined): void {
    const context = this.#context.active()
    // As for an accepted request: the root context holds no span to mark.
    if (own === undefined && context === this.#root) return
    const outcome = outcomeOf(code)
    for (const span of this.#spansOf(own, context)) span.setAttribute('entra_id.outcome', outcome)
  }

  /** The recording spans among `own`, the HTTP server span in `context`, and else the span active in it. */
  #spansOf(own: Span | undefined, context: Context): Span[] {
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
}
