// The plugin's `node:diagnostics_channel` channels: what it does that an operator may want to count or time,
// published for any tool to subscribe to without the plugin depending on it. Nothing is built or published while
// nobody subscribes, and no message carries a token.

import { channel } from 'node:diagnostics_channel'

/**
 * Published after each fetch of a key set (JWKS), successful or not, as a {@link KeySetEvent}: the first load,
 * each background refresh (past the key set's `cacheMaxAge`) and each refetch for an unknown `kid`. For metrics,
 * and for tests that must know when a background refresh finished.
 *
 * @example
 * ```ts
 * import { subscribe } from 'node:diagnostics_channel'
 * subscribe('fastify-entra-id:keys', (event) => metrics.increment(`jwks.${(event as KeySetEvent).outcome}`))
 * ```
 */
export const KEY_SET_CHANNEL = 'fastify-entra-id:keys'

/** What `CHANNELS.keySet` publishes after each fetch of a key set. */
export interface KeySetEvent {
  /** The JWKS URL. */
  readonly url: string
  /** `loaded`: the set was fetched and its keys replaced; `failed`: the fetch failed, the keys at hand stay. */
  readonly outcome: 'loaded' | 'failed'
  /** The `kid`s usable for verification after this fetch (empty when it failed and none were loaded before). */
  readonly kids: readonly string[]
  /** The `kid`s this fetch removed, or whose key changed: tokens they verified are no longer vouched for. */
  readonly removedKids: readonly string[]
  /** How long the fetch took, in milliseconds (from the request to the keys selected, or to the failure). */
  readonly durationMs: number
  /** Why the fetch failed (only when `outcome` is `failed`): a {@link KeySetFetchError}. */
  readonly error?: unknown
}

/**
 * Published after each fetch of an OpenID discovery document (the tenant's v2 document, the v1 one when v1
 * tokens are accepted, each B2C policy's), successful or not, as a {@link DiscoveryEvent}.
 */
export const DISCOVERY_CHANNEL = 'fastify-entra-id:discovery'

/** What `CHANNELS.discovery` publishes after each fetch of a discovery document. */
export interface DiscoveryEvent {
  /** The document's URL. */
  readonly url: string
  /** `loaded`: the document was fetched and usable; `failed`: it was not (see `error`). */
  readonly outcome: 'loaded' | 'failed'
  /** How long the fetch took, in milliseconds. */
  readonly durationMs: number
  /** Why it failed (only when `outcome` is `failed`): a {@link DiscoveryError}. */
  readonly error?: unknown
}

/**
 * Published when the token cache lets verified tokens go before the application asked, as a
 * {@link TokenCacheEvictionEvent}: for room (`capacity`), because they expired, or because the key that verified
 * them left the key set (`key-removed`).
 */
export const TOKEN_CACHE_CHANNEL = 'fastify-entra-id:token-cache'

/** What `CHANNELS.tokenCache` publishes when entries leave the token cache. */
export interface TokenCacheEvictionEvent {
  /** Why they left. */
  readonly reason: 'capacity' | 'expired' | 'key-removed'
  /** How many entries left at once (at least 1). */
  readonly count: number
}

/**
 * Published for every request the plugin refuses (a 400, 401, 403 or 503 it answers: a missing or invalid token,
 * a guard's refusal, keys unavailable), as a {@link RefusalEvent}, when the refusal is decided.
 */
export const REFUSAL_CHANNEL = 'fastify-entra-id:refusal'

/** What `CHANNELS.refusal` publishes for each refusal. */
export interface RefusalEvent {
  /** The refusal's stable code, e.g. `ENTRA_TOKEN_EXPIRED` or `ENTRA_SCOPE_MISSING` ({@link EntraAuthErrorCode}). */
  readonly code: string
  /** The HTTP status it is answered with. */
  readonly status: number
}

/**
 * Published after each token acquisition for a downstream call (`fastify-entra-id/downstream`), as a
 * {@link DownstreamEvent}.
 */
export const DOWNSTREAM_CHANNEL = 'fastify-entra-id:downstream'

/** What `CHANNELS.downstream` publishes after each token acquisition. */
export interface DownstreamEvent {
  /** The OAuth 2.0 flow: `on-behalf-of`, the caller's token exchanged for one to the downstream API. */
  readonly flow: 'on-behalf-of'
  /**
   * `acquired` (from Entra ID), `cached` (from the token cache of msal-node), or the refusal's code, e.g.
   * `ENTRA_DOWNSTREAM_UNAVAILABLE` or `ENTRA_CONSENT_REQUIRED`.
   */
  readonly outcome: string
  /** How long the acquisition took, in milliseconds. */
  readonly durationMs: number
}

/**
 * The names of the plugin's `node:diagnostics_channel` channels, for any tool to subscribe to. The plugin's own
 * OpenTelemetry metrics subscribe to all but `verify`: the verifier hands them its verifications directly, so that
 * a token-cache hit makes no message for them. Nothing is published while nobody subscribes; no message carries
 * a token.
 *
 * @example
 * ```ts
 * import { subscribe } from 'node:diagnostics_channel'
 * import { CHANNELS } from 'fastify-entra-id/core'
 * import type { RefusalEvent } from 'fastify-entra-id/core'
 *
 * subscribe(CHANNELS.refusal, (message) => {
 *   const { code, status } = message as RefusalEvent
 *   console.log(`refused ${status} ${code}`)
 * })
 * ```
 */
export const CHANNELS = {
  /**
   * A TracingChannel around each verification (the verifier's `identify` and `verify`, so every request the plugin
   * authenticates): subscribe with `tracingChannel(CHANNELS.verify).subscribe(...)`, or to one of its events
   * (`tracing:fastify-entra-id:verify:end`...). Each verification publishes one {@link VerificationMessage} at
   * `start`, then at `end` when its synchronous part returns. One that needed no fetch is decided by then: its
   * `result` or `error` is set at `end`, and no async event follows. One that waited for keys or discovery is
   * decided later: `asyncStart` and `asyncEnd` follow, with `result` or `error` set (`error` first on a refusal).
   */
  verify: 'fastify-entra-id:verify',
  /** Each key-set (JWKS) fetch: {@link KeySetEvent}. */
  keySet: KEY_SET_CHANNEL,
  /** Each discovery document fetch: {@link DiscoveryEvent}. */
  discovery: DISCOVERY_CHANNEL,
  /** Entries the token cache let go: {@link TokenCacheEvictionEvent}. */
  tokenCache: TOKEN_CACHE_CHANNEL,
  /** Each request refused: {@link RefusalEvent}. */
  refusal: REFUSAL_CHANNEL,
  /** Each token acquisition for a downstream call: {@link DownstreamEvent}. */
  downstream: DOWNSTREAM_CHANNEL
} as const

const keySetChannel = channel(KEY_SET_CHANNEL)
const discoveryChannel = channel(DISCOVERY_CHANNEL)
const tokenCacheChannel = channel(TOKEN_CACHE_CHANNEL)
const refusalChannel = channel(REFUSAL_CHANNEL)
const downstreamChannel = channel(DOWNSTREAM_CHANNEL)

/** Publishes `event()` on {@link KEY_SET_CHANNEL}, building it only when someone listens. */
export function publishKeySetEvent(event: () => KeySetEvent): void {
  if (keySetChannel.hasSubscribers) keySetChannel.publish(event())
}

/** Publishes on {@link DISCOVERY_CHANNEL} when someone listens. */
export function publishDiscoveryEvent(event: () => DiscoveryEvent): void {
  if (discoveryChannel.hasSubscribers) discoveryChannel.publish(event())
}

/** Publishes an eviction of `count` entries on {@link TOKEN_CACHE_CHANNEL} when someone listens. */
export function publishEviction(reason: TokenCacheEvictionEvent['reason'], count: number): void {
  if (count > 0 && tokenCacheChannel.hasSubscribers) tokenCacheChannel.publish({ reason, count } satisfies TokenCacheEvictionEvent)
}

/** Publishes a refusal on {@link REFUSAL_CHANNEL} when someone listens. */
export function publishRefusal(code: string, status: number): void {
  if (refusalChannel.hasSubscribers) refusalChannel.publish({ code, status } satisfies RefusalEvent)
}

/** Publishes on {@link DOWNSTREAM_CHANNEL} when someone listens. */
export function publishDownstreamEvent(event: () => DownstreamEvent): void {
  if (downstreamChannel.hasSubscribers) downstreamChannel.publish(event())
}

/** Milliseconds since `start` (a `performance.now()` reading), to the microsecond. */
export function millisecondsSince(start: number): number {
  return Math.round((performance.now() - start) * 1000) / 1000
}
