// The tracing channel around each verification, what APM tools subscribe to for a span or a timing per token
// checked; and the observer through which the plugin's own OpenTelemetry metrics learn of the same verifications.

import { tracingChannel } from 'node:diagnostics_channel'
import type { EntraIdentity } from '../identity/identity.js'
import { CHANNELS } from '../diagnostics/channels.js'

/** The TracingChannel around each verification: see `CHANNELS.verify`. */
export const VERIFY_CHANNEL = CHANNELS.verify

/**
 * What the verification tracing channel (`CHANNELS.verify`) publishes for one verification: the same object at
 * each of its events, completed as the verification goes. Never the token.
 */
export interface VerificationMessage {
  /** When the verification started: `performance.now()`, in milliseconds. */
  readonly startTime: number
  /** True when the token cache answered (a token verified before, byte for byte): no signature was checked. */
  cached: boolean
  /** The verified caller, once accepted. */
  result?: EntraIdentity
  /**
   * The refusal once refused: an {@link EntraAuthError} (its `code`, e.g. `ENTRA_TOKEN_EXPIRED`, and `statusCode`:
   * 401, or 503 while keys are unavailable), or the application's `allowedTenants` error.
   */
  error?: unknown
}

const verifyTracing = tracingChannel<VerificationMessage>(VERIFY_CHANNEL)

/**
 * What the plugin's own metrics learn of each verification, given to them directly rather than through
 * {@link VERIFY_CHANNEL}: a subscriber to the channel would make every verification build and publish a message,
 * and most are token-cache hits, which the metrics only count. Internal: not exported from the package.
 */
export interface VerificationObserver {
  /** A verification the token cache answered with `identity`, accepted, on the untraced path: no message was made. */
  hit(identity: EntraIdentity): void
  /**
   * Any verification on the traced path, once decided: the message the channel publishes, with `result` or `error`
   * set (and `cached` when the token cache answered).
   */
  ended(message: VerificationMessage): void
}

let observer: VerificationObserver | null = null

/** The observer of this module's verifications, or null. */
export function verificationObserver(): VerificationObserver | null {
  return observer
}

/** Gives `identity` to `to` as a token-cache hit. Telemetry never decides a request: see {@link observerFailed}. */
export function observeHit(to: VerificationObserver, identity: EntraIdentity): void {
  try {
    to.hit(identity)
  } catch (error) {
    observerFailed(error)
  }
}

function observeEnd(message: VerificationMessage): void {
  if (observer === null) return
  try {
    observer.ended(message)
  } catch (error) {
    observerFailed(error)
  }
}

let warned = false

/**
 * An observer that throws is a bug in the metrics, not a reason to refuse or fail a request: the verification's
 * outcome stands, and the first such error is reported as a process warning (as a throwing channel subscriber is
 * reported, without turning it into an uncaught exception).
 */
function observerFailed(error: unknown): void {
  if (warned) return
  warned = true
  process.emitWarning(`fastify-entra-id: the telemetry observer failed and was skipped: ${error instanceof Error ? error.message : String(error)}`, { code: 'FASTIFY_ENTRA_ID_TELEMETRY' })
}

/**
 * Makes `next` the observer of every verification in the process (the metrics are the process's, like the
 * channels) and returns what stops it. One at a time: the plugin's metrics are made once per process.
 */
export function observeVerifications(next: VerificationObserver): () => void {
  if (observer !== null) throw new Error('fastify-entra-id: verifications have an observer already')
  observer = next
  return () => {
    if (observer === next) observer = null
  }
}

/** True when someone subscribed to any event of {@link VERIFY_CHANNEL}: then every verification makes a message. */
export function verificationTraced(): boolean {
  return verifyTracing.hasSubscribers
}

/** What {@link traceVerification} runs: the verifier's own step, given the token and the message to mark. */
export type TracedVerify = (token: string, message: VerificationMessage) => EntraIdentity | Promise<EntraIdentity>

/**
 * Runs `verify` on `token` as one traced verification: published at start and end, and at asyncStart and asyncEnd
 * when it returns a promise; given to the {@link VerificationObserver}, if any, once decided. `verify` marks the
 * message `cached` when the token cache answers. No closure is made per call: a verification costs its message and
 * the events.
 */
export function traceVerification(verify: TracedVerify, token: string): EntraIdentity | Promise<EntraIdentity> {
  const message: VerificationMessage = { startTime: performance.now(), cached: false }
  // Without a subscriber or a bound store on `start` (as when only the plugin's own metrics observe), runStores
  // would only publish to nobody: the direct call saves its argument list and apply.
  if (!verifyTracing.start.hasSubscribers) return traced(verify, token, message)
  return verifyTracing.start.runStores(message, traced, undefined, verify, token, message)
}

function traced(verify: TracedVerify, token: string, message: VerificationMessage): EntraIdentity | Promise<EntraIdentity> {
  let outcome: EntraIdentity | Promise<EntraIdentity>
  try {
    outcome = verify(token, message)
  } catch (error) {
    message.error = error
    verifyTracing.error.publish(message)
    verifyTracing.end.publish(message)
    observeEnd(message)
    throw error
  }
  if (!(outcome instanceof Promise)) {
    message.result = outcome
    verifyTracing.end.publish(message)
    observeEnd(message)
    return outcome
  }
  verifyTracing.end.publish(message)
  return outcome.then((identity) => {
    message.result = identity
    verifyTracing.asyncStart.publish(message)
    verifyTracing.asyncEnd.publish(message)
    observeEnd(message)
    return identity
  }, (error: unknown) => {
    message.error = error
    verifyTracing.error.publish(message)
    verifyTracing.asyncStart.publish(message)
    verifyTracing.asyncEnd.publish(message)
    observeEnd(message)
    throw error
  })
}
