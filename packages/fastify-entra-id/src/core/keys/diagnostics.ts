import { channel } from 'node:diagnostics_channel'

/**
 * The `node:diagnostics_channel` name on which every key-set fetch is published, successful or not, as a
 * {@link KeySetEvent}. For metrics and for tests that must know when a background refresh finished; nothing is
 * published while nobody subscribes.
 *
 * @example
 * ```ts
 * import { subscribe } from 'node:diagnostics_channel'
 * subscribe('fastify-entra-id:keys', (event) => metrics.increment(`jwks.${(event as KeySetEvent).outcome}`))
 * ```
 */
export const KEY_SET_CHANNEL = 'fastify-entra-id:keys'

/** What {@link KEY_SET_CHANNEL} publishes after each fetch of a key set. */
export interface KeySetEvent {
  /** The JWKS URL. */
  readonly url: string
  /** `loaded`: the set was fetched and its keys replaced; `failed`: the fetch failed, the keys at hand stay. */
  readonly outcome: 'loaded' | 'failed'
  /** The `kid`s usable for verification after this fetch (empty when it failed and none were loaded before). */
  readonly kids: readonly string[]
  /** The `kid`s this fetch removed, or whose key changed: tokens they verified are no longer vouched for. */
  readonly removedKids: readonly string[]
  /** Why the fetch failed (only when `outcome` is `failed`). */
  readonly error?: unknown
}

const keySetChannel = channel(KEY_SET_CHANNEL)

/** Publishes `event()` on {@link KEY_SET_CHANNEL}, building it only when someone listens. */
export function publishKeySetEvent(event: () => KeySetEvent): void {
  if (keySetChannel.hasSubscribers) keySetChannel.publish(event())
}
