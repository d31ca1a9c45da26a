// The verification and refusal counts, the process's like the verifications' observer and the channels: read by
// two observable counters when the SDK collects, never handed to it one by one.

import type { Attributes, Meter, ObservableResult } from '@opentelemetry/api'
import type { EntraIdentity } from '../core/identity/identity.js'

/** One series' count and its attributes. */
export interface Tally { readonly attributes: Attributes, count: number }

/**
 * The verifications' counts by attribute set's key. They outlive the registration that made them: its
 * application closes before the SDK's last export at shutdown, which must still read them.
 */
export const tallies = new Map<string, Tally>()

/**
 * The accepted verifications' tallies by {@link acceptedIndex}, when no tenant is named: the common case, counted
 * with an array index instead of a key string (no allocation per request).
 */
export const acceptedTallies: Array<Tally | undefined> = []

/**
 * The refusals' counts by outcome and HTTP status. Counted here rather than with a Counter's `add`, which would
 * make the SDK build a key string per refusal: a flood of bad tokens is exactly when a refusal must stay cheap.
 */
const refusalTallies = new Map<string, Tally>()

const CALLER_TYPES: Readonly<Record<string, number>> = { user: 0, app: 1, agent: 2, agentForUser: 3, agentUser: 4 }

/**
 * Where an accepted verification of `identity` is tallied in {@link acceptedTallies}: by token version, caller type
 * and cache hit (the lowest bit; halved, the index of its duration batch). Undefined for a caller type the list
 * does not know.
 */
export function acceptedIndex(identity: EntraIdentity, cached: boolean): number | undefined {
  const caller = CALLER_TYPES[identity.callerType]
  return caller === undefined ? undefined : ((identity.tokenVersion - 1) * 5 + caller) * 2 + (cached ? 1 : 0)
}

/** Counts a refusal whose outcome attribute is `outcome` (a bounded value: see outcome.ts). */
export function countRefusal(outcome: string, status: number): void {
  // Keyed by the attribute's value, not the raw code: two codes that both read `error` are one series.
  const key = `${outcome}|${status}`
  const tally = refusalTallies.get(key)
  if (tally !== undefined) tally.count++
  else refusalTallies.set(key, { attributes: Object.freeze({ 'entra_id.outcome': outcome, 'http.response.status_code': status }), count: 1 })
}

/** What must reach the SDK before it reads a meter's histograms: the metrics' duration batches. */
export const beforeCollection = new Set<{ flush: () => void }>()

/** The meters that read the tallies: one callback each, kept for the meter's life. */
const counted = new WeakSet<Meter>()

/** Makes `meter` read the tallies when it collects, once per meter. */
export function countWith(meter: Meter): void {
  if (counted.has(meter)) return
  counted.add(meter)
  meter.createObservableCounter('entra_id.verifications', {
    unit: '{verification}',
    description: 'Access tokens verified, by outcome (accepted or the refusal code), token version, caller type and whether the token cache answered'
  }).addCallback(observeVerifications)
  meter.createObservableCounter('entra_id.refusals', { unit: '{refusal}', description: 'Requests refused by fastify-entra-id, by code and HTTP status' })
    .addCallback(observeRefusals)
}

function observeVerifications(result: ObservableResult): void {
  // The SDK runs every observable callback of a meter before it reads the meter's histograms: what is flushed
  // here is part of this collection.
  for (const waiting of beforeCollection) waiting.flush()
  for (const { attributes, count } of tallies.values()) result.observe(count, attributes)
}

function observeRefusals(result: ObservableResult): void {
  for (const { attributes, count } of refusalTallies.values()) result.observe(count, attributes)
}
