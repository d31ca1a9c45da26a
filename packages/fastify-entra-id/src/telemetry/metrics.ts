// The plugin's OpenTelemetry metrics, made from its diagnostics channels, and from the verifier directly for the
// verifications themselves (tracing.ts says why). Counting a token-cache hit is an array index and an increment,
// read by the SDK only when it collects; so is a refusal, counted in a Map (tallies.ts). A timed verification (one
// whose signature was checked, or that was refused) adds its duration to a batch, handed to the histogram in one
// loop when full or when the SDK collects (durations.ts); with `tenantAttribute`, straight to the histogram.
// Attributes come from short, fixed lists, so series stay few whatever the traffic.

import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { Attributes, Counter, Histogram, Meter } from '@opentelemetry/api'
import { DISCOVERY_CHANNEL, DOWNSTREAM_CHANNEL, KEY_SET_CHANNEL, REFUSAL_CHANNEL, TOKEN_CACHE_CHANNEL } from '../core/diagnostics/channels.js'
import type { DiscoveryEvent, DownstreamEvent, KeySetEvent, RefusalEvent, TokenCacheEvictionEvent } from '../core/diagnostics/channels.js'
import { observeVerifications } from '../core/verification/tracing.js'
import type { VerificationMessage } from '../core/verification/tracing.js'
import type { EntraIdentity } from '../core/identity/identity.js'
import { outcomeOf, errorTypeOf } from './outcome.js'
import { DurationBatches } from './durations.js'
import { acceptedIndex, acceptedTallies, beforeCollection, countRefusal, countWith, tallies } from './tallies.js'
import type { Tally } from './tallies.js'
import type { ResolvedTelemetryOptions } from '../core/options/telemetry-options.js'

/** Seconds: from a cached key's 50 µs signature check to a 10 s fetch timeout. */
const DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
/** How many tenants `tenantAttribute` names; later ones are `other`, so an attack cannot grow series. */
const MAX_NAMED_TENANTS = 1000

/**
 * Subscribes the instruments to the channels and observes the verifications; {@link VerificationMetrics.close}
 * stops both (what was counted stays readable). One per process at a time, as verifications have one observer.
 */
export class VerificationMetrics {
  readonly #options: ResolvedTelemetryOptions
  readonly #attributes = new Map<string, Attributes>()
  readonly #tenants = new Set<string>()
  readonly #duration: Histogram
  /** The durations on their way to {@link #duration}; unused with `tenantAttribute`. */
  readonly #durations: DurationBatches
  readonly #evictions: Counter
  readonly #keySetFetches: Histogram
  readonly #discoveryFetches: Histogram
  readonly #acquisitions: Histogram
  readonly #unsubscribe: Array<() => void> = []

  constructor(meter: Meter, options: ResolvedTelemetryOptions) {
    this.#options = options
    const seconds = { unit: 's', advice: { explicitBucketBoundaries: DURATION_BUCKETS } }
    countWith(meter)
    this.#duration = meter.createHistogram('entra_id.verification.duration', {
      ...seconds, description: 'Duration of access-token verifications that checked a signature (token-cache hits are counted, not timed)'
    })
    this.#durations = new DurationBatches(this.#duration)
    this.#evictions = meter.createCounter('entra_id.token_cache.evictions', { unit: '{entry}', description: 'Verified tokens the token cache let go, by reason' })
    this.#keySetFetches = meter.createHistogram('entra_id.key_set.fetch.duration', { ...seconds, description: 'Duration of signing-key set (JWKS) fetches, by outcome' })
    this.#discoveryFetches = meter.createHistogram('entra_id.discovery.fetch.duration', { ...seconds, description: 'Duration of OpenID discovery document fetches, by outcome' })
    this.#acquisitions = meter.createHistogram('entra_id.downstream.acquisition.duration', { ...seconds, description: 'Duration of token acquisitions for downstream calls, by flow and outcome' })

    this.#unsubscribe.push(observeVerifications({
      hit: (identity) => { this.#hit(identity) },
      ended: (message) => {
        if (message.cached && message.result !== undefined) this.#hit(message.result)
        else this.#verified(message)
      }
    }))
    const durations = this.#durations
    beforeCollection.add(durations)
    this.#unsubscribe.push(() => {
      durations.flush()
      beforeCollection.delete(durations)
    })
    this.#on(REFUSAL_CHANNEL, (message) => {
      const event = message as RefusalEvent
      countRefusal(outcomeOf(event.code), event.status)
    })
    this.#on(TOKEN_CACHE_CHANNEL, (message) => {
      const event = message as TokenCacheEvictionEvent
      this.#evictions.add(event.count, this.#shared(`e${event.reason}`, () => ({ 'entra_id.token_cache.eviction.reason': event.reason })))
    })
    this.#on(KEY_SET_CHANNEL, (message) => { this.#fetched(this.#keySetFetches, message as KeySetEvent) })
    this.#on(DISCOVERY_CHANNEL, (message) => { this.#fetched(this.#discoveryFetches, message as DiscoveryEvent) })
    this.#on(DOWNSTREAM_CHANNEL, (message) => {
      const event = message as DownstreamEvent
      this.#acquisitions.record(event.durationMs / 1000, this.#shared(`d${event.flow}${event.outcome}`, () => ({ 'entra_id.downstream.flow': event.flow, 'entra_id.outcome': outcomeOf(event.outcome) })))
    })
  }

  /** Stops recording, after handing the buffered durations to the histogram. */
  close(): void {
    for (const undo of this.#unsubscribe.splice(0)) undo()
  }

  #on(name: string, listener: (message: unknown) => void): void {
    subscribe(name, listener)
    this.#unsubscribe.push(() => { unsubscribe(name, listener) })
  }

  #fetched(histogram: Histogram, event: KeySetEvent | DiscoveryEvent): void {
    histogram.record(event.durationMs / 1000, fetchAttributes(event))
  }

  /** A token-cache hit: only counted, on the array's tally once {@link #verified} has made it. */
  #hit(identity: EntraIdentity): void {
    if (!this.#options.tenantAttribute) {
      const index = acceptedIndex(identity, true)
      const tally = index === undefined ? undefined : acceptedTallies[index]
      if (tally !== undefined) {
        tally.count++
        return
      }
    }
    this.#verified({ startTime: 0, cached: true, result: identity })
  }

  /**
   * Any verification but a hit whose tally exists. An accepted one with no tenant named, the common case (every
   * new token of a normal day), finds its tally and its duration batch by array index once made; anything else
   * is counted by its attributes' key (making what the index finds next time), and timed when no cache answered.
   */
  #verified(message: VerificationMessage): void {
    const identity = message.result
    const index = identity === undefined || this.#options.tenantAttribute ? undefined : acceptedIndex(identity, message.cached)
    if (index !== undefined) {
      const tally = acceptedTallies[index]
      const batch = this.#durations.atIndex(index >> 1)
      if (tally !== undefined && (message.cached || batch !== undefined)) {
        tally.count++
        if (batch !== undefined && !message.cached) this.#durations.add(batch, elapsedSeconds(message))
        return
      }
    }
    const outcome = identity === undefined ? outcomeOf(message.error) : 'accepted'
    const version = identity === undefined ? '' : String(identity.tokenVersion)
    const callerType = identity === undefined ? '' : identity.callerType
    const tenant = this.#options.tenantAttribute && identity !== undefined ? this.#tenantName(identity.tenantId) : ''
    const key = `${outcome}|${version}|${callerType}|${tenant}`
    const hitKey = message.cached ? `${key}|h` : key
    const tally = tallies.get(hitKey)
    if (tally !== undefined) {
      tally.count++
    } else {
      const made: Tally = { attributes: { ...verificationAttributes(outcome, version, callerType, tenant), 'entra_id.token_cache.hit': message.cached }, count: 1 }
      tallies.set(hitKey, made)
      if (index !== undefined) acceptedTallies[index] = made
    }
    if (message.cached) return
    const attributes = this.#shared(key, () => verificationAttributes(outcome, version, callerType, tenant))
    if (this.#options.tenantAttribute) {
      this.#duration.record(elapsedSeconds(message), attributes)
      return
    }
    const batch = this.#durations.ofKey(key, attributes, index === undefined ? undefined : index >> 1)
    this.#durations.add(batch, elapsedSeconds(message))
  }

  /** One attributes object per combination: the SDK reads them on every record, and need not see a new one. */
  #shared(key: string, make: () => Attributes): Attributes {
    let attributes = this.#attributes.get(key)
    if (attributes === undefined) {
      attributes = Object.freeze(make())
      this.#attributes.set(key, attributes)
    }
    return attributes
  }

  #tenantName(tenantId: string): string {
    if (this.#tenants.has(tenantId)) return tenantId
    if (this.#tenants.size >= MAX_NAMED_TENANTS) return 'other'
    this.#tenants.add(tenantId)
    return tenantId
  }
}

/** How long `message`'s verification took, in seconds, as the histogram is kept. */
function elapsedSeconds(message: VerificationMessage): number {
  return (performance.now() - message.startTime) / 1000
}

function verificationAttributes(outcome: string, version: string, callerType: string, tenant: string): Attributes {
  const attributes: Attributes = { 'entra_id.outcome': outcome }
  if (version !== '') attributes['entra_id.token.version'] = version
  if (callerType !== '') attributes['entra_id.caller.type'] = callerType
  if (tenant !== '') attributes['entra_id.tenant.id'] = tenant
  return attributes
}

/** A fetch's outcome, the host it asked (bounded by configuration: never the path, which holds the tenant) and the error's type. */
function fetchAttributes(event: KeySetEvent | DiscoveryEvent): Attributes {
  const attributes: Attributes = { 'entra_id.outcome': event.outcome, 'server.address': hostOf(event.url) }
  if (event.outcome === 'failed') attributes['error.type'] = errorTypeOf(event.error)
  return attributes
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname
  } catch {
    return 'unknown'
  }
}
